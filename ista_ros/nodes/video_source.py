"""Video source node: a video file or a webcam published as sensor_msgs/Image (bgr8).

Parameters: ``source`` (a video file path, or a webcam index such as "0"), ``topic``
("image"), ``frame_id`` ("camera_optical_frame": the REP-103 optical frame of the
camera), ``rate`` (frames per second; 0 = the file's recorded rate, 30 for webcams
that report none), ``loop`` (restart a file at its end), ``wait_for_subscriber``
(true: a file starts once someone subscribes, as frames published before discovery
are lost; webcams never wait). Each image is stamped with
the time it was read: frames of a file come out at the recorded rate with real stamps,
so the whole live path runs on a recording. When a file ends (and ``loop`` is off)
``finished`` is set, and with ``exit_when_done`` (the executable) the context is shut
down so that the process ends.
"""
from __future__ import annotations

import array
import sys
import threading
import time
from dataclasses import dataclass

from rclpy.node import Node
from sensor_msgs.msg import Image

from ista_ros.errors import UserError
from ista_ros.ros.params import declare_dataclass
from ista_ros.ros.spin import run_node

DEFAULT_RATE = 30.0


@dataclass
class VideoSourceParameters:
    source: str = ""                     # a video file, or a webcam index such as "0"
    topic: str = "image"
    frame_id: str = "camera_optical_frame"
    rate: float = 0.0                    # frames per second; 0: the file's recorded rate
    loop: bool = False
    wait_for_subscriber: bool = True     # files only


def open_capture(source: str):
    """An opened cv2.VideoCapture for a file path or a webcam index; UserError if not."""
    import cv2

    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        raise UserError(f"cannot open video source {source!r}: give an existing video file "
                         "or a webcam index such as 0")
    return capture


class VideoSourceNode(Node):
    def __init__(self, node_name: str = "video_source", exit_when_done: bool = False, **kwargs):
        super().__init__(node_name, **kwargs)
        self.exit_when_done = exit_when_done
        self.finished = threading.Event()
        self.capture = self._thread = None  # set below; destroy_node copes with a failed start
        params = declare_dataclass(self, VideoSourceParameters)
        self.source, self.frame_id, self.loop = params.source, params.frame_id, params.loop
        self.wait_for_subscriber = params.wait_for_subscriber and not self.source.isdigit()
        if not self.source:
            raise UserError("parameter 'source' is empty: set it to a video file or a "
                             "webcam index such as 0")
        self.capture = open_capture(self.source)
        import cv2
        recorded = self.capture.get(cv2.CAP_PROP_FPS)
        self.rate = params.rate if params.rate > 0 else (recorded if recorded and recorded > 0 else DEFAULT_RATE)
        self.publisher = self.create_publisher(Image, params.topic, 1)
        self.published = 0
        self._thread = threading.Thread(target=self._run, name="video_source", daemon=True)
        self._thread.start()
        self.get_logger().info(f"publishing {self.source} on {params.topic} at {self.rate:.1f} FPS")

    def _run(self) -> None:
        while self.wait_for_subscriber and not self.publisher.get_subscription_count():
            if self.finished.wait(0.05):
                return
        period = 1.0 / self.rate
        due = time.monotonic()
        while not self.finished.is_set():
            ok, frame = self.capture.read()
            if not ok:
                if self.loop and self.published:
                    import cv2
                    self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                self.get_logger().info(f"end of {self.source} after {self.published} frames")
                self.finished.set()
                if self.exit_when_done:
                    self.context.try_shutdown()
                return
            try:
                self.publisher.publish(self._to_image(frame))
            except Exception:
                if self.context.ok():
                    raise
                return  # the process is shutting down (Ctrl-C, SIGTERM)
            self.published += 1
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -period:  # fell behind (slow disk, slow consumer): do not burst
                due = time.monotonic()

    def _to_image(self, frame) -> Image:
        msg = Image(height=frame.shape[0], width=frame.shape[1], encoding="bgr8",
                    step=frame.shape[1] * 3)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.frame_id
        msg.data = array.array("B", frame.tobytes())
        return msg

    def destroy_node(self):
        self.finished.set()
        # The worker itself gets here when its end-of-file shutdown destroys the node.
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        if self.capture is not None:
            self.capture.release()
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(lambda: VideoSourceNode(exit_when_done=True), "video_source", args)


if __name__ == "__main__":
    sys.exit(main())
