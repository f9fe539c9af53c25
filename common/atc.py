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

from . import atomic
from .errors import BundleError, read_bounded, shown
from .layout import Layout
from .manifest import Manifest

LOGS = ("debug", "info", "warning", "error", "null")
PROFILES = ("bundle", "guide")
# flags of CANN 5.x's ATC that CANN >= 6 removed (auto-tuning moved to the separate AOE tool)
CANN5_ONLY = ("--auto_tune_mode",)
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


# issue 18: ATC_EXTRA may not set what the bundle sets itself (where the OM goes, what it is built from, for
# which chip and shape) nor switch ATC to a mode that writes elsewhere: refused in one line before ATC runs
OWN_FLAGS = (
    "framework", "model", "weight", "output", "input_format", "input_shape", "log", "soc_version",
    "dynamic_batch_size", "mode", "om", "json", "singleop", "debug_dir", "op_compiler_cache_dir",
)  # fmt: skip


def _extra(extra: Sequence[str] | str) -> list[str]:
    """ATC_EXTRA's words (split like a shell would, never run by one), none a flag the bundle sets itself."""
    try:
        words = shlex.split(extra) if isinstance(extra, str) else [str(e) for e in extra]
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise BundleError(
            f"ATC_EXTRA={shown(extra)}: {exc} (expected ATC flags split like a shell would, e.g. "
            "ATC_EXTRA='--precision_mode=allow_fp32_to_fp16')"
        ) from None
    for w in words:
        name = w.lstrip("-").split("=", 1)[0]
        if w.startswith("-") and name in OWN_FLAGS:  # gflags reads -name as --name
            raise BundleError(f"ATC_EXTRA: {w.split('=', 1)[0]} is set by the bundle itself (the OM goes to WORK/om)")
    return words


def profile_flags(m: Manifest, bs: int, profile: str = "bundle", dynamic: bool = False) -> list[str]:
    """The flags ATC_PROFILE adds: none for ``bundle``; for ``guide`` the model guide's own flags at
    this batch size (``[om.guide_atc]`` in the manifest, split like the guide's shell line)."""
    if profile not in PROFILES:
        raise BundleError(f"ATC_PROFILE={profile!r}: expected one of {', '.join(PROFILES)}")
    if profile == "bundle":
        return []
    return [f for flag in m.guide_flags(None if dynamic else bs) for f in shlex.split(flag)]


def atc_command(
    m: Manifest,
    onnx_path: Path | str,
    out_base: Path | str,
    bs: int,
    soc: str,
    log: str = "error",
    dynamic_batch: Sequence[int] | str | None = None,
    extra: Sequence[str] | str = (),
    profile: str = "bundle",
) -> list[str]:
    """The ATC argv: the guides' flags, then the manifest's atc_extra, the flags of ATC_PROFILE and
    ``extra`` (ATC_EXTRA, split like a shell would: never run by one)."""
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
    return cmd + list(m.atc_extra) + profile_flags(m, bs, profile, bool(dynamic_batch)) + _extra(extra)


def _stamp(soc: str, flags: Sequence[str]) -> str:
    """The OM's ``.soc`` record: the chip, then the flags beyond the base command (a change rebuilds)."""
    return soc + "\n" + ("flags: " + shlex.join(flags) + "\n" if flags else "")


UNREADABLE = "\0unreadable"  # a stamp that does not parse: the OM is built again


def _read_stamp(path: Path) -> tuple[str | None, str]:
    if not path.is_file():
        return None, ""
    try:
        lines = read_bounded(path, "OM stamp", 1 << 16).decode("utf-8").splitlines()
    except (BundleError, UnicodeDecodeError):
        return UNREADABLE, UNREADABLE
    flags = next((line[len("flags: ") :] for line in lines[1:] if line.startswith("flags: ")), "")
    return (lines[0].strip() if lines else None), flags


def built_for(stamp: Path) -> str:
    """The chip an OM's ``.soc`` stamp names ("" when missing or unreadable)."""
    soc, _ = _read_stamp(stamp)
    return "" if soc in (None, UNREADABLE) else soc


def _fresh(target: Path, source: Path) -> bool:
    return target.is_file() and target.stat().st_mtime >= source.stat().st_mtime


def static_copy(m: Manifest, onnx_path: Path, out: Path, bs: int) -> Path:
    """A simplified copy of the ONNX with the batch fixed to ``bs``, at ``out``."""
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


def extra_flags(
    m: Manifest, bs: int, dynamic_batch=None, extra: Sequence[str] | str = (), profile: str = "bundle"
) -> list[str]:
    """The flags an OM is built with beyond the base command (recorded in its ``.soc`` stamp), and its
    gears: an OM built for DYNAMIC_BATCH=1,2,8 is not the one for 1,4,8."""
    gears = [f"--dynamic_batch_size={_gears(dynamic_batch)}"] if dynamic_batch else []
    return gears + list(m.atc_extra) + profile_flags(m, bs, profile, bool(dynamic_batch)) + _extra(extra)


