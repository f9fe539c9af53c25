"""Walk input files in batches of BS through any ``Session`` and write per-sample outputs plus the
summary JSON; ``SessionRunner`` is the ``Runner`` of every backend that loads a model in-process.
Backend-blind: the same files whichever session ran."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .. import outputs, perf, summary
from ..errors import BundleError
from ..progress import bar
from . import Runner, Session, model_file


def read_into(paths: list[Path], out: np.ndarray) -> np.ndarray:
    """Read .bin files into the first rows of ``out`` (a reused float32 batch buffer) with ``os.readv``;
    returns ``out[:len(paths)]``. A file of the wrong size is named in the error."""
    shape = out.shape[1:]
    want = out[0].nbytes
    for i, p in enumerate(paths):
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                got = os.readv(fd, [memoryview(out[i]).cast("B")])
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
        except OSError as exc:
            raise BundleError(f"{p}: cannot read the input file ({exc.strerror})") from None
        if got != want or size != want:
            raise BundleError(
                f"{p}: {size} bytes, expected {want} (float32 {list(shape)}); was it preprocessed for another model?"
            )
    return out[: len(paths)]


def _write_batch(out_dir: Path, paths: list[Path], outs: list[np.ndarray], outfmt: str) -> None:
    """The writer thread's job: every output of one batch (padding rows dropped), each output index
    formatted in one pass."""
    real = len(paths)
    for k, out in enumerate(outs):
        targets = [out_dir / outputs.name(outputs.stem(p), k, outfmt) for p in paths]
        outputs.write_rows(targets, np.asarray(out)[:real], outfmt)


def todo(inputs: list[Path], out_dir: Path) -> list[Path]:
    """The inputs that have no output in ``out_dir`` yet (resume)."""
    found = outputs.scan(out_dir) if Path(out_dir).is_dir() else {}
    done = {stem for stem, path in found.items() if outputs.valid(path)}
    return [p for p in inputs if outputs.stem(p) not in done]


def cut(inputs: list[Path], bs: int, out_dir: Path) -> list[list[Path]]:
    """The batches still to run: ``inputs`` cut into batches of ``bs`` from index 0 (staged and streamed
    alike, so batch-dependent numerics agree); a batch is skipped only when every one of its samples has
    valid outputs, otherwise the whole batch is run again."""
    files = outputs.files_by_stem(out_dir)
    finished = {stem for stem, fs in files.items() if all(outputs.valid(f) for f in fs)}
    batches = [inputs[i : i + bs] for i in range(0, len(inputs), bs)]
    return [b for b in batches if not all(outputs.stem(p) in finished for p in b)]


class FileFeed:
    """The staged run's batches: each read from its .bin files into one reused buffer."""

    def batches(self, batches: list[list[Path]], bs: int, shape: tuple[int, ...], pad: bool):
        buf = np.zeros((bs, *shape), dtype=np.float32)
        for paths in batches:
            x = read_into(paths, buf)
            if len(paths) < bs and pad:
                buf[len(paths) :] = 0
                x = buf
            yield paths, x


