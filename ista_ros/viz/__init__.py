"""Pictures of what the recognizer sees (numpy, OpenCV and Pillow; no rclpy, no torch).

- ``scene``: what one frame shows (entities' joints in the camera optical frame, each
  group's label) and the pinhole camera that looks at it;
- ``colours``: one colour per group;
- ``frame``: one annotated frame as an RGB image;
- ``video``: frames written to an .mp4 or a .gif, with a progress bar (``VideoRenderer``).
"""