def up_to_date(
    layout: Layout, onnx_path: Path, gear: int | str, soc: str | None, flags: Sequence[str] | None = None
) -> bool:
    """True when the OM exists, is newer than its ONNX (or shipped without it), was not built for
    another chip than ``soc`` and (when ``flags`` is given) with the same extra flags."""
    om, stamp = layout.om(gear), layout.om_soc(gear)
    if not om.is_file():
        return False
    built_for, built_flags = _read_stamp(stamp)
    if built_for == UNREADABLE:
        return False
    same_flags = flags is None or built_flags == (shlex.join(flags) if flags else "")
    return (
        (not onnx_path.is_file() or _fresh(om, onnx_path)) and (soc is None or built_for in (None, soc)) and same_flags
    )


def _atc_exe(m: Manifest, onnx_path: Path) -> str:
    """The ``atc`` on PATH, once the ONNX it converts is known to be there."""
    if not onnx_path.is_file():
        raise BundleError(f"{onnx_path}: no ONNX model (run `make onnx` first)")
    exe = shutil.which("atc")
    if exe is None:
        raise BundleError(NOT_FOUND.format(name=m.name))
    return exe


def _atc_error(
    proc: subprocess.CompletedProcess, flags: Sequence[str], src: Path, soc: str, log_path: Path
) -> BundleError:
    """ATC's failure in one message: its exit status, a hint for CANN 5.x-only flags, the log's last lines."""
    old = [f for f in flags if f.split("=")[0] in CANN5_ONLY]
    hint = (
        f" ({' '.join(old)} exists in CANN 5.x's ATC only; CANN >= 6 tunes with AOE: use ATC_PROFILE=bundle there)"
        if old
        else ""
    )
    return BundleError(
        f"atc failed (exit {proc.returncode}) converting {src.name} for {soc}{hint}; "
        f"last lines of {log_path}:\n{_tail(log_path)}"
    )


def _run_atc(exe: str, cmd: list[str], om_dir: Path, log_path: Path) -> subprocess.CompletedProcess:
    """Run ATC in ``om_dir``, the command line then its whole output in ``log_path``."""
    with log_path.open("w", encoding="utf-8") as f:
        f.write("$ " + shlex.join(cmd) + "\n")
        f.flush()
        return subprocess.run([exe, *cmd[1:]], cwd=om_dir, stdout=f, stderr=subprocess.STDOUT, check=False)


def convert(
    m: Manifest,
    layout: Layout,
    onnx_path: Path | str,
    bs: int,
    soc: str | None = None,
    log: str = "error",
    dynamic_batch: Sequence[int] | str | None = None,
    extra: Sequence[str] | str = (),
    profile: str = "bundle",
) -> Path:
    """Convert to ``layout.om(...)`` unless a newer one (for the same SOC and flags) is there.

    ATC runs in the OM folder with its output in ``atc_<name>.log``, every path given to it absolute;
    the .om appears only on success. ``profile`` is ATC_PROFILE (``guide``: the guide's own flags).
    """
    onnx_path = Path(onnx_path)
    gear = "dyn" if dynamic_batch else bs
    om, stamp, log_path = layout.om(gear), layout.om_soc(gear), layout.atc_log(gear)
    flags = extra_flags(m, bs, dynamic_batch, extra, profile)
    if up_to_date(layout, onnx_path, gear, soc, flags):
        return om
    exe = _atc_exe(m, onnx_path)
    if soc is None:
        from .npu import detect_soc

        soc = detect_soc()
    om_dir = layout.om_dir.resolve()
    om_dir.mkdir(parents=True, exist_ok=True)
    if m.om_static_onnx and not dynamic_batch:
        src = static_copy(m, onnx_path, layout.static_onnx(bs), bs)
    else:
        src = onnx_path
    om.unlink(missing_ok=True)  # stale: if ATC fails now, no .om is left
    name = om.name[: -len(".om")]
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=om_dir) as tmp:
        # same file name as the final .om, moved into place on success; absolute, since ATC runs in
        # om/ and WORK may be relative (its default, work/<model>)
        out_base = Path(tmp).resolve() / name
        cmd = atc_command(m, src.resolve(), out_base, bs, soc, log, dynamic_batch, extra, profile)
        proc = _run_atc(exe, cmd, om_dir, log_path)
        produced = Path(f"{out_base}.om")
        if proc.returncode != 0 or not produced.is_file():
            raise _atc_error(proc, flags, src, soc, log_path)
        os.replace(produced, om)
    atomic.write_text(stamp, _stamp(soc, flags))
    return om
