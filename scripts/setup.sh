#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian 12 machine (x86_64, Python 3.10-3.13):
# system packages, a venv, pinned Python dependencies with ROS 2 from PyPI wheels, the
# message build (msg/ -> ista_ros.msg) and an editable install of the sources.
# A second run with unchanged inputs returns in about a second.
#   bash scripts/setup.sh                       # ROS 2 jazzy (the LTS) into .venv
#   ROS_DISTRO=kilted bash scripts/setup.sh     # ROS 2 kilted into .venv-kilted
#   PYTHON=python3.12 bash scripts/setup.sh     # choose the interpreter for a new venv
#   VENV=/path/to/venv bash scripts/setup.sh    # choose the venv directory
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/distro.sh"  # ROS_DISTRO, VENV
BUILD="$ROOT/build"
LOG="$BUILD/setup-$ROS_DISTRO.log"
STAMP="$VENV/.ista_ros_setup_stamp"
DISTRO_RECORD="$VENV/.ista_ros_distro"
REQUIREMENTS=(requirements.txt "requirements-ros-$ROS_DISTRO.txt")
CONSTRAINTS=(constraints.txt "constraints-ros-$ROS_DISTRO.txt")
APT_PACKAGES=(cmake g++ make python3-dev python3-venv)
START=$SECONDS

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# Run a step quietly into the log; on failure show the end of the log.
step() {
  local what="$1"; shift
  say "$what"
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    die "$what failed (full log: $LOG)"
  fi
}

inputs_hash() {
  local f
  {
    echo "$ROOT $VENV $ROS_DISTRO"
    for f in "${REQUIREMENTS[@]}" requirements-nodeps.txt "${CONSTRAINTS[@]}" msg/*.msg \
             CMakeLists.txt package.xml setup.py scripts/setup.sh scripts/distro.sh \
             scripts/entry_point.py.in ista_ros/keypoints/bundles.py; do
      [ -f "$f" ] && { echo "== $f"; cat "$f"; }
    done
  } | sha256sum | cut -d' ' -f1
}

ensure_system_packages() {
  command -v dpkg-query >/dev/null || { say "no dpkg: skipping apt (need ${APT_PACKAGES[*]})"; return; }
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing ${missing[*]}: run 'apt-get install ${missing[*]}' as root"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  step "apt-get update (missing: ${missing[*]})" "${sudo[@]}" apt-get update -q
  step "apt-get install ${missing[*]}" "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The distribution a venv holds: its record; kilted for a venv with ROS that the set-up
# made before it recorded distributions (kilted was the only one then); else nothing.
held_distro() {
  if [ -f "$DISTRO_RECORD" ]; then
    cat "$DISTRO_RECORD"
  elif compgen -G "$VENV/lib/python3*/site-packages/ros_rclpy-*.dist-info" >/dev/null; then
    echo kilted
  fi
}

# One venv holds one distribution: refuse to install another into it.
refuse_another_distro() {
  local held
  held="$(held_distro)"
  if [ -n "$held" ] && [ "$held" != "$ROS_DISTRO" ]; then
    die "$VENV holds ROS 2 $held, not $ROS_DISTRO: run with ROS_DISTRO=$held, or give $ROS_DISTRO another directory with VENV=..."
  fi
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV for ROS 2 $ROS_DISTRO" "${PYTHON:-python3}" -m venv "$VENV"
  fi
  echo "$ROS_DISTRO" >"$DISTRO_RECORD"
  "$VENV/bin/python" - <<'EOF' || die "the ROS 2 wheels need CPython 3.10-3.13 on x86_64; set PYTHON"
import platform, sys
sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 13) and platform.machine() == "x86_64"))
EOF
}

# Trap: the wheels' export_*__rosidl_generator_pyExport.cmake files name the wheel
# builder's Python and numpy include dirs; point them at this interpreter's.
fix_rosidl_include_paths() {
  "$VENV/bin/python" - <<'EOF'
import glob, re, sys, sysconfig
import numpy
python_include = re.compile(r"/opt/python/cp\d+-cp\d+/include/python3\.\d+")
numpy_include = re.compile(r"/opt/python/cp\d+-cp\d+/lib/python3\.\d+/site-packages/numpy/_?core/include")
for path in glob.glob(f"{sys.prefix}/share/*/cmake/export_*__rosidl_generator_pyExport.cmake"):
    text = open(path).read()
    fixed = numpy_include.sub(numpy.get_include(), python_include.sub(sysconfig.get_paths()["include"], text))
    if fixed != text:
        open(path, "w").write(fixed)
EOF
}

build_messages() {
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  local tree="$BUILD/ista_ros-$ROS_DISTRO"
  export AMENT_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
  step "cmake: configuring" cmake -S "$ROOT" -B "$tree" \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY \
    -DISTA_ROS_INSTALL_PYTHON=OFF -DBUILD_TESTING=OFF
  step "cmake: building the messages" cmake --build "$tree" -j "$(nproc)"
  step "cmake: installing into ${VENV##*/}" cmake --install "$tree"
  # Run time: the source tree (the editable ista_ros, ista_train) next to the generated
  # messages, AMENT_PREFIX_PATH set (trap: nothing sets it) so rclpy finds them, and
  # ROS_DISTRO, as a ROS install's setup.bash sets it (the recorder's bag type store).
  cat >"$site/ista_ros_dev.pth" <<EOF
$ROOT
$ROOT/training
import os, sys; os.environ['AMENT_PREFIX_PATH'] = os.pathsep.join(dict.fromkeys([sys.prefix] + os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep))).strip(os.pathsep); os.environ['ROS_DISTRO'] = '$ROS_DISTRO'
EOF
}

main() {
  cd "$ROOT"
  mkdir -p "$BUILD"
  exec 9>"$BUILD/.setup.lock"
  flock 9  # several test runs may start at once
  local hash
  hash="$(inputs_hash)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ]; then
    say "up to date ($((SECONDS - START)) s)"
    return
  fi
  refuse_another_distro
  : >"$LOG"
  ensure_system_packages
  ensure_venv
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  local constrain=(-c "${CONSTRAINTS[0]}" -c "${CONSTRAINTS[1]}")
  step "pip: installing pinned requirements for ROS 2 $ROS_DISTRO (first time: a few minutes)" \
    "${pip[@]}" install -q "${constrain[@]}" -r "${REQUIREMENTS[0]}" -r "${REQUIREMENTS[1]}"
  step "pip: installing requirements-nodeps.txt without dependencies" \
    "${pip[@]}" install -q --no-deps "${constrain[@]}" -r requirements-nodeps.txt
  # Before the message build: pip would uninstall files of an older ista_ros install.
  step "pip: editable install of ista_ros and ista_train" \
    "${pip[@]}" install -q --no-deps --no-build-isolation -e .
  fix_rosidl_include_paths
  build_messages
  if [ -f ista_ros/keypoints/bundles.py ]; then
    step "mediapipe: building the .task model bundles" "$VENV/bin/python" -m ista_ros.keypoints.bundles
  fi
  (cd / && "$VENV/bin/python" -c \
    "import rclpy; from ista_ros.msg import Skeleton, SkeletonArray, InteractionAction") \
    || die "the messages do not import (see $LOG)"
  echo "$hash" >"$STAMP"
  say "done in $((SECONDS - START)) s"
}

main "$@"
