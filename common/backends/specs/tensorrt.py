"""PROVIDER=tensorrt with BACKEND=onnx: ONNX Runtime's TensorRT provider, fp16 engines per batch size cached
in the work folder. A variant of ``onnx``, not a BACKEND value: PROVIDER selects it."""

from __future__ import annotations

from .. import ONNX, Backend


def make(art):
    """Fails in one line here, before any export, where TensorRT, CUDA or a GPU is missing."""
    import onnxruntime as ort

    from .. import tensorrt
    from ..onnxruntime import OrtSession
    from ..runner import session_runner

    m, layout, dev = art.cfg.model, art.cfg.layout, art.settings.device[0]
    gpu, trt_version = tensorrt.require(ort, dev)

    def open_session(bs: int):
        return tensorrt.TensorrtSession(
            art.onnx(bs), bs, layout.trt_cache, m.input_shape, m.input_name, not m.static_batch, dev
        )

    def reference():  # fp32 on the same GPU (CUDA provider), for the agreement check
        return OrtSession(art.onnx(art.settings.bs), device=dev, provider="auto")

    def trtexec(bs: int):  # its engine and timing cache beside ONNX Runtime's, under the same key
        onnx = art.onnx(bs)
        folder = tensorrt.engine_dir(layout.trt_cache, onnx, bs, True, trt_version, gpu, ort.__version__)
        return tensorrt.trtexec_perf(onnx, m.input_name, bs, m.input_shape, folder)

    extra = {"reference": reference, "photos": art.parity_photos, "trtexec": trtexec}
    return session_runner(art, open_session, tensorrt.TensorrtRunner, **extra)


BACKEND = Backend(
    "tensorrt",
    "ONNX Runtime's TensorRT provider",
    (ONNX,),
    make,
    order=15,
    variant_of="onnx",
    provider="tensorrt",
    accelerator=True,
    fp16=True,
)
