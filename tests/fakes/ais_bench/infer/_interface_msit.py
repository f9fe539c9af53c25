"""``ais_bench.infer.interface`` as the mid-2024 Ascend/msit front-end has it (ait/components/benchmark,
also run as ``ait benchmark``).

Behaviour imitated from ait/components/benchmark/ais_bench/infer/interface.py (msit, June 2024):
- ``infer(feeds, mode='static', custom_sizes=100000, out_array=True)`` dispatches on ``mode``:
  ``'static'`` calls ``set_staticbatch()``; ``'dymbatch'`` calls ``set_dynamic_batchsize(<the feed's
  batch>)`` at the first -1 dimension of the model input (``RuntimeError('not a dymbatch model!')``
  on a static OM); an unknown mode raises ``RuntimeError('wrong infer_mode:...')``.
- ``summary()`` and ``reset_summaryinfo()`` (no ``sumary``/``reset_sumaryinfo`` on the Python class);
  ``exec_time_list`` holds ``(start, end)`` pairs in ms.
- ``finalize()`` is a staticmethod that tears down the whole process (every context, aclFinalize);
  ``free_resource()`` unloads one session and destroys its own context.
- ``infer_pipeline(feeds_list, mode)``: every feed list as a ``BaseTensor`` of its numpy buffer; the mode
  set once from the *last* feed list's shapes (so every feed must have that shape: a different one fails
  aclruntime's size check); ``session.run_pipeline`` returns the outputs of all feeds at the end.
- The constructor reads the input/output descriptors once (``intensors_desc``/``outtensors_desc``).
"""

from __future__ import annotations

import logging

import aclruntime
import numpy as np

