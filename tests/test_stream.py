"""STREAM=1 (issue 17): the images decoded straight into a shared-memory ring; every output file and
result.json the same bytes as the staged run's, no .bin written; resume, SIGKILL, SHARD, KEEP_BIN; the
staged resume cuts the same batches as a fresh run."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from common import manifest, outputs, preprocess, sample
from common.backends import Session, runner
from common.errors import BundleError
from common.stream import StreamFeed, default_workers, pieces
from tests.conftest import ROOT

FAKES = ROOT / "tests" / "fakes"
MODEL = "efficientnet-lite0"
STEPS = "preprocess info infer postprocess"


def steps(env: dict, names: str, check: bool = True, path: str = str(ROOT)) -> subprocess.CompletedProcess:
    """Several ``python -m common <step>`` in one process (what ``make`` runs, one import of the bundle)."""
    code = "import sys\nfrom common.cli import main\nfor s in sys.argv[1:]:\n    r = main([s])\n    r and sys.exit(r)"
    full = {**os.environ, "PYTHONPATH": path, "PROGRESS": "0", **{k: str(v) for k, v in env.items()}}
    proc = subprocess.run(
        [sys.executable, "-c", code, *names.split()], env=full, capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{names} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def staged(tmp_path_factory, synth):
    """The staged Lite0 run on the 9 sample photos at BS=4 (a short last batch), per backend, and a
    function that gives a fresh WORK holding only the model files (no .bin, no info file, no runs)."""
    base = tmp_path_factory.mktemp("stream")
    env = {
        "MODEL": MODEL,
        "BS": "4",
        "DATASET": "sample",
        "SAMPLE_DIR": base / "sample",
        "WEIGHTS": synth(MODEL),
        "VERIFY": "0",
        "WORK": base / "staged",
        "WORKERS": "2",
    }
    done: dict[str, Path] = {}

    def run(backend: str) -> Path:
        if backend not in done:
            steps({**env, "BACKEND": backend}, STEPS)
            done[backend] = base / "staged" / f"{backend}-bs4"
        return done[backend]

    def fresh(name: str, src: Path = base / "staged") -> Path:
        work = base / name
        runs = ("prep_", "onnx-", "torch-", "om-")
        shutil.copytree(
            src, work, ignore=lambda d, names: [n for n in names if n.startswith(runs) or n.endswith(".info")]
        )
        return work

    return env, run, fresh


def same_run(a: Path, b: Path) -> None:
    """The same output files (names and bytes), result.json and batches."""
    fa = {f.name: f.read_bytes() for f in sorted((a / "outputs").iterdir())}
    fb = {f.name: f.read_bytes() for f in sorted((b / "outputs").iterdir())}
    assert fa.keys() == fb.keys() and fa == fb
    assert (a / "result.json").read_bytes() == (b / "result.json").read_bytes()
    sa, sb = (json.loads((d / "outputs_summary.json").read_text()) for d in (a, b))
    names = [[[Path(p).name for p in i["infiles"]] for i in d["filesinfo"].values()] for d in (sa, sb)]
    assert names[0] == names[1]


def no_bin(work: Path) -> None:
    assert not list(work.rglob("*.bin")) and not (work / "prep_dataset").exists()


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_streamed_equals_staged(staged, backend):
    env, run, fresh = staged
    ref = run(backend)
    work = fresh(f"streamed-{backend}")
    proc = steps({**env, "BACKEND": backend, "WORK": work, "STREAM": "1"}, "infer postprocess")
    assert "streamed, 2 decode workers" in proc.stdout
    same_run(ref, work / f"{backend}-bs4")
    no_bin(work)
    summary = json.loads((work / f"{backend}-bs4" / "outputs_summary.json").read_text())
    assert summary["samples"] == 9 and len(summary["filesinfo"]) == 3  # 4 + 4 + 1


def ascend_env(lineage: str) -> dict:
    return {
        "PATH": os.pathsep.join([str(FAKES / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "FAKE_AIS_LINEAGE": lineage,
        "SOC": "Ascend310P3",
        "BACKEND": "om",
    }


@pytest.mark.parametrize("lineage", ["tools2023", "msit2024"])
def test_streamed_equals_staged_ais_bench_api(staged, lineage):
    """The API feeds from the ring; on msit, ready slots go through infer_pipeline together."""
    env, run, fresh = staged
    run("onnx")  # the ONNX the OM is made from
    work = fresh(f"om-{lineage}")
    path = os.pathsep.join([str(FAKES), str(ROOT)])
    steps({**env, **ascend_env(lineage), "WORK": work}, "om " + STEPS, path=path)
    streamed = fresh(f"om-{lineage}-streamed", src=work)  # the OM, no .bin
    log = streamed / "calls.jsonl"
    slow = {"FAKE_ASCEND_LOG": log, "FAKE_AIS_EXEC_MS": "300"}  # batches 1 and 2 are decoded while 0 runs
    proc = steps(
        {**env, **ascend_env(lineage), "WORK": streamed, "STREAM": "1", **slow}, "infer postprocess", path=path
    )
    assert "streamed" in proc.stdout
    pipelined = [c["feeds"] for c in map(json.loads, log.read_text().splitlines()) if c["tool"] == "run_pipeline"]
    assert pipelined == ([2] if lineage == "msit2024" else [])  # msit: several ready slots in one call
    same_run(work / "om-bs4", streamed / "om-bs4")
    no_bin(streamed)
    summary = json.loads((streamed / "om-bs4" / "outputs_summary.json").read_text())
    assert lineage[:4] in summary["args"]["backend"] or summary["timing_source"] == "ais_bench"


def test_sigkill_then_rerun(staged):
    env, run, fresh = staged
    ref = run("onnx")
    work = fresh("killed")
    full = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", **{k: str(v) for k, v in env.items()}}
    full.update({"BACKEND": "onnx", "WORK": str(work), "STREAM": "1"})
    shm_before = set(os.listdir("/dev/shm"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "common", "infer"], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out = work / "onnx-bs4" / "outputs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list(out.glob("*_0.txt")):
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whatever the kill left: a batch with one output missing and one unreadable is redone as a whole
    got = sorted(out.glob("*_0.txt"))
    assert got, "the run wrote nothing before the kill"
    got[0].unlink()
    if len(got) > 1:
        got[1].write_bytes(b"")
    steps({**env, "BACKEND": "onnx", "WORK": work, "STREAM": "1"}, "infer postprocess")
    same_run(ref, work / "onnx-bs4")
    no_bin(work)
    # the workers notice their parent is gone (0.5 s polls) and the tracker unlinks the ring; a loaded machine
    # (or another test's ring) may take a while, so wait for the new segments to go rather than a fixed time
    left = None
    for _ in range(600):
        left = {n for n in set(os.listdir("/dev/shm")) - shm_before if n.startswith("psm_")}
        if not left:
            break
        time.sleep(0.1)
    assert not left


def test_ctrl_c_ends_quietly(staged):
    """Ctrl-C reaches the whole process group: the workers leave it to the main process, which ends them
    and says how to resume, without a traceback from any of them."""
    env, run, fresh = staged
    run("onnx")  # the model files
    work = fresh("interrupted")
    photos = sorted((Path(env["SAMPLE_DIR"]) / "val").iterdir())
    val = work / "val"  # 300 images (links to the sample photos), so that the run lasts beyond its start
    val.mkdir()
    for i in range(300):
        os.link(photos[i % len(photos)], val / f"img{i:03d}{photos[i % len(photos)].suffix}")
    full = {**os.environ, "PYTHONPATH": str(ROOT), "PROGRESS": "0", **{k: str(v) for k, v in env.items()}}
    full.update({"BACKEND": "onnx", "WORK": str(work), "STREAM": "1", "BS": "1", "DATASET": str(val)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "common", "infer"],
        env=full,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job's shell ignores it
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(children.read_text().split()) < 2:
        time.sleep(0.002)  # the resource tracker and a decode worker: the stream has started
    while proc.poll() is None and time.monotonic() < deadline:  # again until it ends: the workers ignore it
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=60)
    # 130, or killed by a second Ctrl-C that came while it was exiting (as a user pressing twice)
    assert proc.returncode in (130, -signal.SIGINT) and "interrupted: finished files are kept" in err, err
    assert "Traceback" not in err


def test_shards_stream_the_batches_of_the_whole_run(staged):
    env, run, fresh = staged
    ref = run("onnx")
    work = fresh("shards")
    names: list[set[str]] = []
    for i in range(2):
        steps({**env, "BACKEND": "onnx", "WORK": work, "STREAM": "1", "SHARD": f"{i}/2"}, "infer")
        folder = work / f"onnx-bs4-shard{i}of2" / "outputs"
        files = {f.name: f.read_bytes() for f in folder.iterdir()}
        names.append(set(files))
        assert all(files[n] == (ref / "outputs" / n).read_bytes() for n in files)
    assert [len(n) for n in names] == [4, 5]  # batch 0 | batches 1 and 2 (of 4, 4, 1)
    assert names[0] | names[1] == {f.name for f in (ref / "outputs").iterdir()}
    no_bin(work)


def test_keep_bin_writes_what_preprocess_writes(staged):
    env, run, fresh = staged
    ref = run("onnx")
    work = fresh("keep")
    steps({**env, "BACKEND": "onnx", "WORK": work, "STREAM": "1", "KEEP_BIN": "1"}, "infer postprocess")
    same_run(ref, work / "onnx-bs4")
    staged_bins = {f.name: f.read_bytes() for f in (ref.parent / "prep_dataset").glob("*.bin")}
    kept = {f.name: f.read_bytes() for f in (work / "prep_dataset").glob("*.bin")}
    assert len(kept) == 9 and kept == staged_bins
    proc = steps({**env, "BACKEND": "onnx", "WORK": work}, "preprocess info")
    assert "0 new, 0 redone (source changed), 0 removed (source gone), 9 unchanged" in proc.stdout
    assert "info: 9 lines" in proc.stdout


def test_folder_tools_refuse_stream(monkeypatch):
    from common.backends import ais_bench
    from common.backends.benchmark import BenchmarkRunner

    m = manifest.load(MODEL)
    bench = BenchmarkRunner(lambda bs: Path("x.om"), 4, m.input_shape, "0", "", {})
    with pytest.raises(BundleError, match="reads a folder of .bin files"):
        bench.stream(object())
    monkeypatch.setitem(sys.modules, "ais_bench.infer.interface", None)  # only the CLI
    om = ais_bench.AisBenchRunner(lambda bs: Path("x.om"), ["0"], 4, m.input_shape)
    with pytest.raises(BundleError, match="the ais_bench CLI reads a folder of .bin files"):
        om.stream(object())


# ------------------------------------------------------------------------- in-process, no model


class Recorder(Session):
    """Returns each row's first values and remembers the batches it ran."""

    def __init__(self, batch: int | None = None) -> None:
        self.batch, self.seen = batch, []

    def run(self, x):
        self.seen.append(x.copy())
        return [x.reshape(x.shape[0], -1)[:, :5].copy()]


