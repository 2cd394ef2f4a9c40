"""Live recognition on a ROS 2 install, from the same parameter file as `ista-ros run`.

    ros2 launch ista_ros recognize.launch.py weights:=model.pt
    ros2 launch ista_ros recognize.launch.py weights:=model.pt player_file:=scene.npy
    ros2 launch ista_ros recognize.launch.py config:=my_graph.yaml device:=cuda

Starts every node enabled in the file (default: the installed config/recognize.yaml), each
as its own process (executables recognizer, keypoints, player, video_source, listener).
Launch arguments override the file's values the way `ista-ros run --param` does."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from ista_ros.commands.run import default_config, load_graph

# Launch argument -> the parameter it sets (player_file also enables the player).
OVERRIDES = {
    "weights": ["recognizer.weights"],
    "model_config": ["recognizer.model_config"],
    "device": ["recognizer.device"],
    "input_topic": ["recognizer.input_topic"],
    "player_file": ["player.file", "player.enabled=true"],
}


def _nodes(context):
    config = LaunchConfiguration("config").perform(context) or default_config()
    overrides = []
    for argument, targets in OVERRIDES.items():
        value = LaunchConfiguration(argument).perform(context)
        if value:
            overrides += [t if "=" in t else f"{t}={value}" for t in targets]
    return [Node(package="ista_ros", executable=name, name=name, parameters=[params], output="screen")
            for name, params in load_graph(config, overrides).items()]


def generate_launch_description():
    arguments = [DeclareLaunchArgument("config", default_value="", description="parameter file")]
    arguments += [DeclareLaunchArgument(name, default_value="", description=f"sets {targets[0]}")
                  for name, targets in OVERRIDES.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
