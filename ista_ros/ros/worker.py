"""The "newest frame wins" worker thread of the recognizer and keypoints nodes.

A subscription callback hands each new item over with ``put`` and returns at once; the
worker thread processes the newest item once ``batch`` items have come since the last one
it took (at most one start every ``min_period`` seconds). Items that arrive while it works
replace each other, never queue: what is published is always about the newest frame.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from rclpy.node import Node

JOIN_TIMEOUT_S = 5.0


class NewestWinsWorker:
    def __init__(self, node: Node, process: Callable[[Any], None], on_error: Callable[[Exception], None],
                 batch: int = 1, min_period: float = 0.0):
        """``process(item)`` runs on the worker thread; an exception it raises goes to
        ``on_error`` (a bad frame must not stop the node) unless the node's context was shut
        down under it (Ctrl-C), which ends the thread."""
        self._node, self._process, self._on_error = node, process, on_error
        self.batch, self.min_period = max(1, batch), min_period
        self._wake = threading.Condition()
        self._item: Any = None
        self._count = 0      # items since the worker last took one
        self.replaced = 0    # items replaced by a newer one while ready and waiting
        self._running = True
        self._thread = threading.Thread(target=self._work, name=node.get_name(), daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        with self._wake:
            if self._count >= self.batch:
                self.replaced += 1
            self._item, self._count = item, self._count + 1
            if self._count >= self.batch:
                self._wake.notify()

    def stop(self) -> None:
        """End the thread and wait for it (not when called from the thread itself)."""
        with self._wake:
            self._running = False
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=JOIN_TIMEOUT_S)

    def _work(self) -> None:
        last_start = -self.min_period
        while self._wait_until_ready():
            pause = last_start + self.min_period - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self._wake:  # items that came meanwhile: the newest is the one taken
                item, self._item, self._count = self._item, None, 0
            last_start = time.monotonic()
            try:
                self._process(item)
            except Exception as err:
                if not self._node.context.ok():
                    return
                self._on_error(err)

    def _wait_until_ready(self) -> bool:
        with self._wake:
            self._wake.wait_for(lambda: self._count >= self.batch or not self._running)
            return self._running