def small(m: manifest.Manifest) -> manifest.Manifest:
    return dataclasses.replace(m, preprocess=dataclasses.replace(m.preprocess, resize=40, crop=32))


@pytest.fixture(scope="module")
def photos_dir(tmp_path_factory) -> Path:
    val, _ = sample.build(tmp_path_factory.mktemp("photos"))
    return val


@pytest.mark.parametrize("static", [None, 4])
def test_feed_is_the_bin_files(photos_dir, tmp_path, static):
    """The ring's batches are the .bin files' bytes, padded as the file feed pads them."""
    pre = small(manifest.load(MODEL)).preprocess
    prep = tmp_path / "prep"
    preprocess.run(photos_dir, prep, pre, workers=1, progress=False)
    images = sorted(photos_dir.iterdir(), key=lambda p: p.name)
    sources = {prep / f"{p.stem}.bin": p for p in images}
    inputs = list(sources)
    staged, streamed = Recorder(static), Recorder(static)
    runner.infer(staged, inputs, 4, tmp_path / "a", (3, 32, 32), progress=False)
    feed = StreamFeed(sources, pre, workers=2, depth=2)
    runner.infer(streamed, inputs, 4, tmp_path / "b", (3, 32, 32), progress=False, feed=feed)
    assert len(streamed.seen) == 3 and [x.shape[0] for x in streamed.seen] == ([4, 4, 4] if static else [4, 4, 1])
    assert all(a.tobytes() == b.tobytes() for a, b in zip(staged.seen, streamed.seen, strict=True))
    assert feed.taken == 3 and "bound" in feed.status()


