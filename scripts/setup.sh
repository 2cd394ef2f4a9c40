#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian 12 machine (x86_64, Python 3.10-3.13):
# system packages, .venv, pinned Python dependencies with ROS 2 from PyPI wheels, the
# message build (msg/ -> ista_ros.msg) and an editable install of the sources.
# A second run with unchanged inputs returns in about a second.
#   PYTHON=python3.12 bash scripts/setup.sh     # choose the interpreter for a new .venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
BUILD="$ROOT/build"
LOG="$BUILD/setup.log"
STAMP="$VENV/.ista_ros_setup_stamp"
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
    echo "$ROOT"
    for f in requirements*.txt constraints.txt msg/*.msg CMakeLists.txt package.xml \
             setup.py scripts/setup.sh scripts/entry_point.py.in ista_ros/keypoints/bundles.py; do
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

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV" "${PYTHON:-python3}" -m venv "$VENV"
  fi
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
  export AMENT_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
  step "cmake: configuring" cmake -S "$ROOT" -B "$BUILD/ista_ros" \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY \
    -DISTA_ROS_INSTALL_PYTHON=OFF -DBUILD_TESTING=OFF
  step "cmake: building the messages" cmake --build "$BUILD/ista_ros" -j "$(nproc)"
  step "cmake: installing into .venv" cmake --install "$BUILD/ista_ros"
  # Run time: the source tree (the editable ista_ros, ista_train) next to the generated
  # messages, and AMENT_PREFIX_PATH set (trap: nothing sets it) so rclpy finds them.
  cat >"$site/ista_ros_dev.pth" <<EOF
$ROOT
$ROOT/training
import os, sys; os.environ['AMENT_PREFIX_PATH'] = os.pathsep.join(dict.fromkeys([sys.prefix] + os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep))).strip(os.pathsep)
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
  : >"$LOG"
  ensure_system_packages
  ensure_venv
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
  step "pip: installing pinned requirements (first time: a few minutes)" \
    "${pip[@]}" install -q -c constraints.txt -r requirements.txt -r requirements-ros.txt
  step "pip: installing requirements-nodeps.txt without dependencies" \
    "${pip[@]}" install -q --no-deps -c constraints.txt -r requirements-nodeps.txt
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
