"""The Ascend steps the CLI calls: ONNX -> OM (ATC), inference and throughput with ais_bench (API or
CLI, one or several NPUs), and the legacy benchmark tool. Output files match the ONNX Runtime path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from common import atomic, outputs, runner
from common.atc import convert
from common.backends import ais_bench as ab
from common.errors import BundleError
from common.manifest import Manifest

PERF_SOURCE = "ais_bench (NPU compute time)"


om_step = convert  # ONNX -> OM: reuse a fresh OM, else ATC (SOC from ``npu-smi info`` when not given)


def _devices(devices: Sequence[str] | str) -> list[str]:
    items = devices.split(",") if isinstance(devices, str) else [str(d) for d in devices]
    items = [d.strip() for d in items if d.strip()]
    if not items or not all(d.isdigit() for d in items) or len(set(items)) != len(items):
        raise BundleError(f"DEVICE={devices!r}: expected NPU ids like 0 or 0,1")
    return items


def api_available() -> bool:
    """True when ``ais_bench.infer.interface`` imports here (it needs aclruntime and the CANN libraries)."""
    try:
        from ais_bench.infer.interface import InferSession  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _shards(items: list[Path], bs: int, n: int) -> list[list[Path]]:
    """Contiguous shards on whole batches, so only each shard's last batch can be padded."""
    batches = [items[i : i + bs] for i in range(0, len(items), bs)]
    per, rest = divmod(len(batches), n)
    out, start = [], 0
    for k in range(n):
        end = start + per + (k < rest)
        out.append([p for b in batches[start:end] for p in b])
        start = end
    return out


def _parallel(jobs: dict[str, Callable[[], dict]]) -> dict[str, dict]:
    """Run one job per device in threads; re-raise the first error after all have finished."""
    results, errors = {}, []

    def call(dev, fn):
        try:
            results[dev] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _collect(src: Path, out_dir: Path) -> dict[str, str]:
    """Move a shard's output files into ``out_dir``; {old path: new path}."""
    moved = {}
    for f in sorted(src.iterdir()) if src.is_dir() else []:
        if f.is_file() and not f.name.startswith("."):
            os.replace(f, out_dir / f.name)
            moved[str(f)] = str(out_dir / f.name)
    return moved


def _merge(
    parts: dict[str, dict],
    moved: dict[str, str],
    bs: int,
    outfmt: str,
    args: dict,
    samples: int,
    skipped: int,
) -> dict:
    """One summary with common/runner.py's keys from the per-device ones; throughput = sum over devices."""
    times, filesinfo, per_device = [], {}, {}
    for dev, s in parts.items():
        times += s.get("npu_compute_time_list", [])
        per_device[dev] = s.get("throughput", 0.0)
        for info in s.get("filesinfo", {}).values():
            filesinfo[len(filesinfo)] = {
                "infiles": info["infiles"],
                "outfiles": [moved.get(p, p) for p in info["outfiles"]],
            }
    return {
        "filesinfo": filesinfo,
        "args": {"batchsize": bs, "outfmt": outfmt, **args},
        "NPU_compute_time": runner.stats(times),
        "H2D_latency": runner.stats([]),
        "D2H_latency": runner.stats([]),
        "throughput": float(sum(per_device.values())),
        "npu_compute_time_list": times,
        "pid": os.getpid(),
        "samples": samples,
        "skipped": skipped,
        "timing_source": "ais_bench",
        "throughput_per_device": per_device,
    }


def _api_shard(
    m: Manifest, om: Path, dev: str, shard: list[Path], bs: int, folder: Path, outfmt: str, progress: bool, args: dict
) -> dict:
    from common.backends.ais_bench import AisBenchBackend

    backend = AisBenchBackend(om, device=dev)
    try:
        return runner.infer(backend, shard, bs, folder, m.input_shape, outfmt, progress, {**args, "device": dev})
    finally:
        backend.close()


def _cli_shard(m: Manifest, om: Path, dev: str, shard: list[Path], bs: int, tmp: Path, outfmt: str) -> dict:
    inp = tmp / "in"
    inp.mkdir(parents=True)
    for p in shard:
        os.symlink(p.resolve(), inp / p.name)
    extra = ["--dymBatch", str(bs)] if om.stem == m.om_name("dyn") else []
    summary = ab.run_cli(om, inp, tmp / "out", f"dev{dev}", bs, outfmt, dev, extra)
    data = json.loads(summary.read_text(encoding="utf-8"))
    origin = {str(inp / p.name): str(p) for p in shard}
    for info in data.get("filesinfo", {}).values():
        info["infiles"] = [origin.get(p, p) for p in info["infiles"]]
    return data