def infer(
    session: Session,
    inputs: list[Path],
    bs: int,
    out_dir: Path,
    input_shape: tuple[int, ...],
    outfmt: str = "TXT",
    progress: bool = True,
    args: dict | None = None,
    feed=None,
) -> dict:
    """Run ``inputs`` (.bin files) through ``session`` in batches of ``bs`` into ``out_dir``.

    Batches whose outputs already exist are skipped (resume, ``cut``). A static-batch session gets its
    last batch zero-padded; the padding writes no files. ``feed`` gives the batches' arrays: the .bin
    files (``FileFeed``, the default) or ``common.stream.StreamFeed`` (STREAM=1). Returns the summary (also written as
    ``<out_dir>_summary.json``, where ais_bench writes it).
    """
    out_dir = Path(out_dir)
    if session.batch is not None and session.batch != bs:
        raise BundleError(f"the model has a fixed batch of {session.batch} but BS={bs}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    batches = cut(inputs, bs, out_dir)
    left = [p for b in batches for p in b]
    feed = feed or FileFeed()
    shape = tuple(input_shape)
    times: list[float] = []
    filesinfo: dict = {}
    # Reads are synchronous (into one buffer, or the stream's ring slot); one writer thread formats and
    # writes a whole batch while the next one runs, and at most one batch waits for it, so the host work
    # fits in the gaps the session's own threads leave instead of competing with them.
    start = time.perf_counter()
    with (
        ThreadPoolExecutor(max_workers=1) as writer,
        bar(total=len(inputs), initial=len(inputs) - len(left), desc="infer", unit="img", enable=progress) as pb,
    ):
        pending = None
        for group in _groups(session, feed, batches, bs, shape):
            if hasattr(session, "where"):  # named by the watchdog if this batch stalls
                session.where = _where(group, len(filesinfo) + 1, len(batches), bs)
            t0 = time.perf_counter()
            results = session.run_many([x for _, x in group]) if len(group) > 1 else [session.run(group[0][1])]
            times += [(time.perf_counter() - t0) * 1000 / len(group)] * len(group)
            for (paths, _), outs in zip(group, results, strict=True):
                if pending is not None:
                    pending.result()
                pending = writer.submit(_write_batch, out_dir, paths, outs, outfmt)
                filesinfo[len(filesinfo)] = _files_info(out_dir, paths, len(outs), outfmt)
                pb.update(len(paths))
            if hasattr(feed, "status"):
                pb.set_postfix_str(feed.status(), refresh=False)
        if pending is not None:
            pending.result()
    wall = time.perf_counter() - start
    recorded = {"batchsize": bs, "outfmt": outfmt, "backend": session.describe(), **(args or {})}
    data = _summary(session, feed, filesinfo, times, recorded, len(inputs), len(left), wall)
    return summary.write(out_dir, data)


def _groups(session: Session, feed, batches: list[list[Path]], bs: int, shape: tuple[int, ...]):
    """The feed's batches in groups of what one session call takes (msit's pipeline: several)."""
    many = getattr(session, "pipeline", 1) if hasattr(feed, "groups") else 1  # ready batches per call
    pad = session.batch is not None
    if many > 1:
        return feed.groups(batches, bs, shape, pad, many)
    return ([b] for b in feed.batches(batches, bs, shape, pad))


def _where(group: list, number: int, total: int, bs: int) -> str:
    """What a stalled call works on, for the watchdog's message."""
    first, last = group[0][0], group[-1][0]
    return f", batch {number} of {total} of BS={bs}: {first[0].name} .. {last[-1].name}"


def _files_info(out_dir: Path, paths: list[Path], n_outputs: int, outfmt: str) -> dict:
    """One batch's entry in the summary's ``filesinfo``: its inputs and the output files written for them."""
    outfiles = [str(out_dir / outputs.name(outputs.stem(p), k, outfmt)) for p in paths for k in range(n_outputs)]
    return {"infiles": [str(p) for p in paths], "outfiles": outfiles}


def _summary(
    session: Session, feed, filesinfo: dict, times: list, args: dict, samples: int, samples_run: int, wall: float
):
    """The summary of a run: the session's own compute times where it has them, else the host's."""
    own = session.own_timings()
    return summary.build(
        filesinfo=filesinfo,
        args=args,
        compute_ms=own or times,
        host_ms=times,
        samples=samples,
        samples_run=samples_run,
        timing_source="ais_bench" if own else "host (perf_counter around run)",
        **({"pipeline_seconds": wall, "pipeline_throughput": samples_run / wall} if samples_run and wall > 0 else {}),
        **(feed.record() if hasattr(feed, "record") else {}),
    )


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
        self.feed = None  # STREAM=1: the stream's batches instead of the .bin files (``stream``)

    def _stream(self, feed) -> None:
        self.feed = feed

    def session(self, bs: int) -> Session:
        """The session for batch size ``bs``: one per distinct model file, opened on first use."""
        if bs not in self._sessions:
            self._sessions[bs] = self.open_session(bs)
        return self._sessions[bs]

    def _prepare(self) -> None:
        self.session(self.bs)

    def _infer(self, inputs: list[Path], out_dir: Path) -> dict:
        s = self.session(self.bs)
        return infer(s, inputs, self.bs, out_dir, self.input_shape, self.outfmt, self.progress, self.args, self.feed)

    def _perf(self, bs: int) -> perf.PerfRow:
        with self.open_session(bs) if bs != self.bs else _Borrowed(self.session(bs)) as s:
            x = np.random.default_rng(0).standard_normal((bs, *self.input_shape), dtype=np.float32)
            call = s.timed(x)
            times = perf.measure(lambda _x: call(), x, min_seconds=self.perf_seconds)
            return s.perf_row(bs, times)

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


def run_args(art, with_model_file: bool = False) -> dict:
    """What every runner records of the run: the model, the devices (and the file an in-process one runs)."""
    args = {"model": art.cfg.model.name, "device": ",".join(art.settings.device)}
    return {**args, "model_file": str(model_file(art))} if with_model_file else args


def session_runner(art, open_session: Callable, cls=None, **kw) -> Runner:
    """A ``runner.SessionRunner`` (or ``cls``) over ``open_session(bs)``, with the run's settings."""
    s, m = art.settings, art.cfg.model
    args = run_args(art, with_model_file=True)
    cls = cls or SessionRunner
    return cls(
        open_session,
        s.bs,
        m.input_shape,
        outfmt=s.outfmt,
        progress=s.progress,
        perf_seconds=s.perf_seconds,
        args=args,
        **kw,
    )
