"""The ROS adapter: the one place where ROS messages, parameters and executors meet the
core's plain Python. Nodes are built from it; ``ista_ros.core`` never imports it.

- ``messages``: header stamps, SkeletonArray in and out, InteractionAction out;
- ``params``: node parameters declared from dataclasses (each default written once);
- ``worker``: the "newest frame wins" worker thread of the recognizer and keypoints nodes;
- ``spin``: init, build, spin and shut down one or several nodes in a process;
- ``graph``: the live graph of config/recognize.yaml and its ``node.key=value`` overrides.
"""
