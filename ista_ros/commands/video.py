"""`ista-ros video`: publish a video file or a webcam as sensor_msgs/Image."""
from __future__ import annotations


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "video", help="publish a video file or webcam as sensor_msgs/Image",
        description="Publish the frames of a video file (at its recorded rate, with real "
                    "stamps) or of a webcam as bgr8 sensor_msgs/Image.")
    p.add_argument("source", help="video file, or webcam index such as 0")
    p.add_argument("--topic", default="image", help="image topic (default: image)")
    p.add_argument("--frame-id", default="camera_optical_frame",
                   help="header frame_id, the camera's optical frame (default: camera_optical_frame)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="frames per second; 0 = the file's recorded rate (default: 0)")
    p.add_argument("--loop", action="store_true", help="restart the file at its end")
    p.add_argument("--keypoints", action="store_true",
                   help="also run the keypoints node in this process (skeletons on 'skeletons')")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
    from rclpy.parameter import Parameter

    from ista_ros.nodes.video_source import VideoSourceNode

    if not args.source.isdigit() and not Path(args.source).is_file():
        raise ValueError(f"video file {args.source} does not exist; give a video file or a "
                         "webcam index such as 0")
    overrides = [Parameter("source", value=args.source), Parameter("topic", value=args.topic),
                 Parameter("frame_id", value=args.frame_id),
                 Parameter("rate", value=float(args.rate)), Parameter("loop", value=args.loop)]
    rclpy.init()
    nodes = []
    executor = MultiThreadedExecutor()
    try:
        if args.keypoints:
            from ista_ros.nodes.keypoints import KeypointsNode
            nodes.append(KeypointsNode(parameter_overrides=[
                Parameter("image_topic", value=args.topic)]))
        nodes.append(VideoSourceNode(exit_when_done=True, parameter_overrides=overrides))
        for node in nodes:
            executor.add_node(node)
        executor.spin()  # until the video ends (the source shuts the context down) or Ctrl-C
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
