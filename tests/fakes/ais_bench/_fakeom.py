"""The fake .om format shared by the stand-ins: a magic line, a JSON header line, the ONNX bytes.

Header keys written by the fake ``atc``: ``input_name``, ``input_shape`` (batch -1 for a dynamic-batch
OM), ``dynamic_batch_size`` (the gears, [] when static), ``output_dtype`` (``float32``, or ``float16``
when ATC ran with ``--output_type=FP16``), ``soc_version``, ``source`` and ``atc_flags`` (the flags
ATC was given beyond the required ones, e.g. ``--auto_tune_mode``).

Also here: the lineage switch of the ais_bench stand-in ($FAKE_AIS_LINEAGE) and the call log.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MAGIC = b"FAKE-ASCEND-OM v1\n"

# The two Python front-ends users have (see tests/fakes/README.md):
#   tools2023 - Ascend/tools ais-bench_workload/tool/ais_bench (ais_bench + aclruntime 0.0.2, 2023)
#   msit2024  - Ascend/msit ait/components/benchmark (ais_bench + aclruntime 0.0.2, June 2024)
LINEAGES = ("tools2023", "msit2024")


def lineage() -> str:
    """The front-end lineage this process imitates: $FAKE_AIS_LINEAGE, default tools2023."""
    value = os.environ.get("FAKE_AIS_LINEAGE") or "tools2023"
    if value not in LINEAGES:
        raise ImportError(f"FAKE_AIS_LINEAGE={value!r}: expected one of {', '.join(LINEAGES)}")
    return value


def write(path: Path, header: dict, onnx_bytes: bytes) -> None:
    """Write ``<path>`` as ATC would: whole file or nothing."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + onnx_bytes)
    tmp.replace(path)


def read(path: str | Path) -> tuple[dict, bytes]:
    """(header, onnx bytes) of a fake .om; ValueError for anything else."""
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not an offline model (bad magic)")
    head, _, onnx_bytes = data[len(MAGIC) :].partition(b"\n")
    return json.loads(head), onnx_bytes


class Model:
    """A loaded fake OM: its declared input shape, output dtype and an ONNX Runtime session."""

    def __init__(self, path: str | Path):
        import onnxruntime as ort

        self.header, onnx_bytes = read(path)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        self.input_name = self.header["input_name"]
        self.input_shape = list(self.header["input_shape"])  # batch -1 when dynamic
        self.dynamic = list(self.header.get("dynamic_batch_size") or [])
        self.output_dtype = self.header.get("output_dtype", "float32")
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.output_shapes = [list(o.shape) for o in self.session.get_outputs()]

    @property
    def max_batch(self) -> int:
        return max(self.dynamic) if self.dynamic else int(self.input_shape[0])

    def check(self, x, mode: str = "static") -> None:
        """Refuse a feed the runtime would refuse (wrong shape, batch not in the OM's gear list)."""
        want = list(self.input_shape)
        if want[0] == -1:
            if mode != "dymbatch" or x.shape[0] not in self.dynamic:
                raise RuntimeError(
                    f"dynamic batch OM: batch {x.shape[0]} needs mode='dymbatch' and one of {self.dynamic}"
                )
            want[0] = x.shape[0]
        if list(x.shape) != want or str(x.dtype) != "float32":
            raise RuntimeError(f"input shape {list(x.shape)} {x.dtype} does not match the OM's {want} float32")

    def run(self, x) -> list:
        """The OM's outputs for the float32 batch ``x``, in the OM's output dtype."""
        import numpy as np

        outs = self.session.run(None, {self.input_name: x})
        return [np.asarray(o).astype(self.output_dtype, copy=False) for o in outs]


def log_call(tool: str, **fields) -> None:
    """Append one JSON line about this call to $FAKE_ASCEND_LOG (tests read it back)."""
    log = os.environ.get("FAKE_ASCEND_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, **fields}) + "\n")


def save(path: str, values, fmt: str) -> None:
    """One sample's output as the legacy benchmark tool writes it: TXT one line of %f + space, BIN raw."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    if fmt == "TXT":
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(f"{v:f} " for v in values.ravel().tolist()) + "\n")
    elif fmt == "BIN":
        values.tofile(path)
    else:
        np.save(path, values)
