"""``ais_bench.infer.interface`` as the 2023 Ascend/tools front-end has it (ais_bench 0.0.2).

Behaviour imitated from ais-bench_workload/tool/ais_bench/ais_bench/infer/interface.py:
- ``infer(feeds, mode='static', custom_sizes=100000)`` handles only ``mode='dymshape'`` and
  ``mode='dymdims'``; every other mode, ``'dymbatch'`` included, is ignored without a word, so a
  dynamic-batch OM keeps whatever batch ``set_dynamic_batchsize`` last set (none: the runtime refuses
  the input size). There is no ``out_array`` parameter: ``infer`` always returns numpy arrays.
- ``sumary()`` (sic) and ``reset_sumaryinfo()``; no ``summary()``, no ``reset_summaryinfo()``;
  ``exec_time_list`` holds durations in ms.
- ``finalize()`` is a method, but what it calls tears down every device context of the process
  and calls aclFinalize. There is no ``free_resource()``.
"""

from __future__ import annotations

import aclruntime
import numpy as np

_TORCH_TYPES = [
    "torch.FloatTensor",
    "torch.DoubleTensor",
    "torch.HalfTensor",
    "torch.BFloat16Tensor",
    "torch.ByteTensor",
    "torch.CharTensor",
    "torch.ShortTensor",
    "torch.LongTensor",
    "torch.BoolTensor",
    "torch.IntTensor",
]
_NP_SCALARS = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.float16,
    np.float32,
    np.float64,
]


class InferSession:
    def __init__(self, device_id: int, model_path: str, acl_json_path: str = None, debug: bool = False, loop: int = 1):
        self.device_id = device_id
        self.model_path = model_path
        self.loop = loop
        options = aclruntime.session_options()
        if acl_json_path is not None:
            options.acl_json_path = acl_json_path
        options.log_level = 1 if debug else 2
        options.loop = self.loop
        self.session = aclruntime.InferenceSession(self.model_path, self.device_id, options)
        self.outputs_names = [meta.name for meta in self.session.get_outputs()]

    def get_inputs(self):
        self.intensors_desc = self.session.get_inputs()
        return self.intensors_desc

    def get_outputs(self):
        self.outtensors_desc = self.session.get_outputs()
        return self.outtensors_desc

    def set_loop_count(self, loop):
        self.session.options().loop = loop

    def set_staticbatch(self):
        self.session.set_staticbatch()

    def set_dynamic_batchsize(self, dymBatch):  # noqa: N803 - the real parameter name
        self.session.set_dynamic_batchsize(dymBatch)

    def set_dynamic_hw(self, w: int, h: int):
        self.session.set_dynamic_hw(w, h)

    def set_dynamic_dims(self, dym_dims: str):
        self.session.set_dynamic_dims(dym_dims)

    def set_dynamic_shape(self, dym_shape: str):
        self.session.set_dynamic_shape(dym_shape)

    def set_custom_outsize(self, custom_sizes):
        self.session.set_custom_outsize(custom_sizes)

    def create_tensor_from_fileslist(self, desc, files):
        return self.session.create_tensor_from_fileslist(desc, files)

    def create_tensor_from_arrays_to_device(self, arrays):
        tensor = aclruntime.Tensor(arrays)
        tensor.to_device(self.device_id)
        return tensor

    def convert_tensors_to_host(self, tensors):
        for tensor in tensors:
            tensor.to_host()

    def convert_tensors_to_arrays(self, tensors):
        return [np.array(tensor) for tensor in tensors]

    def run(self, feeds, out_array=False):
        if feeds and isinstance(feeds[0], np.ndarray):
            inputs = [aclruntime.BaseTensor(a.__array_interface__["data"][0], a.nbytes) for a in feeds]
        else:
            inputs = feeds
        outputs = self.session.run(self.outputs_names, inputs)
        if out_array:
            self.convert_tensors_to_host(outputs)
            return self.convert_tensors_to_arrays(outputs)
        return outputs

    def reset_sumaryinfo(self):
        self.session.reset_sumaryinfo()

    def sumary(self):
        return self.session.sumary()

    def finalize(self):
        if hasattr(self.session, "finalize"):
            self.session.finalize()

    def infer(self, feeds, mode="static", custom_sizes=100000):
        inputs, shapes = [], []
        for feed in feeds:
            if type(feed) is np.ndarray:
                item = feed
                shapes.append(item.shape)
            elif type(feed) in _NP_SCALARS:
                item = np.array(feed)
                shapes.append([feed.size])
            elif type(feed) is aclruntime.Tensor:
                item = feed
                shapes.append(item.shape)
            elif hasattr(feed, "type") and feed.type() in _TORCH_TYPES:
                item = feed.numpy()
                if not feed.is_contiguous():
                    item = np.ascontiguousarray(item)
                shapes.append(item.shape)
            else:
                raise RuntimeError(f"type:{type(feed)} invalid")
            inputs.append(item)
        if mode in ("dymshape", "dymdims"):
            indesc, outdesc = self.get_inputs(), self.get_outputs()
            dyshapes = ";".join(
                "{}:{}".format(indesc[i].name, ",".join(str(v) for v in shape)) for i, shape in enumerate(shapes)
            )
            if mode == "dymshape":
                self.session.set_dynamic_shape(dyshapes)
                if isinstance(custom_sizes, int):
                    custom_sizes = [custom_sizes] * len(outdesc)
                elif not isinstance(custom_sizes, list):
                    raise RuntimeError(f"custom_sizes:{custom_sizes} type:{type(custom_sizes)} invalid")
                self.session.set_custom_outsize(custom_sizes)
            else:
                self.session.set_dynamic_dims(dyshapes)
        # any other mode - 'dymbatch' too - falls through untouched
        return self.run(inputs, out_array=True)


class MemorySummary:
    @staticmethod
    def get_H2D_time_list():  # noqa: N802
        return aclruntime.MemorySummary().H2D_time_list if hasattr(aclruntime, "MemorySummary") else []

    @staticmethod
    def get_D2H_time_list():  # noqa: N802
        return aclruntime.MemorySummary().D2H_time_list if hasattr(aclruntime, "MemorySummary") else []

    @staticmethod
    def reset():
        if hasattr(aclruntime, "MemorySummary"):
            aclruntime.MemorySummary().reset()