TORCH_TENSOR_LIST = [
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
NP_TYPE_LIST = [
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

logger = logging.getLogger(__name__)
_MODES = '"static","dymbatch","dymhw", "dymdims","dymshape"'


def _as_input(feed):
    """(array or Tensor, shape) of one feed, as the front-end accepts them."""
    if type(feed) is np.ndarray:
        item = feed if feed.flags.c_contiguous else np.ascontiguousarray(feed)
        return item, item.shape
    if type(feed) in NP_TYPE_LIST:
        item = np.array(feed)
        return item, [feed.size]
    if type(feed) is aclruntime.Tensor:
        return feed, feed.shape
    if hasattr(feed, "type") and feed.type() in TORCH_TENSOR_LIST:
        item = feed.numpy()
        if not feed.is_contiguous():
            item = np.ascontiguousarray(item)
        return item, item.shape
    raise RuntimeError(f"type:{type(feed)} invalid")


class InferSession:
    def __init__(self, device_id: int, model_path: str, acl_json_path: str = None, debug: bool = False, loop: int = 1):
        self.device_id = device_id
        self.model_path = model_path
        self.loop = loop
        self.options = aclruntime.session_options()
        self.acl_json_path = acl_json_path
        self.debug = debug
        if acl_json_path is not None:
            self.options.acl_json_path = self.acl_json_path
        self.options.log_level = 1 if self.debug else 2
        self.options.loop = self.loop
        self.session = aclruntime.InferenceSession(self.model_path, self.device_id, self.options)
        self.outputs_names = [meta.name for meta in self.session.get_outputs()]
        self.intensors_desc = self.session.get_inputs()
        self.outtensors_desc = self.session.get_outputs()
        self.infer_mode_switch = {
            "static": self._static_prepare,
            "dymbatch": self._dymbatch_prepare,
            "dymhw": self._dymhw_prepare,
            "dymdims": self._dymdims_prepare,
            "dymshape": self._dymshape_prepare,
        }

    @staticmethod
    def convert_tensors_to_host(tensors):
        for tensor in tensors:
            tensor.to_host()

    @staticmethod
    def convert_tensors_to_arrays(tensors):
        return [np.array(tensor) for tensor in tensors]

    @staticmethod
    def finalize():
        if hasattr(aclruntime.InferenceSession, "finalize"):
            aclruntime.InferenceSession.finalize()

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

    def set_dynamic_batchsize(self, dym_batch):
        self.session.set_dynamic_batchsize(dym_batch)

    def set_dynamic_hw(self, w: int, h: int):
        self.session.set_dynamic_hw(w, h)

    def get_max_dym_batchsize(self):
        return self.session.get_max_dym_batchsize()

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

    def get_dym_aipp_input_exist(self):
        return self.session.get_dym_aipp_input_exist()

    def check_dym_aipp_input_exist(self):
        self.session.check_dym_aipp_input_exist()

    def load_aipp_config_file(self, config_file, batchsize):
        raise RuntimeError("ais_bench stand-in: dynamic AIPP is not imitated")

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

    def run_pipeline(self, *args, **kwargs):
        raise RuntimeError("ais_bench stand-in: the CLI's pipeline run is not imitated")

    def reset_summaryinfo(self):
        self.session.reset_sumaryinfo()

    def infer(self, feeds, mode="static", custom_sizes=100000, out_array=True):
        inputs, shapes = [], []
        for feed in feeds:
            item, shape = _as_input(feed)
            inputs.append(item)
            shapes.append(shape)
        prepare = self.infer_mode_switch.get(mode)
        if prepare is None:
            raise RuntimeError(f"wrong infer_mode:{mode}, only support {_MODES}")
        prepare(shapes, custom_sizes)
        return self.run(inputs, out_array)

    def free_resource(self):
        if hasattr(self.session, "free_resource"):
            self.session.free_resource()

    def infer_pipeline(self, feeds_list, mode="static", custom_sizes=100000):
        inputs_list, shapes_list = [], []
        shapes = []
        for feeds in feeds_list:
            inputs, shapes = [], []
            for feed in feeds:
                item, shape = _as_input(feed)
                if type(item) is aclruntime.Tensor:
                    item = np.array(item)
                    shape = item.shape
                inputs.append(aclruntime.BaseTensor(item.__array_interface__["data"][0], item.nbytes))
                shapes.append(shape)
            inputs_list.append(inputs)
            shapes_list.append(shapes)
        # as msit: the mode is set once, from the shapes of the last feed list (the loop's leftover)
        if self.infer_mode_switch.get(mode) is not None and mode not in ("dymshape", "dymdims"):
            self.infer_mode_switch.get(mode)(shapes, custom_sizes)
        elif mode == "dymshape":
            if isinstance(custom_sizes, int):
                custom_sizes = [custom_sizes] * len(self.get_outputs())
            elif not isinstance(custom_sizes, list):
                raise RuntimeError(f"custom_sizes:{custom_sizes} type:{type(custom_sizes)} invalid")
            self.session.set_custom_outsize(custom_sizes)
        elif mode != "dymdims":
            raise RuntimeError(f"wrong infer_mode:{mode}, only support {_MODES}")
        outputs = self.session.run_pipeline(
            self.outputs_names, inputs_list, shapes_list, mode == "dymshape", mode == "dymdims"
        )
        for i, output in enumerate(outputs):
            outputs[i] = self.convert_tensors_to_arrays(output)
        return outputs

    def infer_iteration(
        self, feeds, in_out_list=None, iteration_times=1, mode="static", custom_sizes=100000, mem_copy=True
    ):
        if not in_out_list:
            in_out_list = []
        if len(in_out_list) != len(self.get_inputs()):
            raise RuntimeError("inputs' amount and length of in_out_list not matched!")
        if iteration_times == 1:
            return self.infer(feeds, mode, custom_sizes)
        raise RuntimeError("ais_bench stand-in: inner iterations are not imitated")

    def summary(self):
        return self.session.sumary()

    def _static_prepare(self, shapes, custom_sizes):
        self.set_staticbatch()

    def _dymbatch_prepare(self, shapes, custom_sizes):
        indesc = self.get_inputs()
        if len(shapes) != len(indesc):
            raise RuntimeError("input datas and intensors nums not matched!")
        for i, shape in enumerate(shapes):
            for j, dim in enumerate(shape):
                if indesc[i].shape[j] < 0:
                    self.set_dynamic_batchsize(dim)
                    return
                if indesc[i].shape[j] != dim:
                    raise RuntimeError("input datas and intensors dim not matched!")
        raise RuntimeError("not a dymbatch model!")

    def _dymhw_prepare(self, shapes, custom_sizes):
        indesc = self.get_inputs()
        if len(shapes) != len(indesc):
            raise RuntimeError("input datas and intensors nums not matched!")
        for i, shape in enumerate(shapes):
            if indesc[i].shape[2] < 0 and indesc[i].shape[3] < 0:
                self.set_dynamic_hw(shape[2], shape[3])
                return
        raise RuntimeError("not a dymhw model!")

    def _joined_shapes(self, shapes) -> str:
        indesc = self.get_inputs()
        if len(shapes) != len(indesc):
            raise RuntimeError("input datas and intensors nums not matched!")
        return ";".join("{}:{}".format(indesc[i].name, ",".join(str(v) for v in s)) for i, s in enumerate(shapes))

    def _dymdims_prepare(self, shapes, custom_sizes):
        self.session.set_dynamic_dims(self._joined_shapes(shapes))

    def _dymshape_prepare(self, shapes, custom_sizes):
        dyshapes = self._joined_shapes(shapes)
        outdesc = self.get_outputs()
        self.session.set_dynamic_shape(dyshapes)
        if isinstance(custom_sizes, int):
            custom_sizes = [custom_sizes] * len(outdesc)
        elif not isinstance(custom_sizes, list):
            raise RuntimeError(f"custom_sizes:{custom_sizes} type:{type(custom_sizes)} invalid")
        self.session.set_custom_outsize(custom_sizes)


class MultiDeviceSession:
    """Exists in msit (one subprocess per feed and device); not imitated beyond its constructor."""

    def __init__(self, model_path: str, acl_json_path: str = None, debug: bool = False, loop: int = 1):
        self.model_path, self.acl_json_path, self.debug, self.loop = model_path, acl_json_path, debug, loop

    def infer(self, device_feeds: dict, mode="static", custom_sizes=100000):
        raise RuntimeError("ais_bench stand-in: MultiDeviceSession is not imitated")

    infer_pipeline = infer_iteration = infer


class MemorySummary:
    @staticmethod
    def get_h2d_time_list():
        return aclruntime.MemorySummary().H2D_time_list if hasattr(aclruntime, "MemorySummary") else []

    @staticmethod
    def get_d2h_time_list():
        return aclruntime.MemorySummary().D2H_time_list if hasattr(aclruntime, "MemorySummary") else []

    @staticmethod
    def reset():
        if hasattr(aclruntime, "MemorySummary"):
            aclruntime.MemorySummary().reset()
