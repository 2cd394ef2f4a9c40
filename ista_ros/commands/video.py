"""`ista-ros video`: publish a video file or a webcam as sensor_msgs/Image."""
from __future__ import annotations

from ista_ros.errors import UserError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "video", help="publish a video file or webcam as sensor_msgs/Image",
        description="Publish the frames of a video file (at its recorded rate, with real "
                    "stamps) or of a webcam as bgr8 sensor_msgs/Image.")
    parser.add_argument("source", help="video file, or webcam index such as 0")
    parser.add_argument("--topic", default="image", help="image topic (default: image)")
    parser.add_argument("--frame-id", default="camera_optical_frame",
                   help="header frame_id, the camera's optical frame (default: camera_optical_frame)")
    parser.add_argument("--rate", type=float, default=0.0,
                   help="frames per second; 0 = the file's recorded rate (default: 0)")
    parser.add_argument("--loop", action="store_true", help="restart the file at its end")
    parser.add_argument("--keypoints", action="store_true",
                   help="also run the keypoints node in this process (skeletons on 'skeletons')")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from rclpy.parameter import Parameter

    from ista_ros.nodes.video_source import VideoSourceNode
    from ista_ros.ros.spin import spin_nodes

    if not args.source.isdigit() and not Path(args.source).is_file():
        raise UserError(f"video file {args.source} does not exist; give a video file or a webcam index such as 0")
    overrides = [Parameter("source", value=args.source), Parameter("topic", value=args.topic),
                 Parameter("frame_id", value=args.frame_id),
                 Parameter("rate", value=float(args.rate)), Parameter("loop", value=args.loop)]
    factories = []
    if args.keypoints:
        from ista_ros.nodes.keypoints import KeypointsNode
        factories.append(lambda: KeypointsNode(parameter_overrides=[Parameter("image_topic", value=args.topic)]))
    factories.append(lambda: VideoSourceNode(exit_when_done=True, parameter_overrides=overrides))
    return spin_nodes(factories)  # until the video ends (the source shuts the context down) or Ctrl-C
