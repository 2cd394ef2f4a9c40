"""Procedural skeleton interactions (numpy only): the demo's data, importable by training
and tests without ROS or torch."""