def infer_om(
    m: Manifest,
    om_path: Path | str,
    inputs: list[Path],
    bs: int,
    out_dir: Path | str,
    outfmt: str = "TXT",
    devices: Sequence[str] | str = ("0",),
    progress: bool = True,
) -> dict:
    """Infer ``inputs`` with the OM into ``out_dir`` (ais_bench layout) and write ``<out_dir>_summary.json``.

    Uses the ais_bench API when it imports, else the CLI. Several devices get contiguous shards, run in
    parallel; the merged summary's throughput is the sum of the per-device figures.
    """
    om, out_dir, devs = Path(om_path), Path(out_dir), _devices(devices)
    if not om.is_file():
        raise BundleError(f"{om}: no OM model (run `make om` first)")
    inputs = [Path(p) for p in inputs]
    if len({p.stem for p in inputs}) != len(inputs):
        raise BundleError("two input files share a name: their outputs would collide")
    args = {"model": m.name, "om": str(om), "devices": ",".join(devs)}
    api = api_available()
    if api and len(devs) == 1:
        return _api_shard(m, om, devs[0], inputs, bs, out_dir, outfmt, progress, args)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = set(outputs.scan(out_dir))
    todo = [p for p in inputs if p.stem not in done]
    shards = {d: s for d, s in zip(devs, _shards(todo, bs, len(devs)), strict=True) if s}
    tmp = Path(tempfile.mkdtemp(prefix=".shards.", dir=out_dir))
    jobs, folders = {}, {}
    for d, shard in shards.items():
        if api:
            folders[d] = tmp / f"dev{d}"
            jobs[d] = partial(_api_shard, m, om, d, shard, bs, folders[d], outfmt, progress and d == devs[0], args)
        else:
            folders[d] = tmp / f"cli{d}" / "out" / f"dev{d}"
            jobs[d] = partial(_cli_shard, m, om, d, shard, bs, tmp / f"cli{d}", outfmt)
    moved: dict[str, str] = {}
    try:
        parts = _parallel(jobs)
    finally:  # what finished is kept (a re-run resumes from it)
        for folder in folders.values():
            moved.update(_collect(folder, out_dir))
        shutil.rmtree(tmp, ignore_errors=True)
    summary = _merge(
        parts,
        moved,
        bs,
        outfmt,
        {**args, "backend": "ais_bench " + ("API" if api else "CLI")},
        len(inputs),
        len(inputs) - len(todo),
    )
    atomic.write_text(out_dir.parent / f"{out_dir.name}_summary.json", json.dumps(summary))
    return summary


def perf_om(m: Manifest, om_path: Path | str, bs: int, device: str = "0", loop: int = 100) -> dict:
    """Pure-inference throughput: ``python3 -m ais_bench --model x.om --loop N --batchsize BS``."""
    om = Path(om_path)
    if not om.is_file():
        raise BundleError(f"{om}: no OM model (run `make om` first)")
    with tempfile.TemporaryDirectory(prefix="ais_perf.") as tmp:
        args = [
            "--model",
            str(om),
            "--loop",
            str(loop),
            "--batchsize",
            str(bs),
            "--device",
            str(device),
            "--output",
            tmp,
            "--output_dirname",
            "perf",
        ]
        if om.stem == m.om_name("dyn"):
            args += ["--dymBatch", str(bs)]
        console = ab.run_ais_bench(args)
        summary = Path(tmp) / "perf_summary.json"
        data = json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else {}
    throughput = ab.parse_throughput(console) or data.get("throughput")
    if not throughput:
        raise BundleError("ais_bench printed no `[INFO] throughput` line")
    return {
        "throughput": float(throughput),
        "latency_ms": [float(t) for t in data.get("npu_compute_time_list", [])],
        "source": PERF_SOURCE,
        "bs": bs,
        "device": str(device),
        "loop": loop,
    }


def find_benchmark() -> str:
    """The legacy tool: $BENCHMARK_TOOL, else ``benchmark.<uname -m>`` on PATH or in the current folder."""
    env = os.environ.get("BENCHMARK_TOOL")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise BundleError(f"BENCHMARK_TOOL={env}: not an executable file")
        return str(Path(env).resolve())
    name = f"benchmark.{os.uname().machine}"
    here = Path.cwd() / name
    found = shutil.which(name) or (str(here) if here.is_file() and os.access(here, os.X_OK) else None)
    if not found:
        raise BundleError(
            f"{name} not found: put it on PATH or in the current folder, or set BENCHMARK_TOOL "
            "(the CANN 5.0 benchmark tool; BACKEND=om uses ais_bench instead)"
        )
    return found


