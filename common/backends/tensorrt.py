"""TensorRT through ONNX Runtime's TensorRT execution provider (``PROVIDER=tensorrt``): fp16 engines
with a static shape per batch size, built once and cached in ``<WORK>/trt-cache/`` under a key of
everything an engine is only valid for, IO binding so that host copies are not timed as compute, and
the guides' own T4 method (``trtexec --fp16 --shapes=...``, samples/s = 1000 * bs / GPU-compute mean ms)
when ``trtexec`` is on PATH.

Nothing here imports onnxruntime, tensorrt or CUDA at module level, and everything but the session
itself is plain logic (tests/test_tensorrt.py runs it without a GPU, the session against a fake of
ONNX Runtime's TensorRT provider and IO binding). Where TensorRT or a GPU is missing, the step stops
with one line saying which.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import statistics
import subprocess
from pathlib import Path

from .. import atomic
from ..backends import Session
from ..errors import BundleError, first_line
from .runner import SessionRunner

TRT = "TensorrtExecutionProvider"
HINT = "see the README, 'TensorRT on an NVIDIA GPU'"
# how perf rows of this backend are measured: like the guides' T4 column (trtexec fp16 GPU Compute mean)
METHOD = (
    "fp16 TensorRT engine, static shape per bs; input copied to the GPU and outputs bound there before "
    "timing (IO binding), so host copies are not timed; samples/s = bs / mean latency of timed runs "
    "(the guides' T4 column: trtexec --fp16, 1000 * bs / GPU Compute mean ms)"
)
TRTEXEC_METHOD = "trtexec --fp16 --shapes=<input>:<bs>x...: 1000 * bs / GPU Compute mean ms (the guides' way)"
WORKSPACE = 4 << 30  # bytes of builder workspace
OPT_LEVEL = 3  # TensorRT builder optimisation level (its default)


# ---------------------------------------------------------------------------------- plain logic
def shape_str(name: str, bs: int, chw) -> str:
    """``image:8x3x224x224``: what trtexec ``--shapes`` and ORT ``trt_profile_*_shapes`` take."""
    return f"{name}:{bs}x" + "x".join(str(int(d)) for d in chw)


def cache_key(
    onnx_md5: str,
    profile: tuple[int, int, int],
    fp16: bool,
    trt_version: str,
    gpu: str,
    compute_cap: str = "",
    ort_version: str = "",
    builder: tuple = (WORKSPACE, OPT_LEVEL),
) -> str:
    """What an engine is valid for (ONNX content, batch profile, precision, TensorRT and ONNX Runtime
    versions, GPU model and compute capability, builder options), hashed: any change gives another
    cache folder, so a stale engine is never loaded."""
    blob = json.dumps(
        {
            "onnx_md5": onnx_md5,
            "profile": [int(b) for b in profile],
            "fp16": bool(fp16),
            "tensorrt": trt_version,
            "onnxruntime": ort_version,
            "gpu": gpu.strip(),
            "compute_capability": compute_cap.strip(),
            "builder": list(builder),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def engine_dir(
    cache_root: Path,
    onnx: Path,
    bs: int,
    fp16: bool,
    trt_version: str,
    gpu: tuple[str, str],
    ort_version: str,
    md5=None,
) -> Path:
    """``<cache_root>/<onnx stem>-bs<bs>-<key>``: where the engines (ONNX Runtime's and trtexec's) and the
    timing cache for this model, batch size, precision, library versions and GPU live."""
    if md5 is None:
        from ..weights import cached_md5 as md5
    key = cache_key(md5(onnx), (bs, bs, bs), fp16, trt_version, gpu[0], gpu[1], ort_version)
    return Path(cache_root) / f"{Path(onnx).stem}-bs{bs}-{key}"


def provider_options(
    device_id: int,
    cache: Path,
    input_name: str,
    chw,
    profile: tuple[int, int, int] | None,
    fp16: bool = True,
) -> list:
    """``providers=`` for ``onnxruntime.InferenceSession``: TensorRT (fp16, engine and timing cache in
    ``cache``, and for a dynamic-batch ONNX an explicit (min, opt, max) batch profile, which ORT also
    compares with the cached one), then CUDA and CPU for any node TensorRT does not take. Booleans as
    bools, sizes as ints, shapes as strings, as ORT's documentation gives them."""
    trt = {
        "device_id": int(device_id),
        "trt_fp16_enable": bool(fp16),
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache),
        "trt_max_workspace_size": WORKSPACE,
        "trt_builder_optimization_level": OPT_LEVEL,
    }
    if profile is not None:
        lo, opt, hi = profile
        trt["trt_profile_min_shapes"] = shape_str(input_name, lo, chw)
        trt["trt_profile_opt_shapes"] = shape_str(input_name, opt, chw)
        trt["trt_profile_max_shapes"] = shape_str(input_name, hi, chw)
    return [(TRT, trt), ("CUDAExecutionProvider", {"device_id": int(device_id)}), "CPUExecutionProvider"]


