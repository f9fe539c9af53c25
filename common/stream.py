"""``STREAM=1``: decode worker processes write the guides' exact float32 planes (``common.preprocess``'s
own decoder) into a shared-memory ring of batch slots; the device loop (``common.backends.runner.infer``) takes
the batches strictly in order, so a streamed run writes the same bytes as a staged one without a .bin.

Batches are cut from index 0 of the (shard's) sorted image list, as in the staged run; the j-th batch
this run decodes goes to slot ``j mod RING``, and batch j + RING is handed to the workers only once the
session is done with batch j. Workers are processes (aclruntime holds the GIL during every call), fed
through a task queue and answering on a done queue; each batch is split over the workers so that the
batch the device waits for is finished first. ``KEEP_BIN=1``: the workers also write ``<stem>.bin`` from
the planes they hold. A worker leaves when the main process is gone (a SIGKILL leaves no decoder behind).
"""

from __future__ import annotations

import os
import queue
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

from .errors import BundleError
from .manifest import Preprocess

POLL = 0.5  # seconds between the liveness checks of a waiting worker or a waiting device loop


def default_workers(device: bool, cores: int | None = None) -> int:
    """Every core for a backend whose compute is off the CPU, else cores - 1 (at least 1)."""
    cores = cores or len(os.sched_getaffinity(0))
    return cores if device else max(1, cores - 1)


