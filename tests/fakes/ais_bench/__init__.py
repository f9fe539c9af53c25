"""Stand-in for the ais_bench package (built from the ais_bench repo against CANN, not on PyPI).

It runs the ONNX model that the fake ``atc`` packs into the fake .om with ONNX Runtime on the CPU.
Only for tests: it has the interface and the file layout of the real tool, not its numerics.
"""

__version__ = "0.0.0-fake"