def test_bad_image_is_named_and_its_batch_skipped(photos_dir, tmp_path):
    pre = small(manifest.load(MODEL)).preprocess
    images = sorted(photos_dir.iterdir(), key=lambda p: p.name)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    images[5] = bad
    sources = {tmp_path / "prep" / f"{p.stem}.bin": p for p in images}
    rec = Recorder()
    feed = StreamFeed(sources, pre, workers=2, depth=2)
    runner.infer(rec, list(sources), 4, tmp_path / "out", (3, 32, 32), progress=False, feed=feed)
    assert len(rec.seen) == 2 and len(feed.errors) == 1 and "broken.jpg" in feed.errors[0]
    from common import stream

    with pytest.raises(BundleError, match="broken.jpg: cannot read this image"):
        stream.check(feed)


def test_staged_resume_cuts_the_batches_of_a_fresh_run(tmp_path):
    """A resumed run redoes whole batches of the list cut from index 0, never re-cut leftovers."""
    rng = np.random.default_rng(0)
    inputs = []
    for i in range(9):
        p = tmp_path / f"img{i}.bin"
        rng.standard_normal((3, 8, 8), dtype=np.float32).tofile(p)
        inputs.append(p)
    out = tmp_path / "out"
    runner.infer(Recorder(), inputs, 4, out, (3, 8, 8), progress=False)
    (out / "img2_0.txt").unlink()  # batch 0: a missing output
    (out / "img5_0.txt").write_text("")  # batch 1: an unreadable one
    again = Recorder()
    summary = runner.infer(again, inputs, 4, out, (3, 8, 8), progress=False)
    infiles = [[Path(p).name for p in i["infiles"]] for i in summary["filesinfo"].values()]
    assert infiles == [[f"img{i}.bin" for i in range(4)], [f"img{i}.bin" for i in range(4, 8)]]
    assert summary["samples_run"] == 8 and len(list(out.glob("*_0.txt"))) == 9
    assert outputs.valid(out / "img5_0.txt")