def pieces(n: int, workers: int) -> list[tuple[int, int]]:
    """Rows [lo, hi) of a batch of ``n`` images, one piece per worker (fewer for a short batch)."""
    k = max(1, min(workers, n))
    bounds = [n * i // k for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k) if bounds[i + 1] > bounds[i]]


# ------------------------------------------------------------------------------------- the worker
SHM = "/dev/shm"


def check_room(size: int, depth: int, bs: int, where: str = SHM) -> None:
    """Refuse in one line a ring that the shared-memory folder cannot hold: its pages are only touched when
    the workers write them, so a ring larger than ``/dev/shm`` (64 MB in a container by default) would
    kill a worker with SIGBUS halfway through the run."""
    try:
        st = os.statvfs(where)
    except OSError:
        return  # no /dev/shm to ask (not Linux): multiprocessing's own error, if any, stands
    free = st.f_bavail * st.f_frsize
    if size > free:
        raise BundleError(
            f"STREAM=1: the ring of RING={depth} batches of BS={bs} needs {size / 2**20:.0f} MB of shared memory "
            f"but {where} has {free / 2**20:.0f} MB free (a container's default is 64 MB: give it --shm-size=2g, "
            "as docker/run.sh does, or lower RING or BS)"
        )


def _worker(shm_name: str, row_bytes: int, pre: Preprocess, tasks, done, parent: int) -> None:
    """Decode (slot, row, images) jobs into the ring until ``None`` (or the parent is gone)."""
    import signal
    from multiprocessing import shared_memory

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle (it ends the workers)

    from . import preprocess

    # the main process owns (and unlinks) the segment; a spawned worker shares its resource tracker
    shm = shared_memory.SharedMemory(name=shm_name)
    buf = shm.buf
    try:
        while True:
            try:
                job = tasks.get(timeout=POLL)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if job is None:
                return
            j, offset, srcs, bins = job
            errors, notes = [], []
            for i, src in enumerate(srcs):
                try:
                    data, note = preprocess.planes(Path(src), pre)
                except BundleError as exc:
                    errors.append(str(exc))
                    continue
                except Exception as exc:  # noqa: BLE001 - any decoder failure is the image's fault
                    errors.append(f"{src}: cannot read this image ({type(exc).__name__}: {exc})")
                    continue
                if note:
                    notes.append(note)
                at = offset + i * row_bytes
                for plane in data:
                    buf[at : at + len(plane)] = plane
                    at += len(plane)
                if bins is not None:
                    try:
                        preprocess._write(bins[i], data)  # noqa: SLF001 - the staged writer, the same bytes
                    except OSError as exc:
                        errors.append(f"{bins[i]}: cannot write it ({exc.strerror or exc})")
            done.put((j, len(srcs), errors, notes))
    finally:
        del buf
        shm.close()


@contextmanager
def _sigint_ignored():
    """SIGINT ignored while the workers start (main thread only): they inherit it through spawn's exec, so a
    Ctrl-C never interrupts one half-started (a traceback); one pressed in that instant is lost, not half-done."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


# ------------------------------------------------------------------------------------ the feed
class _Ring:
    """One ``StreamFeed.groups`` call's decoding: a shared-memory ring of ``depth`` batch slots, the worker
    processes writing into it, their task and done queues, and the images each batch in flight still lacks."""

    def __init__(self, feed: StreamFeed, batches: list[list[Path]], bs: int, shape: tuple[int, ...], depth: int):
        from multiprocessing import shared_memory

        import numpy as np

        self.feed, self.batches, self.bs, self.depth = feed, batches, bs, depth
        self.row = int(np.prod(shape)) * 4
        check_room(depth * bs * self.row, depth, bs)
        self.shm = shared_memory.SharedMemory(create=True, size=depth * bs * self.row)
        ctx = get_context("spawn")  # no fork of a process that holds a runtime's threads
        self.tasks, self.done = ctx.Queue(), ctx.Queue()
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(self.shm.name, self.row, feed.pre, self.tasks, self.done, os.getpid()),
                daemon=True,
            )
            for _ in range(min(feed.workers, len(batches) * bs))
        ]
        self.slots = np.ndarray((depth, bs, *shape), dtype=np.float32, buffer=self.shm.buf)
        self.left: dict[int, int] = {}  # batch -> images not decoded yet
        self.failed: dict[int, list[str]] = {}
        self.todo = deque(range(len(batches)))

    def start(self) -> None:
        """Start the workers and hand them the first ``depth`` batches."""
        with _sigint_ignored():  # a Ctrl-C is the main process's, never a half-started worker's
            for p in self.procs:
                p.start()
        for _ in range(self.depth):
            self.submit()

    def submit(self) -> None:
        """The next batch to the workers, cut in one piece per worker, into its slot (``j mod depth``)."""
        j = self.todo.popleft()
        paths = self.batches[j]
        self.left[j] = len(paths)
        for lo, hi in pieces(len(paths), len(self.procs)):
            srcs = [str(self.feed.sources[p]) for p in paths[lo:hi]]
            bins = [str(p) for p in paths[lo:hi]] if self.feed.keep_bin else None
            self.tasks.put((j, ((j % self.depth) * self.bs + lo) * self.row, srcs, bins))

    def refill(self, freed: int) -> None:
        """``freed`` slots are the session's no more: they take the next batches, while there are any."""
        for _ in range(freed):
            if self.todo:
                self.submit()

    def slot(self, k: int, pad: bool):
        """Batch k's view of its slot: a short batch zero-padded (``pad``) or cut to its images."""
        x = self.slots[k % self.depth]
        if len(self.batches[k]) < self.bs:
            if pad:
                x[len(self.batches[k]) :] = 0
            else:
                x = x[: len(self.batches[k])]
        return x

    def close(self, finished: bool) -> None:
        """End the workers (finished: each leaves at its None; interrupted or failed: ended now), close the
        queues and free the shared memory."""
        for p in self.procs:
            if finished:
                self.tasks.put(None)
            elif p.is_alive():
                p.terminate()
        for p in self.procs:
            if p.pid is None:  # never started
                continue
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()
        for q in (self.tasks, self.done):
            q.cancel_join_thread()
            q.close()
        del self.slots
        self.shm.close()
        self.shm.unlink()


class StreamFeed:
    """Batches for ``common.backends.runner.infer`` decoded by worker processes into a shared-memory ring.

    ``sources`` maps each input name (the ``<prep>/<stem>.bin`` path the staged run would read) to its
    image. ``keep_bin``: the workers also write those .bin files; ``written`` then lists the images whose
    .bin is finished (for the preprocessing record)."""

    def __init__(
        self, sources: dict[Path, Path], pre: Preprocess, workers: int, depth: int = 4, keep_bin: bool = False
    ) -> None:
        self.sources, self.pre, self.workers, self.depth, self.keep_bin = sources, pre, max(1, workers), depth, keep_bin
        self.written: list[Path] = []
        self.finished: dict = {}  # KEEP_BIN: the preprocessing record's images before this run
        self.errors: list[str] = []
        self.waits = 0  # batches the device loop had to wait for (decode-bound)
        self.fill = 0  # batches decoded and waiting for the device when the last one was taken
        self.taken = 0

    def status(self) -> str:
        """Which stage bounds the run now, from the ring's fill when the device loop took a batch."""
        bound = "decode-bound" if self.fill == 0 else "device-bound"
        return f"{bound}, ring {self.fill}/{self.depth}"

    def record(self) -> dict:
        """What the summary keeps of the stream: workers, ring depth, and how often the device waited."""
        return {
            "stream": {"workers": self.workers, "ring": self.depth, "batches": self.taken, "decode_waits": self.waits}
        }

    def batches(self, batches: list[list[Path]], bs: int, shape: tuple[int, ...], pad: bool) -> Iterator:
        """Yield ``(paths, x)`` for each batch in order; ``x`` is a view of its ring slot, valid until the
        next batch is asked for (a static-batch session gets the short last batch zero-padded).
        Batches with an image that does not decode are skipped; ``self.errors`` names them."""
        for group in self.groups(batches, bs, shape, pad, 1):
            yield from group

    def groups(self, batches: list[list[Path]], bs: int, shape: tuple[int, ...], pad: bool, many: int) -> Iterator:
        """Like ``batches``, but lists of up to ``many`` consecutive batches: the next one, waited for, and
        those after it that are already decoded (at most RING - 1, so that the workers keep decoding)."""
        if not batches:
            return
        depth = min(self.depth, len(batches))
        many = max(1, min(many, depth - 1))
        ring = _Ring(self, batches, bs, shape, depth)
        group: list = []
        finished = False
        try:
            ring.start()
            j = 0
            while j < len(batches):
                end = self._wait(ring, j, many)
                group = self._take(ring, j, end, pad)
                if group:
                    self.taken += len(group)
                    yield group
                group = []  # the session is done with these slots: they take the next batches
                ring.refill(end - j)
                j = end
            finished = True
        finally:
            group = []
            ring.close(finished)

    def _wait(self, ring: _Ring, j: int, many: int) -> int:
        """Wait for batch j (a decode wait when it is not ready), take in every answer already there, and
        return the end of the run of decoded batches from j (at most ``many``); ``fill``: those after it."""
        left = ring.left
        if left[j]:
            self.waits += 1
        while left[j]:
            self._receive(ring.done, left, ring.failed, ring.procs, POLL)
        while self._receive(ring.done, left, ring.failed, ring.procs, 0):
            pass  # whatever else is finished, so that ready batches join this call
        end = j + 1
        while end < len(ring.batches) and end - j < many and left.get(end) == 0:
            end += 1
        self.fill = sum(1 for k in left if k >= end and not left[k])
        return end

    def _take(self, ring: _Ring, j: int, end: int, pad: bool) -> list:
        """Batches j..end-1 out of the ring as (paths, x); one with an image that did not decode is left
        out, its errors kept in ``errors``. KEEP_BIN: their images join ``written``."""
        group = []
        for k in range(j, end):
            del ring.left[k]
            if k in ring.failed:
                self.errors += ring.failed.pop(k)
                continue
            if self.keep_bin:
                self.written += [self.sources[p] for p in ring.batches[k]]
            group.append((ring.batches[k], ring.slot(k, pad)))
        return group

    def _receive(self, done, left: dict, failed: dict, procs, timeout: float) -> bool:
        """One worker's answer (waiting up to ``timeout`` s); False when none came. A dead worker is an error."""
        try:
            j, n, errors, notes = done.get(timeout=timeout) if timeout else done.get_nowait()
        except queue.Empty:
            dead = [p for p in procs if not p.is_alive()]
            if dead:
                raise BundleError(
                    f"a STREAM=1 decode worker died (exit {dead[0].exitcode}): out of memory? try fewer WORKERS or "
                    "a smaller RING"
                ) from None
            return False
        import sys

        for note in notes:
            print(f"warning: {note}", file=sys.stderr, flush=True)
        left[j] -= n
        if errors:
            failed.setdefault(j, []).extend(errors)
        return True


def check(feed: StreamFeed | None) -> None:
    """After a run: the images that did not decode, all named, as ``make preprocess`` names them."""
    if feed is None or not feed.errors:
        return
    errors = feed.errors
    more = f" (and {len(errors) - 1} more, listed above; their batches were not inferred)" if len(errors) > 1 else ""
    for line in errors[1:]:
        print(line)
    raise BundleError(errors[0] + more)
