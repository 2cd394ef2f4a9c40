"""Live recognition on a ROS 2 install, from the same parameter file as `ista-ros run`.

    ros2 launch ista_ros recognize.launch.py weights:=model.pt
    ros2 launch ista_ros recognize.launch.py weights:=model.pt player_file:=scene.npy
    ros2 launch ista_ros recognize.launch.py config:=my_graph.yaml device:=cuda
    ros2 launch ista_ros recognize.launch.py weights:=model.pt player_file:=scene.npy \
        params:="player.axes=kinect recognizer.smoothing=0.5 player.ids=[anna, ben]"

Starts every node enabled in the file (default: the installed config/recognize.yaml), each
as its own process (executables recognizer, keypoints, player, video_source, listener).
``params`` takes any number of ``[node.]key=value`` overrides, exactly what
`ista-ros run --param` takes (the same code reads both); the other arguments are shortcuts
for the common ones and are applied first. A player that fails (a damaged file: exit 2, a
bug: 1) ends the launch, as it ends `ista-ros run`; one that reaches the end of its file
without ``loop`` leaves the others running."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler, Shutdown
from launch.event_handlers import OnProcessExit
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from ista_ros.ros.graph import default_config, load_graph, split_overrides

# Launch argument -> the parameters it sets (player_file also enables the player).
SHORTCUTS = {
    "weights": ["recognizer.weights"],
    "model_config": ["recognizer.model_config"],
    "device": ["recognizer.device"],
    "input_topic": ["recognizer.input_topic"],
    "player_file": ["player.file", "player.enabled=true"],
}


def _nodes(context):
    config = LaunchConfiguration("config").perform(context) or default_config()
    overrides = []
    for argument, targets in SHORTCUTS.items():
        value = LaunchConfiguration(argument).perform(context)
        if value:
            overrides += [t if "=" in t else f"{t}={value}" for t in targets]
    overrides += split_overrides(LaunchConfiguration("params").perform(context))
    nodes = {name: Node(package="ista_ros", executable=name, name=name, parameters=[params], output="screen")
             for name, params in load_graph(config, overrides).items()}
    if "player" in nodes:
        return [*nodes.values(), RegisterEventHandler(OnProcessExit(target_action=nodes["player"],
                                                                    on_exit=_shutdown_when_failed))]
    return list(nodes.values())


def _shutdown_when_failed(event, context):
    return [Shutdown(reason=f"the player failed (exit {event.returncode})")] if event.returncode else []


def generate_launch_description():
    arguments = [DeclareLaunchArgument("config", default_value="", description="parameter file"),
                 DeclareLaunchArgument("params", default_value="", description="[node.]key=value overrides "
                                       "separated by spaces, as ista-ros run --param takes them")]
    arguments += [DeclareLaunchArgument(name, default_value="", description=f"sets {targets[0]}")
                  for name, targets in SHORTCUTS.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
