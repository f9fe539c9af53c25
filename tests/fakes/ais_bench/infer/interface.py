"""``ais_bench.infer.interface`` stand-in: the InferSession of the lineage $FAKE_AIS_LINEAGE selects.

  tools2023 (default) - Ascend/tools ais-bench_workload/tool/ais_bench, 2023   -> _interface_tools
  msit2024            - Ascend/msit ait/components/benchmark, June 2024         -> _interface_msit

Both import the ``aclruntime`` stand-in (tests/fakes/aclruntime.py), which runs the fake .om with
ONNX Runtime. The lineage is read when this module is first imported.
"""

from ais_bench import _fakeom

if _fakeom.lineage() == "msit2024":
    from ais_bench.infer._interface_msit import *  # noqa: F403
    from ais_bench.infer._interface_msit import InferSession, MemorySummary, MultiDeviceSession  # noqa: F401
else:
    from ais_bench.infer._interface_tools import *  # noqa: F403
    from ais_bench.infer._interface_tools import InferSession, MemorySummary  # noqa: F401