def trtexec_cmd(
    onnx: Path,
    input_name: str,
    bs: int,
    chw,
    fp16: bool = True,
    engine: Path | None = None,
    timing_cache: Path | None = None,
    trtexec: str = "trtexec",
) -> list[str]:
    """The guides' T4 measurement, ``trtexec --onnx=M --fp16 --shapes=image:BSx3xHxW``, keeping the
    engine and timing cache so that a re-run does not rebuild (an argument list: never run by a shell)."""
    cmd = [trtexec, f"--onnx={onnx}", f"--shapes={shape_str(input_name, bs, chw)}"]
    if fp16:
        cmd.append("--fp16")
    if engine is not None:
        cmd.append(f"--saveEngine={engine}")
    if timing_cache is not None:
        cmd.append(f"--timingCacheFile={timing_cache}")
    return cmd


_NUM = r"([0-9.]+(?:[eE][-+]?\d+)?)"
_GPU_NEW = re.compile(
    r"GPU Compute Time: min = " + _NUM + r" ms, max = " + _NUM + r" ms, mean = " + _NUM + r" ms, median = " + _NUM
)
_QPS = re.compile(r"Throughput: " + _NUM + r" qps")


def parse_trtexec(log: str) -> dict:
    """``gpu_mean_ms``, ``gpu_median_ms`` and ``qps`` from trtexec's performance summary: TensorRT 8+
    prints ``GPU Compute Time: min = a ms, max = b ms, mean = c ms, median = d ms, ...``; TensorRT 7
    (the guides' 7.2.3.4) prints a ``GPU Compute`` header, then ``mean: c ms`` and ``median: d ms``."""
    out: dict = {}
    m = _GPU_NEW.search(log)
    if m:
        out["gpu_mean_ms"], out["gpu_median_ms"] = float(m[3]), float(m[4])
    else:
        at = log.find("GPU Compute")
        if at >= 0:
            tail = log[at : at + 600]
            mean, median = re.search(r"mean: " + _NUM + " ms", tail), re.search(r"median: " + _NUM + " ms", tail)
            if mean:
                out["gpu_mean_ms"] = float(mean[1])
            if median:
                out["gpu_median_ms"] = float(median[1])
    q = _QPS.search(log)
    if q:
        out["qps"] = float(q[1])
    return out


def samples_per_s(parsed: dict, bs: int) -> float:
    """The guides' figure: 1000 * bs / mean GPU compute ms (host copies excluded)."""
    return 1000.0 * bs / parsed["gpu_mean_ms"]


def parse_gpu(csv: str) -> tuple[str, str]:
    """(name, compute capability) from ``nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader``."""
    lines = [ln for ln in csv.strip().splitlines() if ln.strip()]
    if not lines:
        return "", ""
    name, _, cc = lines[0].rpartition(",")
    if not name:  # only the name was asked for (an old driver without compute_cap)
        return cc.strip(), ""
    return name.strip(), cc.strip()


def version_of(number: int) -> str:
    """``getInferLibVersion()`` as text: 100900 -> 10.9.0 (TensorRT 10+), 8601 -> 8.6.1 (TensorRT 8)."""
    if number >= 10000:
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


