"""Node parameters, declared one way for every node, with defaults written once.

A node's parameters are the fields of a dataclass (the core's own, such as
``ista_ros.core.recognition.Settings``, or a small one next to the node), so a field added
to the core's dataclass is a parameter without further edits, and config/recognize.yaml
only repeats the defaults (a test holds them equal).

Every parameter is declared dynamically typed, then converted to its default's type, so
that what a user naturally types works from any source (command line, YAML file, launch
file): an int where a float is expected (``depth_tolerance:=1``) is that float, a whole
float where an int is expected is that int, a number where a string is expected is its text
(``source:=0``: webcam 0). Anything else is a UserError naming the parameter, as are
rclpy's parameter exceptions. Parameters are read-only: nodes read them once, at start,
so ``ros2 param set`` is refused instead of silently changing nothing.
"""
from __future__ import annotations

import array
import dataclasses
from typing import Any, TypeVar

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from ista_ros.errors import UserError

T = TypeVar("T")


def declare(node: Node, name: str, default: Any) -> Any:
    """Declare one parameter and return its value, of ``default``'s type."""
    descriptor = ParameterDescriptor(dynamic_typing=True, read_only=True)
    try:
        value = node.declare_parameter(name, default, descriptor).value
    except ParameterException as err:
        raise UserError(f"node {node.get_name()!r}, parameter {name!r}: {err}") from None
    return as_type_of(default, value, f"parameter {name!r} of node {node.get_name()!r}")


def declare_dataclass(node: Node, cls: type[T]) -> T:
    """An instance of the dataclass ``cls`` with one parameter per field, named after it;
    what its own checks refuse (a ValueError) is a UserError."""
    values = {field.name: declare(node, field.name, _default(field)) for field in dataclasses.fields(cls) if field.init}
    try:
        return cls(**values)
    except UserError:
        raise
    except ValueError as err:  # the dataclass's own check of values the user gave
        raise UserError(f"node {node.get_name()!r}: {err}") from None


def as_type_of(default: Any, value: Any, what: str = "the value") -> Any:
    """``value`` converted to the type of ``default`` where that loses nothing; UserError
    otherwise (``what`` names the parameter)."""
    if default is None or (type(value) is type(default) and not isinstance(value, (list, array.array))):
        return value
    if _is_number(default) and _is_number(value):
        if isinstance(default, float):
            return float(value)
        if float(value).is_integer():
            return int(value)
    elif isinstance(default, str) and _is_number(value):
        return str(value)
    elif isinstance(default, (list, tuple)) and isinstance(value, (list, tuple, array.array)):
        return list(value)
    raise UserError(f"{what} takes {_kind(default)} (default {default!r}), not {value!r}.")


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"field {field.name!r} has no default, so it cannot be a node parameter")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return "a list"
