"""Embedded demo (ROS): the shipped model, scoring and the orchestration of player, recognizer and scorer."""