def _run_tool(cmd: list[str], cwd: Path) -> None:
    with (cwd / "benchmark.log").open("w", encoding="utf-8") as f:
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        lines = (cwd / "benchmark.log").read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise BundleError(
            f"{Path(cmd[0]).name} failed (exit {proc.returncode}):\n" + "\n".join("  " + s for s in lines)
        )


def parse_perf_vision(text: str) -> dict[str, dict[str, float]]:
    """``[infer] throughputRate: a, Interface throughputRate: X, moduleLatency: b`` -> {"infer": {...}}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\[([^\]]+)\]\s*(.*)$", line.strip())
        if m:
            out[m[1]] = {k.strip(): float(v) for k, v in re.findall(r"([A-Za-z ]+):\s*([0-9.eE+-]+)", m[2])}
    if "Interface throughputRate" not in out.get("infer", {}):
        raise BundleError("the benchmark perf file has no `[infer] ... Interface throughputRate` line")
    return out


def _absolute_info(info_file: Path, target: Path) -> int:
    """Copy the info file with absolute paths (the tool runs in another folder); returns the line count."""
    lines = []
    for line in Path(info_file).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            path = Path(" ".join(parts[1:-2]))
            lines.append(f"{parts[0]} {path.resolve()} {parts[-2]} {parts[-1]}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def infer_benchmark(
    m: Manifest, om_path: Path | str, info_file: Path | str, bs: int, out_dir: Path | str, device: str = "0"
) -> dict:
    """BACKEND=benchmark: the legacy tool over the info file; outputs keep its ``_1`` names."""
    tool, out_dir, om = find_benchmark(), Path(out_dir), Path(om_path).resolve()
    if not om.is_file():
        raise BundleError(f"{om}: no OM model (run `make om` first)")
    work = out_dir.parent / f".benchmark_{out_dir.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    n = _absolute_info(Path(info_file), work / "input.info")
    _run_tool(
        [
            tool,
            "-model_type=vision",
            f"-device_id={device}",
            f"-batch_size={bs}",
            f"-om_path={om}",
            f"-input_text_path={work / 'input.info'}",
            f"-input_width={m.width}",
            f"-input_height={m.height}",
            "-output_binary=False",
            "-useDvpp=False",
        ],
        work,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted((work / "result" / f"dumpOutput_device{device}").glob("*_1.*")):
        os.replace(f, out_dir / f.name)
    perf = parse_perf_vision((work / "result" / f"perf_vision_batchsize_{bs}_device_{device}.txt").read_text())
    x = perf["infer"]["Interface throughputRate"]
    summary = {
        "filesinfo": {},
        "args": {
            "batchsize": bs,
            "outfmt": "TXT",
            "backend": Path(tool).name,
            "model": m.name,
            "om": str(om),
            "device": str(device),
        },
        "NPU_compute_time": runner.stats([]),
        "H2D_latency": runner.stats([]),
        "D2H_latency": runner.stats([]),
        "throughput": x,
        "throughput_310_card_x4": 4 * x,
        "npu_compute_time_list": [],
        "pid": os.getpid(),
        "samples": n,
        "skipped": 0,
        "timing_source": "benchmark Interface throughputRate (per chip)",
        "perf_vision": perf,
    }
    atomic.write_text(out_dir.parent / f"{out_dir.name}_summary.json", json.dumps(summary))
    shutil.rmtree(work, ignore_errors=True)
    return summary


_PURE = re.compile(r"ave_throughputRate\s*[=:]\s*([0-9.eE+-]+)\s*samples/s,\s*ave_latency\s*[=:]\s*([0-9.eE+-]+)\s*ms")


def perf_benchmark(om_path: Path | str, bs: int, device: str = "0", rounds: int = 20) -> dict:
    """Pure-inference throughput with the legacy tool (``-round=20``), from its PureInfer_perf file."""
    tool, om = find_benchmark(), Path(om_path).resolve()
    if not om.is_file():
        raise BundleError(f"{om}: no OM model (run `make om` first)")
    with tempfile.TemporaryDirectory(prefix="benchmark_perf.") as tmp:
        _run_tool([tool, f"-round={rounds}", f"-om_path={om}", f"-device_id={device}", f"-batch_size={bs}"], Path(tmp))
        path = Path(tmp) / "result" / f"PureInfer_perf_of_{om.stem}_in_device_{device}.txt"
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    found = _PURE.search(text)
    if not found:
        raise BundleError(f"{Path(tool).name} wrote no readable PureInfer_perf_of_{om.stem}_in_device_{device}.txt")
    x = float(found[1])
    return {
        "throughput": x,
        "throughput_310_card_x4": 4 * x,
        "latency_ms": [float(found[2])],
        "source": f"benchmark pure inference (-round={rounds})",
        "bs": bs,
        "device": str(device),
    }