def test_workers_and_pieces():
    assert default_workers(device=True, cores=2) == 2 and default_workers(device=False, cores=2) == 1
    assert default_workers(device=False, cores=1) == 1
    assert pieces(9, 2) == [(0, 4), (4, 9)] and pieces(1, 4) == [(0, 1)]


def test_preprocess_record_is_written_o_n_per_run(tmp_path, monkeypatch):
    """The record lists every image: rewriting it every 5 s made a run's writes grow as n x duration;
    now it is rewritten when it has doubled, so a long run writes it a logarithmic number of times."""
    from PIL import Image

    src = tmp_path / "val"
    src.mkdir()
    for i in range(64):
        Image.new("RGB", (40, 30), (i, 2 * i, 3 * i)).save(src / f"img{i:03d}.png")
    clock = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later
    monkeypatch.setattr(preprocess.time, "monotonic", lambda: next(clock))
    writes = []
    real = preprocess._write_record
    monkeypatch.setattr(
        preprocess, "_write_record", lambda rec, images: (writes.append(len(images)), real(rec, images))
    )
    pre = small(manifest.load(MODEL)).preprocess
    preprocess.run(src, tmp_path / "prep", pre, workers=1, progress=False, record=tmp_path / "rec.json")
    assert writes[-1] == 64 and len(writes) <= 8
    assert len(json.loads((tmp_path / "rec.json").read_text())["images"]) == 64