# ---------------------------------------------------------------------------------- this machine
def gpu(device: str = "0", run=subprocess.run) -> tuple[str, str]:
    """(name, compute capability) of GPU ``device``; BundleError in one line when there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise BundleError(f"PROVIDER=tensorrt: no NVIDIA GPU here (nvidia-smi is not on PATH); {HINT}")
    for fields in ("name,compute_cap", "name"):
        try:
            proc = run(
                [smi, f"--query-gpu={fields}", "--format=csv,noheader", "-i", str(device)],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and proc.stdout.strip():
            return parse_gpu(proc.stdout)
    raise BundleError(f"PROVIDER=tensorrt: nvidia-smi lists no GPU {device}; {HINT}")


def tensorrt_version() -> str | None:
    """TensorRT's version: the ``tensorrt`` Python module's (importing it also loads the libraries of
    NVIDIA's pip wheels, which ONNX Runtime then finds), else ``getInferLibVersion()`` of libnvinfer."""
    try:
        import tensorrt

        return str(tensorrt.__version__)
    except Exception:  # noqa: BLE001 - not installed, or its libraries do not load
        pass
    import ctypes

    for soname in ("libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so"):
        try:
            lib = ctypes.CDLL(soname)
            return version_of(int(lib.getInferLibVersion()))
        except (OSError, AttributeError):
            continue
    return None


def require(ort, device: str = "0", gpu_info=None, trt_version=None) -> tuple[tuple[str, str], str]:
    """Check that TensorRT can run here, before any work: ONNX Runtime has the provider, there is a GPU,
    TensorRT is installed. Returns ((GPU name, compute capability), TensorRT version); else one line."""
    if TRT not in ort.get_available_providers():
        raise BundleError(
            f"PROVIDER=tensorrt: this ONNX Runtime ({ort.__version__}, {', '.join(ort.get_available_providers())}) "
            f"has no TensorRT provider: install onnxruntime-gpu and TensorRT; {HINT}"
        )
    found = gpu_info() if gpu_info else gpu(device)
    version = trt_version() if trt_version else tensorrt_version()
    if not version:
        raise BundleError(
            "PROVIDER=tensorrt: TensorRT is not installed (no tensorrt module, no libnvinfer.so.10 on the "
            f"library path); {HINT}"
        )
    return found, version


# ---------------------------------------------------------------------------------- the session
class TensorrtSession(Session):
    """An fp16 TensorRT engine for one batch size (``batch = bs``: the runner pads the last batch),
    through ONNX Runtime with IO binding. ``ort`` (the onnxruntime module), ``gpu_info`` and
    ``trt_version`` can be given (tests give fakes)."""

    name = "tensorrt"

    def __init__(
        self,
        model_path: Path,
        bs: int,
        cache_root: Path,
        input_shape,
        input_name: str,
        dynamic: bool = True,
        device: str = "0",
        fp16: bool = True,
        ort=None,
        gpu_info=None,
        trt_version=None,
        md5=None,
    ) -> None:
        if ort is None:
            import onnxruntime as ort
        self.ort, self.device_id, self.fp16 = ort, int(device), fp16
        path = Path(model_path)
        if not path.is_file():
            raise BundleError(f"{path}: no ONNX model (run `make onnx` first)")
        (self.gpu_name, self.compute_cap), self.trt_version = require(ort, device, gpu_info, trt_version)
        chw = tuple(int(d) for d in input_shape)
        gpu_id = (self.gpu_name, self.compute_cap)
        self.cache = engine_dir(cache_root, path, bs, fp16, self.trt_version, gpu_id, ort.__version__, md5)
        self.cache.mkdir(parents=True, exist_ok=True)
        about = {
            "onnx": str(path),
            "bs": bs,
            "fp16": fp16,
            "tensorrt": self.trt_version,
            "onnxruntime": ort.__version__,
            "gpu": self.gpu_name,
            "compute_capability": self.compute_cap,
        }
        atomic.write_text(self.cache / "key.json", json.dumps(about, indent=1) + "\n")  # never through a link
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        profile = (bs, bs, bs) if dynamic else None  # min = opt = max: the static shape trtexec --shapes builds
        self.providers_requested = provider_options(self.device_id, self.cache, input_name, chw, profile, fp16)
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=self.providers_requested)
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
            raise BundleError(f"{path}: ONNX Runtime's TensorRT provider cannot load it ({first_line(exc)})") from None
        got = self.session.get_providers()
        if not got or got[0] != TRT:
            raise BundleError(
                f"PROVIDER=tensorrt: ONNX Runtime could not start TensorRT (it fell back to {', '.join(got)}): "
                f"are libnvinfer and the CUDA libraries on the library path? {HINT}"
            )
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.batch = bs

    def _binding(self):
        io = self.session.io_binding()
        for name in self.output_names:
            io.bind_output(name, "cuda", self.device_id)
        return io

    def run(self, batch):
        """Infer one batch: copied to the GPU, outputs copied back (what ``make infer`` needs)."""
        io = self._binding()
        io.bind_cpu_input(self.input_name, batch)
        self.session.run_with_iobinding(io)
        return io.copy_outputs_to_cpu()

    def timed(self, batch):
        """What perf times: the batch is put on the GPU and the outputs bound there first, so a call is
        the engine's compute (plus its launch) only."""
        x = self.ort.OrtValue.ortvalue_from_numpy(batch, "cuda", self.device_id)  # host-to-device, not timed
        io = self._binding()
        io.bind_ortvalue_input(self.input_name, x)
        io.synchronize_inputs()

        def call(_x=x):
            self.session.run_with_iobinding(io)
            io.synchronize_outputs()

        return call

    def perf_row(self, bs: int, times_ms: list[float]):
        from .. import perf

        mean = statistics.fmean(times_ms)
        return perf.row(bs, times_ms, self.describe(), METHOD, samples_per_s=1000.0 * bs / mean)

    def describe(self) -> str:
        cc = f", compute capability {self.compute_cap}" if self.compute_cap else ""
        return (
            f"ONNX Runtime {self.ort.__version__} TensorRT {self.trt_version} "
            f"{'fp16' if self.fp16 else 'fp32'} on {self.gpu_name}{cc}"
        )

    def close(self) -> None:
        self.session = None


