"""Init, build, spin and shut down nodes: the ``main()`` of every node executable and of
the commands that run several nodes in one process (``ista-ros run``, ``ista-ros video``).

One shutdown order for all: the executor stops (no callback runs any more), then the nodes
are destroyed in reverse order of creation (each stops and joins its own threads), then the
context is shut down. A node that cannot be built because of a user's mistake (a
UserError) stops the ones built before it, and the executable prints one sentence and
exits with status 2.
"""
from __future__ import annotations

from typing import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future

from ista_ros.errors import run_reporting_user_errors

NodeFactory = Callable[[], Node]


def run_node(make_node: NodeFactory, name: str, args: list[str] | None = None) -> int:
    """``main()`` of a node executable: ``make_node()`` builds the node (a Node class or a
    factory); ``name`` prefixes the one-sentence error of a UserError (exit status 2)."""
    return run_reporting_user_errors(name, lambda: spin_nodes([make_node], args))


def spin_nodes(factories: Sequence[NodeFactory], args: list[str] | None = None,
               on_ready: Callable[[list[Node]], None] | None = None, until: Future | None = None) -> int:
    """Build the nodes in order, call ``on_ready(nodes)``, spin until Ctrl-C, SIGTERM, a
    node shutting the context down or ``until`` being done (from any thread: one node ends
    the graph, the others stopped as usual), then shut down in the order above. Several
    nodes share a multi-threaded executor, so that one node's callback never waits for
    another's."""
    rclpy.init(args=args)
    nodes: list[Node] = []
    executor = SingleThreadedExecutor() if len(factories) == 1 else MultiThreadedExecutor()
    try:
        for make_node in factories:
            nodes.append(make_node())
            executor.add_node(nodes[-1])
        if on_ready is not None:
            on_ready(nodes)
        if until is None:
            executor.spin()
        else:
            executor.spin_until_future_complete(until)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # else a signal shut the context down while the executor was inside rcl (an RCLError
        # "context is not valid"): that is a normal end, not an error
    finally:
        executor.shutdown()
        for node in reversed(nodes):
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
