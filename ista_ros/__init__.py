"""ista_ros: live interactive-action recognition with ISTA-Net on ROS 2."""
# The generated message package (ista_ros.msg) is installed by the ROS build into
# site-packages/ista_ros; extend the path so this source package sees it too.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"