def test_report_labels_the_streamed_figure_end_to_end():
    from common import report

    summary = {"throughput": 80.0, "timing_source": "host", "pipeline_throughput": 50.0, "samples_run": 9}
    summary["stream"] = {"workers": 2, "ring": 4, "batches": 3, "decode_waits": 3}
    line = report._pipeline_line(summary, {"rows": [{"bs": 4, "samples_per_s": 100.0}]}, 4)
    assert "end to end, streamed from the images over 9 samples (2 decode workers" in line
    assert "decode-bound): 50.00 samples/s, 50 % of the sweep's bs 4 figure" in line


def test_make_all_streams(staged):
    """STREAM=1 make all: no preprocess or info step, the same result, the report's end-to-end figure."""
    env, run, fresh = staged
    ref = run("onnx")
    work = fresh("all")
    labels = {"LABELS": Path(env["SAMPLE_DIR"]) / "val_label.txt"}
    extra = {"BACKEND": "onnx", "WORK": work, "STREAM": "1", "PERF_BS": "4", "PERF_SECONDS": "0.1", **labels}
    proc = steps({**env, **extra}, "all")
    assert "preprocess:" not in proc.stdout and "info:" not in proc.stdout
    same_run(ref, work / "onnx-bs4")
    no_bin(work)
    report = (work / "onnx-bs4" / "report.md").read_text()
    assert "end to end, streamed from the images over 9 samples (2 decode workers, ring of 4" in report


def test_streamed_dynamic_batch_om_through_infer_pipeline(staged):
    """A dynamic-batch OM on msit: ready slots padded to the gear go through infer_pipeline together (its
    mode set from the last feed list); the outputs are ONNX Runtime's staged ones (the stand-in computes
    with it)."""
    env, run, fresh = staged
    ref = run("onnx")
    work = fresh("om-dynamic")
    path = os.pathsep.join([str(FAKES), str(ROOT)])
    log = work / "calls.jsonl"
    extra = {**ascend_env("msit2024"), "WORK": work, "DYNAMIC_BATCH": "1,4", "FAKE_ASCEND_LOG": log}
    proc = steps({**env, **extra, "STREAM": "1", "FAKE_AIS_EXEC_MS": "300"}, "om infer postprocess", path=path)
    assert "streamed" in proc.stdout
    ours = {f.name: f.read_bytes() for f in (work / "om-bs4" / "outputs").iterdir()}
    assert ours == {f.name: f.read_bytes() for f in (ref / "outputs").iterdir()}
    assert (work / "om-bs4" / "result.json").read_bytes() == (ref / "result.json").read_bytes()
    calls = [json.loads(c) for c in log.read_text().splitlines()]
    assert [c["feeds"] for c in calls if c["tool"] == "run_pipeline"] == [2]
    no_bin(work)


def test_a_ring_larger_than_dev_shm_is_one_line_before_any_worker(tmp_path, monkeypatch):
    """A container's /dev/shm is 64 MB by default: a ring that does not fit killed a worker with SIGBUS
    halfway through (found by make image-test); now it is refused up front, naming RING, BS and the fix."""
    from common import stream

    class Small:
        f_bavail, f_frsize = 16, 4096  # 64 KB free

    monkeypatch.setattr(stream.os, "statvfs", lambda where: Small)
    with pytest.raises(BundleError, match=r"RING=2 batches of BS=4 needs .* --shm-size"):
        stream.check_room(2 * 4 * 3 * 224 * 224 * 4, 2, 4)
    stream.check_room(1000, 2, 4)  # what fits is let through
