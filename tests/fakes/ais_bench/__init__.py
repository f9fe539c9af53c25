"""Stand-in for the ais_bench Python package (built with aclruntime against CANN; not on PyPI).

Two front-end lineages are imitated, chosen by $FAKE_AIS_LINEAGE (tools2023, the default, or
msit2024); tests/fakes/README.md lists what each one does. Like the real packages it defines no
``__version__``: both report ``ais_bench 0.0.2`` through their distribution metadata
(tests/fakes/ais_bench-0.0.2.dist-info). Only for tests: the interface, file layout, messages and
failure modes of the real tool, with the numerics of ONNX Runtime.
"""
