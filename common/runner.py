"""Walk input files in batches of BS through any ``Session`` and write per-sample outputs plus the
summary JSON; ``SessionRunner`` is the ``Runner`` of every backend that loads a model in-process.
Backend-blind: the same files whichever session ran."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from common import outputs, perf, summary
from common.backends import Runner, Session
from common.errors import BundleError
from common.progress import bar


def read_batch(paths: list[Path], shape: tuple[int, ...]) -> np.ndarray:
    """Read .bin files into one float32 batch; a file of the wrong size is named in the error."""
    want = int(np.prod(shape))
    out = np.empty((len(paths), *shape), dtype=np.float32)
    for i, p in enumerate(paths):
        try:
            data = np.fromfile(p, dtype=np.float32)
        except OSError as exc:
            raise BundleError(f"{p}: cannot read the input file ({exc.strerror})") from None
        if data.size != want:
            raise BundleError(
                f"{p}: {data.size * 4} bytes, expected {want * 4} (float32 {list(shape)}); "
                "was it preprocessed for another model?"
            )
        out[i] = data.reshape(shape)
    return out


def _prefetch(batches: list[list[Path]], shape: tuple[int, ...], depth: int = 2) -> Iterator:
    """Read the next batches in a thread while the current one runs."""
    q: queue.Queue = queue.Queue(maxsize=depth)

    def work():
        try:
            for b in batches:
                q.put((b, read_batch(b, shape)))
        except BundleError as exc:
            q.put(exc)
        q.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (item := q.get()) is not None:
        if isinstance(item, BundleError):
            raise item
        yield item


def todo(inputs: list[Path], out_dir: Path) -> list[Path]:
    """The inputs that have no output in ``out_dir`` yet (resume)."""
    found = outputs.scan(out_dir) if Path(out_dir).is_dir() else {}
    done = {stem for stem, path in found.items() if outputs.valid(path)}
    return [p for p in inputs if outputs.stem(p) not in done]


def infer(
    session: Session,
    inputs: list[Path],
    bs: int,
    out_dir: Path,
    input_shape: tuple[int, ...],
    outfmt: str = "TXT",
    progress: bool = True,
    args: dict | None = None,
) -> dict:
    """Run ``inputs`` (.bin files) through ``session`` in batches of ``bs`` into ``out_dir``.

    Samples whose outputs already exist are skipped (resume). A static-batch session gets its last
    batch zero-padded; the padding writes no files. Returns the summary (also written as
    ``<out_dir>_summary.json``, where ais_bench writes it).
    """
    out_dir = Path(out_dir)
    if session.batch is not None and session.batch != bs:
        raise BundleError(f"the model has a fixed batch of {session.batch} but BS={bs}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    left = todo(inputs, out_dir)
    batches = [left[i : i + bs] for i in range(0, len(left), bs)]
    times: list[float] = []
    filesinfo: dict = {}
    pending = []
    with (
        ThreadPoolExecutor(max_workers=2) as writer,
        bar(total=len(inputs), initial=len(inputs) - len(left), desc="infer", unit="img", enable=progress) as pb,
    ):
        for n, (paths, x) in enumerate(_prefetch(batches, input_shape)):
            real = len(paths)
            if real < bs and session.batch is not None:
                x = np.concatenate([x, np.zeros((bs - real, *input_shape), np.float32)])
            t0 = time.perf_counter()
            outs = session.run(x)
            times.append((time.perf_counter() - t0) * 1000)
            names = []
            for i, p in enumerate(paths):
                for k, out in enumerate(outs):
                    target = out_dir / outputs.name(outputs.stem(p), k, outfmt)
                    names.append(str(target))
                    pending.append(writer.submit(outputs.write, target, out[i], outfmt))
            filesinfo[n] = {"infiles": [str(p) for p in paths], "outfiles": names}
            pending = [f for f in pending if not f.done() or f.result()]
            pb.update(real)
        for f in pending:
            f.result()
    own = session.own_timings()
    data = summary.build(
        filesinfo=filesinfo,
        args={"batchsize": bs, "outfmt": outfmt, "backend": session.describe(), **(args or {})},
        compute_ms=own or times,
        host_ms=times,
        samples=len(inputs),
        samples_run=len(left),
        timing_source="ais_bench" if own else "host (perf_counter around run)",
    )
    return summary.write(out_dir, data)


class SessionRunner(Runner):
    """The runner of in-process sessions: ``open_session(bs)`` gives a session able to run batches of
    ``bs`` (static-batch models: its own file). The inference session is opened once and kept."""

    def __init__(
        self,
        open_session: Callable[[int], Session],
        bs: int,
        input_shape: tuple[int, ...],
        outfmt: str = "TXT",
        progress: bool = True,
        perf_seconds: float = 1.0,
        args: dict | None = None,
    ) -> None:
        self.open_session, self.bs, self.input_shape = open_session, bs, tuple(input_shape)
        self.outfmt, self.progress, self.perf_seconds, self.args = outfmt, progress, perf_seconds, args or {}
        self._sessions: dict[int, Session] = {}
        self.name = "session"

    def session(self, bs: int) -> Session:
        """The session for batch size ``bs``: one per distinct model file, opened on first use."""
        if bs not in self._sessions:
            self._sessions[bs] = self.open_session(bs)
        return self._sessions[bs]

    def prepare(self) -> None:
        self.session(self.bs)

    def infer(self, inputs: list[Path], out_dir: Path) -> dict:
        s = self.session(self.bs)
        return infer(s, inputs, self.bs, out_dir, self.input_shape, self.outfmt, self.progress, self.args)

    def perf(self, bs: int) -> perf.PerfRow:
        with self.open_session(bs) if bs != self.bs else _Borrowed(self.session(bs)) as s:
            x = np.random.default_rng(0).standard_normal((bs, *self.input_shape), dtype=np.float32)
            times = perf.measure(s.run, x, min_seconds=self.perf_seconds)
            return perf.row(bs, times, f"host-measured, {s.describe()}", perf.HOST_METHOD)

    def describe(self) -> str:
        return self.session(self.bs).describe()

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self._sessions.clear()


class _Borrowed:
    """A session used in a ``with`` block without closing it (the runner owns it)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc) -> None:
        pass
