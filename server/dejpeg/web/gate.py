"""A bound on how many inferences run at once in this process, and how many may wait."""
from __future__ import annotations

import contextlib
import math
import threading
import time

from ..errors import Busy


class Gate:
    """At most `slots` requests inside at once; up to `queue` more wait up to `timeout_s`.

    Anything beyond that is refused at once with `Busy` (503 + Retry-After), so a flood of
    requests cannot pile up threads and decoded images in memory.
    """

    def __init__(self, slots: int, queue: int, timeout_s: float):
        self.slots, self.queue, self.timeout_s = slots, queue, timeout_s
        self._sem = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.waiting = 0
        self.running = 0

    @contextlib.contextmanager
    def slot(self):
        """Hold one inference slot for the `with` block; yields the seconds spent waiting."""
        t0 = time.perf_counter()
        if not self._sem.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.queue:
                    raise Busy(f"The server is busy: {self.slots} inferences are running and "
                               f"{self.waiting} requests are waiting. Try again shortly.",
                               retry_after=self._retry_after())
                self.waiting += 1
            try:
                acquired = self._sem.acquire(timeout=self.timeout_s)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not acquired:
                raise Busy(f"The server is busy: no inference slot freed up within "
                           f"{self.timeout_s:g} s. Try again shortly.",
                           retry_after=self._retry_after())
        with self._lock:
            self.running += 1
        try:
            yield time.perf_counter() - t0
        finally:
            with self._lock:
                self.running -= 1
            self._sem.release()

    def _retry_after(self) -> int:
        return max(1, min(30, math.ceil(self.timeout_s / 4)))

    def state(self) -> dict:
        return {"running": self.running, "waiting": self.waiting,
                "max_concurrent": self.slots, "max_queue": self.queue}
