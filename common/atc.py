"""ONNX -> OM with Ascend ATC: the guides' command line, a fixed-shape copy where a model needs one,
and an .om that appears only when ATC succeeded."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import atomic
from common.errors import BundleError
from common.manifest import Manifest

LOGS = ("debug", "info", "warning", "error", "null")
NOT_FOUND = (
    "atc not found: source models/{name}/env.sh (CANN toolkit) or run inside the CANN container (make docker-run)"
)


def _gears(dynamic_batch: Sequence[int] | str) -> str:
    """``"1,4,8"`` from a list or a string of batch sizes; BundleError when it is not one."""
    items = dynamic_batch.split(",") if isinstance(dynamic_batch, str) else list(dynamic_batch)
    try:
        gears = [int(str(g).strip()) for g in items]
    except ValueError:
        gears = []
    if not gears or min(gears) < 1:
        raise BundleError(f"DYNAMIC_BATCH={dynamic_batch!r}: expected batch sizes like 1,4,8,16")
    return ",".join(str(g) for g in gears)


def _extra(extra: Sequence[str] | str) -> list[str]:
    return shlex.split(extra) if isinstance(extra, str) else [str(e) for e in extra]


def atc_command(
    m: Manifest,
    onnx_path: Path | str,
    out_base: Path | str,
    bs: int,
    soc: str,
    log: str = "error",
    dynamic_batch: Sequence[int] | str | None = None,
    extra: Sequence[str] | str = (),
) -> list[str]:
    """The ATC argv: the guides' flags, then the manifest's atc_extra, $ATC_EXTRA (shlex) and ``extra``."""
    if log not in LOGS:
        raise BundleError(f"ATC log level {log!r}: expected one of {', '.join(LOGS)}")
    if not soc.startswith("Ascend"):
        raise BundleError(f"SOC={soc}: expected a soc version like Ascend310P3 (see `npu-smi info`)")
    if dynamic_batch and m.static_batch:
        raise BundleError(f"{m.name}: its ONNX has a static batch (one file per BS); dynamic batch is not available")
    c, h, w = m.input_shape
    batch = "-1" if dynamic_batch else str(int(bs))
    cmd = [
        "atc",
        "--framework=5",
        f"--model={onnx_path}",
        f"--output={out_base}",
        "--input_format=NCHW",
        f"--input_shape={m.input_name}:{batch},{c},{h},{w}",
        f"--log={log}",
        f"--soc_version={soc}",
    ]
    if dynamic_batch:
        cmd.append(f"--dynamic_batch_size={_gears(dynamic_batch)}")
    return cmd + list(m.atc_extra) + shlex.split(os.environ.get("ATC_EXTRA", "")) + _extra(extra)


def _fresh(target: Path, source: Path) -> bool:
    return target.is_file() and target.stat().st_mtime >= source.stat().st_mtime


def static_copy(m: Manifest, onnx_path: Path, om_dir: Path, bs: int) -> Path:
    """A simplified copy of the ONNX with the batch fixed to ``bs`` (``<stem>_bs<BS>.onnx``)."""
    out = om_dir / f"{onnx_path.stem}_bs{bs}.onnx"
    if _fresh(out, onnx_path):
        return out
    import onnx
    import onnxsim

    model = onnx.load(str(onnx_path))
    try:
        simple, ok = onnxsim.simplify(model, overwrite_input_shapes={m.input_name: [bs, *m.input_shape]})
    except Exception as exc:  # noqa: BLE001 - onnxsim raises many types
        raise BundleError(f"{onnx_path}: onnxsim could not fix the batch to {bs} ({str(exc)[:200]})") from None
    if not ok:
        raise BundleError(f"{onnx_path}: the batch-{bs} simplified copy failed onnxsim's check")
    with atomic.atomic_path(out) as tmp:
        onnx.save(simple, str(tmp))
    return out


def _tail(path: Path, n: int = 15) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("  " + line for line in lines[-n:])


def convert(
    m: Manifest,
    onnx_path: Path | str,
    work_dir: Path | str,
    bs: int,
    soc: str | None = None,
    log: str = "error",
    dynamic_batch: Sequence[int] | str | None = None,
    extra: Sequence[str] | str = (),
) -> Path:
    """Convert to ``<work_dir>/om/<om name>.om`` unless a newer one (for the same SOC) is there.

    ATC runs in ``<work_dir>/om`` with its output in ``atc_<name>.log``; the .om appears only on success.
    """
    onnx_path, om_dir = Path(onnx_path), Path(work_dir) / "om"
    if not onnx_path.is_file():
        raise BundleError(f"{onnx_path}: no ONNX model (run `make onnx` first)")
    name = m.om_name("dyn" if dynamic_batch else bs)
    om, stamp = om_dir / f"{name}.om", om_dir / f"{name}.om.soc"
    built_for = stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else None
    if _fresh(om, onnx_path) and (soc is None or built_for in (None, soc)):
        return om  # newer than its ONNX, and not built for another chip
    exe = shutil.which("atc")
    if exe is None:
        raise BundleError(NOT_FOUND.format(name=m.name))
    if soc is None:
        from common.npu import detect_soc

        soc = detect_soc()
    om_dir.mkdir(parents=True, exist_ok=True)
    src = static_copy(m, onnx_path, om_dir, bs) if m.om_static_onnx and not dynamic_batch else onnx_path
    om.unlink(missing_ok=True)  # stale: if ATC fails now, no .om is left
    log_path = om_dir / f"atc_{name}.log"
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=om_dir) as tmp:
        # same file name as the final .om, moved into place on success; absolute, since ATC runs in
        # om/ and WORK may be relative (its default, work/<model>)
        out_base = Path(tmp).resolve() / name
        cmd = atc_command(m, src.resolve(), out_base, bs, soc, log, dynamic_batch, extra)
        with log_path.open("w", encoding="utf-8") as f:
            f.write("$ " + shlex.join(cmd) + "\n")
            f.flush()
            proc = subprocess.run([exe, *cmd[1:]], cwd=om_dir, stdout=f, stderr=subprocess.STDOUT, check=False)
        produced = Path(f"{out_base}.om")
        if proc.returncode != 0 or not produced.is_file():
            raise BundleError(
                f"atc failed (exit {proc.returncode}) converting {src.name} for {soc}; "
                f"last lines of {log_path}:\n{_tail(log_path)}"
            )
        os.replace(produced, om)
    atomic.write_text(stamp, soc + "\n")
    return om
