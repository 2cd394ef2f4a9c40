# Sourced by setup.sh, test.sh and demo.sh: which ROS 2 distribution, and its venv.
#   ROS_DISTRO   jazzy (default: the LTS) or kilted, the distributions with a
#                requirements-ros-<distro>.txt; one venv per distribution, since their
#                wheels share names (ros-rclpy 7.1.6 in jazzy, 9.1.2 in kilted).
#   VENV         the venv directory: default .venv for jazzy, .venv-<distro> otherwise.
DEFAULT_ROS_DISTRO=jazzy
ROS_DISTRO="${ROS_DISTRO:-$DEFAULT_ROS_DISTRO}"

supported_distros() {
  local f names=()
  for f in "$ROOT"/requirements-ros-*.txt; do
    f="${f##*/requirements-ros-}"
    names+=("${f%.txt}")
  done
  local IFS=,
  echo "${names[*]}"
}

if [ ! -f "$ROOT/requirements-ros-$ROS_DISTRO.txt" ]; then
  printf 'ROS_DISTRO=%s has no PyPI wheels to set up here: set ROS_DISTRO to one of %s (on a ROS 2 install, build with colcon: README).\n' \
    "$ROS_DISTRO" "$(supported_distros)" >&2
  exit 2
fi

if [ "$ROS_DISTRO" = "$DEFAULT_ROS_DISTRO" ]; then
  VENV="${VENV:-$ROOT/.venv}"
else
  VENV="${VENV:-$ROOT/.venv-$ROS_DISTRO}"
fi
VENV="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")"
