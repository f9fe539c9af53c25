"""A watchdog around device calls (ais_bench's InferSession): a call that does not return in time stops
the run in one line naming the call, the device and the batch, instead of waiting forever
(AISBench/benchmark#232: ais_bench hangs on some OMs). Finished outputs are kept; a re-run resumes.

The limit is ``INFER_TIMEOUT`` seconds when set, else 10 x the slowest call so far and at least 60 s;
the first calls (loading the model, the first batch, which compiles and allocates) get ``FIRST`` x
that. A stalled call cannot be interrupted (it is inside the runtime): it is left in its daemon thread
and the step exits (``cli`` ends the process without waiting for it)."""

from __future__ import annotations

import queue
import threading
import time

from .errors import BundleError

FLOOR = 60.0  # seconds: the least the automatic limit allows a call
FACTOR = 10.0  # the automatic limit: this many times the slowest call so far
FIRST = 10.0  # the first calls (model load, first batch): this many times the limit


class Stalled(BundleError):
    """A device call did not return within its limit; the process should end without waiting for it."""


class Watchdog:
    """Limits for the calls of one session on one device."""

    def __init__(self, seconds: float | None, device: str) -> None:
        self.seconds, self.device = seconds, str(device)
        self.slowest = 0.0
        self.calls: dict[str, int] = {}
        self.stalled = False  # a call is still running in its thread: release nothing that it holds
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def limit(self, what: str) -> float:
        base = self.seconds if self.seconds else max(FLOOR, FACTOR * self.slowest)
        return base * FIRST if self.calls.get(what, 0) == 0 else base

    def _work(self) -> None:
        """The worker thread: runs the calls in order (one thread for the session's life: ~20 us a call)."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, kwargs, box, done = job
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc
            done.set()

    def call(self, what: str, fn, *args, where: str = "", **kwargs):
        """``fn(*args, **kwargs)`` in the worker thread; Stalled when it takes longer than the limit."""
        if self.stalled:
            raise Stalled(f"ais_bench {what} on device {self.device}{where}: an earlier call is still stalled")
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=f"watchdog-device{self.device}", daemon=True)
            self._thread.start()
        limit = self.limit(what)
        box: dict = {}
        done = threading.Event()
        t0 = time.monotonic()
        self._jobs.put((fn, args, kwargs, box, done))
        if not done.wait(limit):
            self.stalled = True
            how = "INFER_TIMEOUT" if self.seconds else "10 x the slowest call so far, at least 60 s"
            first = " (the first such call: the limit x10)" if self.calls.get(what, 0) == 0 else ""
            raise Stalled(
                f"ais_bench {what} stalled on device {self.device}{where}: no answer after {limit:g} s "
                f"({how}{first}); the finished outputs are kept and a re-run resumes (INFER_TIMEOUT=<seconds> "
                "sets the limit; a hanging OM: AISBench/benchmark#232)"
            )
        if self.calls.get(what, 0):  # the first call's time (model load, warm-up) is not a batch's
            self.slowest = max(self.slowest, time.monotonic() - t0)
        self.calls[what] = self.calls.get(what, 0) + 1
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def close(self) -> None:
        """End the worker thread (not a stalled one: it is left to the process's exit)."""
        if self._thread is not None and not self.stalled:
            self._jobs.put(None)
            self._thread = None
