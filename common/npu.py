"""The Ascend chip of this host, from `npu-smi info` (for ATC's --soc_version)."""

from __future__ import annotations

import re
import shutil
import subprocess

from .errors import BundleError

NOT_FOUND = "npu-smi not found: run on an Ascend host, or set SOC=Ascend310P3; source env.sh or use the CANN container"
# An NPU row: "| 0       310P3     | OK              | ...": NPU id, Name, then an alphabetic Health
# (the chip rows below it have a Bus-Id there instead).
_ROW = re.compile(r"^\|\s*(\d+)\s+(\S+)\s*\|\s*([A-Za-z]+)\s*\|")


def parse_info(text: str) -> str:
    """The soc version (``Ascend<name>``) of the first NPU row of an ``npu-smi info`` table."""
    for line in text.splitlines():
        m = _ROW.match(line.strip())
        if m:
            name = m[2].removeprefix("Ascend")
            return f"Ascend{name}"
    raise BundleError("npu-smi info lists no NPU (is the driver loaded? see `npu-smi info`); or set SOC=Ascend310P3")


def detect_soc(timeout: float = 30) -> str:
    """Run ``npu-smi info`` (no shell) and return e.g. ``Ascend310P3``."""
    exe = shutil.which("npu-smi")
    if exe is None:
        raise BundleError(NOT_FOUND)
    try:
        proc = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"npu-smi info failed ({exc}); set SOC=Ascend310P3 to skip detection") from None
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"npu-smi info exited {proc.returncode} ({last[0]}); set SOC=... to skip detection")
    return parse_info(proc.stdout)