# ---------------------------------------------------------------------------------- checks, trtexec
def top1_agreement(trt_session: Session, reference: Session, images: dict, bs: int) -> dict:
    """Top-1 of the fp16 engine against the fp32 reference on ``images`` ({name: CHW array}), run in
    batches of ``bs`` (zero-padded, as the engine's shape is static)."""
    import numpy as np

    names = sorted(images)
    x = np.stack([images[n] for n in names]).astype(np.float32)
    got, want = [], []
    for i in range(0, len(names), bs):
        part = x[i : i + bs]
        pad = part
        if len(part) < bs:
            pad = np.concatenate([part, np.zeros((bs - len(part), *part.shape[1:]), np.float32)])
        got.append(np.asarray(trt_session.run(pad)[0])[: len(part)])
        ref_in = pad if reference.batch is not None else part
        want.append(np.asarray(reference.run(ref_in)[0])[: len(part)])
    a, b = np.concatenate(got).reshape(len(names), -1), np.concatenate(want).reshape(len(names), -1)
    agree = int((a.argmax(1) == b.argmax(1)).sum())
    return {
        "photos": len(names),
        "top1_agree": agree,
        "fraction": agree / len(names),
        "max_abs_diff": float(np.abs(a.astype(np.float64) - b).max()),
        "reference": reference.describe(),
        "goal": 0.995,
        "ok": agree / len(names) >= 0.995,
    }


def trtexec_perf(onnx: Path, input_name: str, bs: int, chw, cache: Path, run=subprocess.run) -> dict | None:
    """The guides' trtexec measurement for ``bs`` when ``trtexec`` is on PATH (None when it is not)."""
    exe = shutil.which("trtexec")
    if exe is None:
        return None
    cache.mkdir(parents=True, exist_ok=True)
    cmd = trtexec_cmd(onnx, input_name, bs, chw, True, cache / f"trtexec-bs{bs}.plan", cache / "trtexec.timing", exe)
    proc = run(cmd, capture_output=True, text=True, timeout=3600)
    parsed = parse_trtexec(proc.stdout + proc.stderr)
    if proc.returncode != 0 or "gpu_mean_ms" not in parsed:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"trtexec failed for bs {bs} (exit {proc.returncode}): {tail[0][:200]}")
    return {"bs": bs, "samples_per_s": samples_per_s(parsed, bs), **parsed, "cmd": cmd, "method": TRTEXEC_METHOD}


class TensorrtRunner(SessionRunner):
    """The in-process runner with TensorRT sessions; its record holds the device, the fp16-vs-fp32
    top-1 agreement on the parity photos and, where trtexec is installed, the guides' trtexec figures."""

    def __init__(self, open_session, bs, input_shape, *, reference, photos, trtexec=None, **kw) -> None:
        super().__init__(open_session, bs, input_shape, **kw)
        self.reference, self.photos, self.trtexec = reference, photos, trtexec
        self._trtexec: list[dict] = []
        self.name = "tensorrt"

    def _perf(self, bs: int):
        row = super()._perf(bs)
        if self.trtexec is not None:
            found = self.trtexec(bs)
            if found:
                self._trtexec.append(found)
        return row

    def record(self) -> dict:
        s = self.session(self.bs)
        with self.reference() as ref:
            agreement = top1_agreement(s, ref, self.photos(), self.bs)
        notes = [
            f"fp16 engine vs fp32 ({agreement['reference']}): top-1 agrees on {agreement['top1_agree']}/"
            f"{agreement['photos']} parity photos (goal >= 99.5 %: {'met' if agreement['ok'] else 'NOT met'}), "
            f"max abs logit difference {agreement['max_abs_diff']:.3g}."
        ]
        if self._trtexec:
            notes.append(
                "trtexec (the guides' tool and method): "
                + ", ".join(f"bs {r['bs']}: {r['samples_per_s']:.1f} samples/s" for r in self._trtexec)
                + "."
            )
        return {
            "device": s.describe(),
            "gpu": {"name": s.gpu_name, "compute_capability": s.compute_cap},
            "tensorrt": s.trt_version,
            "engine_cache": str(s.cache.parent),
            "top1_agreement": agreement,
            "trtexec": self._trtexec,
            "notes": notes,
        }
