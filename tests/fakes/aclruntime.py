"""Stand-in for ``aclruntime``, the C++ (pybind11) half of ais_bench that is built against CANN.

Only this module imitates the C++ part; the Python front-end (``ais_bench``) is imitated separately,
per lineage. What is imitated, from the two public builds of backend/ (aclruntime 0.0.2 in both):

- one process-wide device manager: ``aclInit`` once (when the first session is made), one ACL
  context per device (tools) or per session (msit), and a teardown that destroys *every* context
  and calls ``aclFinalize`` (``TensorContext::Finalize`` -> ``DeviceManager::DestroyDevices``);
- the model's tensor descriptors: ``name, datatype, format, shape, size, realsize``; a dynamic-batch
  OM reports batch -1 and ``size`` at the largest gear, and ``set_dynamic_batchsize(n)`` rescales
  ``realsize`` (``size * n / max gear``);
- the input check of ``ModelInferenceProcessor::Inference``: every input's byte size must equal its
  ``realsize``, else ``[ERROR] Check i:0 name:... in size:... needsize:... not match`` on stdout
  and ``RuntimeError('[-1][ACL: general failure] ')``;
- the timing list: durations in ms (tools) or ``(start, end)`` ms pairs since the session was made
  (msit), appended once per execution (``loop`` executions per ``run``);
- host/device tensors (``Tensor``, ``BaseTensor``), ``MemorySummary``.

The two builds differ where the C++ differs:

  tools2023 (Ascend/tools, ais-bench_workload/tool/ais_bench/backend): ``finalize`` is a method of
      a session: it unloads that session's model, then tears down the whole process (all devices).
      No context is re-selected per call; a session whose context was destroyed fails on its next
      run when device memory is allocated.
  msit2024 (Ascend/msit, ait/components/benchmark/backend, June 2024): ``finalize`` is static (the
      process teardown only); ``free_resource`` unloads one session and destroys its own context.
      Every call first re-selects the session's context and fails with
      ``SetContext failed: device N is not set or context I is not created.`` once it is gone.

Knobs for tests: $FAKE_NPU_COUNT (devices, default 8), $FAKE_AIS_EXEC_MS (extra ms per execution, to
make thread interleavings deterministic), $FAKE_AIS_FAIL_EXEC (the N-th execution in this process
fails as ``aclmdlExecute`` would), $FAKE_AIS_HANG_EXEC (the N-th execution in this process never
returns, as ais_bench does on some OMs: AISBench/benchmark#232), $FAKE_ACL_STRICT_FINALIZE=1 (a session
made after the teardown fails; by default the stand-in initialises ACL again - see tests/fakes/README.md
for why).
The fake .om holds an ONNX model that runs here with ONNX Runtime, on the CPU.
"""

from __future__ import annotations

import ctypes
import enum
import os
import sys
import threading
import time

import numpy as np
from ais_bench import _fakeom

LINEAGE = _fakeom.lineage()
MSIT = LINEAGE == "msit2024"


# ---- error strings and C-level logging ---------------------------------------------------------------

APP_ERR_ACL_FAILURE = -1
APP_ERR_ACL_INVALID_PARAM = 1
FAILED = 1  # Result FAILED of model_process
_MESSAGES = {APP_ERR_ACL_FAILURE: "ACL: general failure", APP_ERR_ACL_INVALID_PARAM: "ACL: invalid parameter"}


def _get_error(code: int) -> str:
    """GetError(): ``[<code>][<text>] `` (with the trailing space)."""
    return f"[{code}][{_MESSAGES.get(code, 'Error code unknown')}] "


LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR = 1, 2, 3, 4
_log_level = 0  # FRIZY_LOG_LEVEL before any session set it: everything prints


def _c_print(text: str) -> None:
    """printf to fd 1, as the C++ does (not through Python's sys.stdout)."""
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):
        pass
    os.write(1, text.encode())


def _log(level: int, tag: str, msg: str) -> None:
    if _log_level <= level:
        _c_print(f"[{tag}] {msg}\n")


def _debug(msg: str) -> None:
    _log(LOG_DEBUG, "DEBUG", msg)


def _info(msg: str) -> None:
    _log(LOG_INFO, "INFO", msg)


def _warn(msg: str) -> None:
    _log(LOG_WARNING, "WARN", msg)


def _error(msg: str) -> None:
    _log(LOG_ERROR, "ERROR", msg)


# ---- enums and plain structs -------------------------------------------------------------------------


class dtype(enum.Enum):  # noqa: N801 - the pybind11 enum is called aclruntime.dtype
    """``aclruntime.dtype`` (TensorDataType): ``str()`` is ``dtype.float32``, ``int()`` the code."""

    float32 = 0
    float16 = 1
    int8 = 2
    int32 = 3
    uint8 = 4
    int16 = 6
    uint16 = 7
    uint32 = 8
    int64 = 9
    uint64 = 10
    double = 11
    bool = 12

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    @property
    def numpy(self) -> np.dtype:
        return np.dtype({"double": "float64", "bool": "bool_"}.get(self.name, self.name))


def _dtype_of(array_dtype) -> dtype:
    name = np.dtype(array_dtype).name
    return dtype[{"float64": "double"}.get(name, name)]


ACL_FORMAT_NCHW, ACL_FORMAT_ND = 0, 2


class session_options:  # noqa: N801
    def __init__(self):
        self.loop = 1
        self.log_level = LOG_INFO
        self.acl_json_path = ""


class tensor_desc:  # noqa: N801
    def __init__(self, name="", datatype=dtype.float32, format=0, shape=None, size=0, realsize=0):  # noqa: A002
        self.name, self.datatype, self.format = name, datatype, format
        self.shape = list(shape or [])
        self.size, self.realsize = size, realsize

    def __repr__(self) -> str:
        return (
            f"tensor_desc(name={self.name!r}, datatype={self.datatype}, format={self.format}, "
            f"shape={self.shape}, size={self.size}, realsize={self.realsize})"
        )


class sumary:  # noqa: N801 - aclruntime.sumary (sic), InferSumaryInfo
    def __init__(self, times: list | None = None):
        self._times = times if times is not None else []

    @property
    def exec_time_list(self) -> list:
        return list(self._times)


class _MemoryTimes:
    h2d: list[float] = []
    d2h: list[float] = []


class MemorySummary:
    """Process-wide host<->device copy times in ms (``MemorySummary().H2D_time_list``)."""

    @property
    def H2D_time_list(self) -> list:  # noqa: N802
        return list(_MemoryTimes.h2d)

    @property
    def D2H_time_list(self) -> list:  # noqa: N802
        return list(_MemoryTimes.d2h)

    def reset(self) -> None:
        _MemoryTimes.h2d.clear()
        _MemoryTimes.d2h.clear()


class BaseTensor:
    """``BaseTensor(buf, size)``: a raw pointer and a byte count (the front-end passes a numpy buffer)."""

    def __init__(self, buf: int, size: int):
        self.buf, self.size = int(buf), int(size)

    def _bytes(self) -> bytes:
        return ctypes.string_at(self.buf, self.size) if self.size else b""


class Tensor:
    """A tensor in host or device memory. ``np.array(t)`` works once it is on the host."""

    def __init__(self, array=None):
        a = np.ascontiguousarray(array if array is not None else np.zeros(0, np.float32))
        self._array = a.copy()
        self._device = -1

    @classmethod
    def _on_device(cls, array: np.ndarray, device: int) -> Tensor:
        t = cls.__new__(cls)
        t._array, t._device = array, device
        return t

    @property
    def shape(self) -> list:
        return list(self._array.shape)

    @property
    def dtype(self) -> dtype:
        return _dtype_of(self._array.dtype)

    @property
    def device(self) -> int:
        return self._device

    def _nbytes(self) -> int:
        return int(self._array.nbytes)

    def to_device(self, device_id: int) -> None:
        start = time.perf_counter()
        self._device = int(device_id)
        _MemoryTimes.h2d.append((time.perf_counter() - start) * 1000)

    def to_host(self) -> None:
        start = time.perf_counter()
        self._device = -1
        _MemoryTimes.d2h.append((time.perf_counter() - start) * 1000)

    def __array__(self, dtype=None, copy=None):  # noqa: A002
        if self._device >= 0:
            raise RuntimeError("tensor is in device memory: call to_host() first")
        return self._array if dtype is None else self._array.astype(dtype)

    def __str__(self) -> str:
        return f"<Tensor>\nshape:\t{tuple(self.shape)}\ndtype:\t{self.dtype.name}\ndevice:\t{self._device}"


# ---- the process-wide device manager ----------------------------------------------------------------


class _Acl:
    """DeviceManager + TensorContext singletons: aclInit once, contexts, the process-wide teardown."""

    lock = threading.RLock()
    context_made = False  # the TensorContext singleton exists (it called aclInit once)
    initialized = False  # between aclInit and aclFinalize
    finalized_once = False
    contexts: dict[int, dict[int, object]] = {}  # device -> {context index: token}
    next_index: dict[int, int] = {}


def _device_count() -> int:
    return int(os.environ.get("FAKE_NPU_COUNT", "8"))


def _acl_init() -> int:
    """TensorContext's constructor: DeviceManager::InitDevices -> aclInit (once per process)."""
    with _Acl.lock:
        if not _Acl.context_made:
            _Acl.context_made = True
        elif _Acl.initialized:
            return 0
        elif os.environ.get("FAKE_ACL_STRICT_FINALIZE") == "1":
            return 100001  # the singleton never calls aclInit again; ACL stays finalized
        _Acl.initialized = True
        _info("acl init success")
        return 0


def _open_device(device: int) -> int:
    """aclrtSetDevice for a device this process has no context on yet."""
    if not 0 <= device < _device_count():
        _c_print(f"EE1001: The argument is invalid. device id {device} out of range [0, {_device_count()})\n")
        _error(f"acl open device {device} failed")
        return 107001
    _info(f"open device {device} success")
    _Acl.contexts[device] = {}
    _Acl.next_index.setdefault(device, 0)
    return 0


def _create_context(device: int) -> tuple[int, int, object | None]:
    """(error, context index, token): tools reuses the device's one context, msit makes a new one."""
    with _Acl.lock:
        ret = _acl_init()
        if ret:
            _error(f"acl open device {device} failed")
            return ret, 0, None
        if device not in _Acl.contexts:
            ret = _open_device(device)
            if ret:
                return ret, 0, None
        ctx = _Acl.contexts[device]
        if not MSIT and 0 in ctx:
            return 0, 0, ctx[0]
        index = 0 if not MSIT else _Acl.next_index[device]
        _Acl.next_index[device] = index + 1
        ctx[index] = object()
        return 0, index, ctx[index]


def _context_alive(device: int, index: int, token: object) -> bool:
    with _Acl.lock:
        return _Acl.initialized and _Acl.contexts.get(device, {}).get(index) is token


def _destroy_devices() -> int:
    """DeviceManager::DestroyDevices: every context of every device, then aclFinalize."""
    with _Acl.lock:
        if not _Acl.initialized:
            return 1009  # APP_ERR_COMM_OUT_OF_RANGE: the counter is already 0
        killed = sum(len(c) for c in _Acl.contexts.values())
        for device in sorted(_Acl.contexts):
            if MSIT:
                _info(f"end to reset device {device}")
            else:
                _info("end to destroy context")
                _info(f"end to reset device is {device}")
        _Acl.contexts.clear()
        _Acl.initialized = False
        _Acl.finalized_once = True
        _info("end to finalize acl")
        _fakeom.log_call("aclFinalize", lineage=LINEAGE, pid=os.getpid(), contexts_destroyed=killed)
        return 0


# ---- the inference session -------------------------------------------------------------------------

_exec_count = 0
_exec_lock = threading.Lock()


class InferenceSession:
    """``aclruntime.InferenceSession(model_path, device_id, options)``."""

    def __init__(self, model_path: str, device_id: int, options: session_options | None = None):
        global _log_level
        options = options or session_options()
        self._options = options
        self._device = int(device_id)
        self._model_path = str(model_path)
        self._model: _fakeom.Model | None = None
        self._times: list = []
        self._zero = time.perf_counter()
        self._dynamic = "static"
        self._batch = None
        self._custom_sizes: list[int] = []
        if MSIT:
            _log_level = options.log_level
        ret, self._ctx_index, self._ctx_token = _create_context(self._device)
        if ret:
            raise RuntimeError(_get_error(ret))
        if not MSIT:
            _log_level = options.log_level
        try:
            self._model = _fakeom.Model(self._model_path)
        except Exception as exc:  # noqa: BLE001 - a cut-short or corrupt OM fails to load, as ACL's does
            _error(f"load model from file failed, model file is {self._model_path}")
            _debug(f"stand-in: {exc}")
            _warn("Check failed:processModel->LoadModelFromFile(modelPath), ret:1\n")
            raise RuntimeError(_get_error(FAILED)) from None
        _info(f"load model {self._model_path} success")
        _info("create model description success")
        self._inputs = self._input_descs()
        self._outputs = self._output_descs()
        _fakeom.log_call(
            "InferSession",
            device=self._device,
            model=self._model_path,
            pid=os.getpid(),
            lineage=LINEAGE,
            thread=threading.get_ident(),
        )

    # -- descriptors
    def _input_descs(self) -> list[tensor_desc]:
        m = self._model
        shape = list(m.input_shape)
        size = int(np.prod([m.max_batch, *shape[1:]])) * 4
        return [tensor_desc(m.input_name, dtype.float32, ACL_FORMAT_NCHW, shape, size, size)]

    def _output_descs(self) -> list[tensor_desc]:
        m = self._model
        out_dtype = dtype[m.output_dtype]
        descs = []
        for name, shape in zip(m.output_names, m.output_shapes, strict=True):
            rest = [int(d) if isinstance(d, int) else 1 for d in shape[1:]]
            size = int(np.prod([m.max_batch, *rest])) * out_dtype.numpy.itemsize
            descs.append(tensor_desc(name, out_dtype, ACL_FORMAT_ND, [m.input_shape[0], *rest], size, size))
        return descs

    def get_inputs(self) -> list[tensor_desc]:
        return self._inputs  # references: realsize follows set_dynamic_batchsize

    def get_outputs(self) -> list[tensor_desc]:
        return self._outputs

    def options(self) -> session_options:
        return self._options

    def __str__(self) -> str:
        def line(i, d):
            shape = "(" + ", ".join(str(x) for x in d.shape) + ")"
            return f"  #{i}    {d.name}  {shape}  {d.datatype.name}  {d.size}  {d.realsize}\n"

        ins = "".join(line(i, d) for i, d in enumerate(self._inputs))
        outs = "".join(line(i, d) for i, d in enumerate(self._outputs))
        return f"<Model>\ndevice:\t{self._device}\ninput:\n{ins}output:\n{outs}"

    __repr__ = __str__

    # -- context
    def _set_context(self) -> None:
        """msit: every call re-selects this session's context first."""
        if not MSIT:
            return
        if not _context_alive(self._device, self._ctx_index, self._ctx_token):
            _error(f"SetContext failed: device {self._device} is not set or context {self._ctx_index} is not created.")
            raise RuntimeError(_get_error(APP_ERR_ACL_INVALID_PARAM))

    def _device_memory_ok(self, size: int) -> None:
        """tools: no context is selected per call; a destroyed one shows when device memory is allocated."""
        if MSIT or _context_alive(self._device, self._ctx_index, self._ctx_token):
            return
        _error(f"MemoryHelper::MxbsMalloc failed device size:{size} ret:107002")
        _error("Execute Infer failed ret:-1")
        raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))

    def _copy_back_ok(self) -> None:
        """Both: the outputs are copied from device memory after the execution; a context destroyed in
        the meantime (another thread's teardown) makes that copy fail."""
        if _context_alive(self._device, self._ctx_index, self._ctx_token):
            return
        _error(f"MemoryHelper::MxbsMemcpy D2H failed device:{self._device} ret:107002")
        _error("Get OutTensors failed ret:-1")
        raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))

    # -- summary
    def sumary(self) -> sumary:
        self._set_context()
        return sumary(self._times)

    def reset_sumaryinfo(self) -> int:
        self._set_context()
        self._times.clear()
        return 0

    # -- dynamic settings
    def set_staticbatch(self) -> int:
        self._set_context()
        self._dynamic, self._batch = "static", None
        return 0

    def _check_failed(self, call: str) -> None:
        _warn(f"Check failed:{call}, ret:1\n")
        raise RuntimeError(_get_error(FAILED))

    def set_dynamic_batchsize(self, batchsize: int) -> int:
        self._set_context()
        gears = self._model.dynamic
        call = "processModel->CheckDynamicBatchSize(batchsize, is_dymbatch)"
        if not gears:
            _error("the dynamic_batch_size parameter is not specified for model conversion")
            self._check_failed(call)
        if int(batchsize) not in gears:
            _error("the dymBatch parameter is not correct")
            _error(
                "model has dynamic batch size:{"
                + "".join(f"[{g}]" for g in gears)
                + "}, please set correct dynamic batch size"
            )
            self._check_failed(call)
        _info("check dynamic batch success")
        top = max(gears)
        for d in self._inputs:
            if -1 in d.shape:
                d.realsize = d.size * int(batchsize) // top
        self._dynamic, self._batch = "dymbatch", int(batchsize)
        return 0

    def get_max_dym_batchsize(self) -> int:
        self._set_context()
        return max(self._model.dynamic) if self._model.dynamic else 0

    def set_dynamic_hw(self, width: int, height: int) -> int:
        self._set_context()
        _error("the dynamic_image_size parameter is not specified for model conversion")
        self._check_failed("processModel->CheckDynamicHWSize(dynamicHW, is_dymHW)")

    def set_dynamic_dims(self, dymdims: str) -> int:
        self._set_context()
        _c_print("the dynamic_dims parameter is not specified for model conversion")
        raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))

    def set_dynamic_shape(self, dymshape: str) -> int:
        self._set_context()
        _error("check dynamic shape failed")
        raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))

    def set_custom_outsize(self, sizes) -> int:
        self._set_context()
        self._custom_sizes = [int(s) for s in sizes]
        return 0

    def get_dym_aipp_input_exist(self) -> int:
        self._set_context()
        return 0

    def check_dym_aipp_input_exist(self) -> None:
        self._set_context()

    # -- tensors from files
    def create_tensor_from_fileslist(self, desc: tensor_desc, files: list[str]) -> Tensor:
        self._set_context()
        want = int(np.prod([abs(d) for d in desc.shape])) * desc.datatype.numpy.itemsize
        data = bytearray()
        for i, f in enumerate(files):
            try:
                with open(f, "rb") as fh:
                    data += fh.read()
            except OSError:
                _error(f"TensorBaseMalloc i:{i} file:{f} failed ret:1")
                raise RuntimeError(_get_error(FAILED)) from None
        data = bytes(data[:want]).ljust(want, b"\0")
        array = np.frombuffer(data, dtype=desc.datatype.numpy).reshape([abs(d) for d in desc.shape])
        return Tensor._on_device(array.copy(), self._device)

    # -- inference
    def run(self, output_names: list[str], feeds) -> list[Tensor]:
        """InferVector / InferMap / InferBaseTensorVector, by the type of ``feeds``."""
        self._set_context()
        if isinstance(feeds, dict):
            if len(feeds) != len(self._inputs):
                _error(f"intensors size:{len(feeds)} need size:{len(self._inputs)} not match")
                raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))
            blobs = []
            for i, d in enumerate(self._inputs):
                if d.name not in feeds:
                    _error(f"intensors i:{i} name:{d.name} not find")
                    raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))
                blobs.append(np.asarray(feeds[d.name]._array).tobytes())
        else:
            feeds = list(feeds)
            if feeds and all(isinstance(f, BaseTensor) for f in feeds):
                self._device_memory_ok(sum(f.size for f in feeds))
                blobs = [f._bytes() for f in feeds]
                _MemoryTimes.h2d.extend([0.001] * len(blobs))
            elif all(isinstance(f, Tensor) for f in feeds):
                blobs = [f._array.tobytes() for f in feeds]
            else:
                raise TypeError("run(): incompatible function arguments (expected Tensor or BaseTensor feeds)")
        self._check_sizes(blobs)
        return self._inference(output_names, blobs)

    def _check_sizes(self, blobs: list[bytes]) -> None:
        for i, blob in enumerate(blobs[: len(self._inputs)]):
            d = self._inputs[i]
            if len(blob) != d.realsize:
                _error(f"Check i:{i} name:{d.name} in size:{len(blob)} needsize:{d.realsize} not match")
                _error("Check InVector failed ret:-1")
                raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))

    def run_pipeline(self, output_names, inputs_list, shapes_list, auto_dym_shape=False, auto_dym_dims=False):
        """msit's ``PyInferenceSession::InferPipeline``: every feed list goes through H2D, execute and D2H
        (three threads with depth-3 queues in C++; one after another here), and the outputs of all of them
        come back together at the end, already on the host. Every feed is checked against the input size
        the front-end set once before the call (from the last feed list's shapes): feeds of one shape."""
        if auto_dym_shape or auto_dym_dims:
            return self._not_imitated()
        self._set_context()
        results = []
        for feeds in inputs_list:
            feeds = list(feeds)
            if not feeds or not all(isinstance(f, BaseTensor) for f in feeds):
                raise TypeError("run_pipeline(): incompatible function arguments (expected lists of BaseTensor)")
            self._device_memory_ok(sum(f.size for f in feeds))
            blobs = [f._bytes() for f in feeds]
            _MemoryTimes.h2d.extend([0.001] * len(blobs))
            self._check_sizes(blobs)
            outs = self._inference(output_names, blobs)
            for t in outs:
                t.to_host()
            results.append(outs)
        _fakeom.log_call("run_pipeline", lineage=LINEAGE, device=self._device, pid=os.getpid(), feeds=len(results))
        return results

    def _inference(self, output_names: list[str], blobs: list[bytes]) -> list[Tensor]:
        if len(blobs) != len(self._inputs):
            _warn(f"intensors in:{len(blobs)} need:{len(self._inputs)} not match")
            _error("Set InputsData failed ret:-1")
            raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))
        m = self._model
        batch = self._batch if self._dynamic == "dymbatch" else m.input_shape[0]
        if batch == -1:  # a dynamic-batch OM run with no batch size set (stand-in's model of it)
            batch = m.max_batch
        x = np.frombuffer(blobs[0], dtype=np.float32).reshape([batch, *m.input_shape[1:]])
        loop = max(1, int(self._options.loop))
        if loop > 1:
            _c_print("\n")
        outs = None
        for i in range(loop):
            outs = self._execute(x)
            if loop > 1:
                _c_print(f"\rloop inference exec: ({i + 1}/{loop})")
        if loop > 1:
            _c_print("\n")
        self._copy_back_ok()
        names = {n: k for k, n in enumerate(m.output_names)}
        result = []
        for name in output_names:
            if name not in names:
                _error(f"outnames {name} not valid")
                _error("Get OutTensors failed ret:-1")
                raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))
            result.append(Tensor._on_device(np.ascontiguousarray(outs[names[name]]), self._device))
        return result

    def _execute(self, x: np.ndarray) -> list:
        global _exec_count
        with _exec_lock:
            _exec_count += 1
            n = _exec_count
        hang_at = os.environ.get("FAKE_AIS_HANG_EXEC")
        if hang_at and n == int(hang_at):  # AISBench/benchmark#232: aclmdlExecute never returns
            threading.Event().wait()
        fail_at = os.environ.get("FAKE_AIS_FAIL_EXEC")
        unset = self._model.input_shape[0] == -1 and self._dynamic != "dymbatch"
        if (fail_at and n == int(fail_at)) or unset:
            _c_print("EE9999: Inner Error! aclmdlExecute failed.\n")
            _error(f"execute model failed, modelId is {id(self) % 1000}")
            _error("acl execute failed:1")
            _error("Execute Infer failed ret:-1")
            raise RuntimeError(_get_error(APP_ERR_ACL_FAILURE))
        start = time.perf_counter()
        delay = float(os.environ.get("FAKE_AIS_EXEC_MS") or 0)
        if delay:
            time.sleep(delay / 1000)
        outs = self._model.run(x)
        end = time.perf_counter()
        if MSIT:
            self._times.append(((start - self._zero) * 1000, (end - self._zero) * 1000))
        else:
            self._times.append((end - start) * 1000)
        return outs

    # -- inner-iteration APIs of msit (not imitated)
    def _not_imitated(self, *_args, **_kwargs):
        raise RuntimeError("aclruntime stand-in: inner-iteration and dynamic-shape pipeline inference are not imitated")

    first_inner_run = inner_run = _not_imitated

    # -- teardown
    def _destroy(self) -> None:
        if self._model is not None:
            self._model = None
            _debug("PyInferSession DestroySession successfully!")

    def _finalize_tools(self) -> int:
        """tools: PyInferenceSession::Finalize - SetContext, unload this model, tear the process down."""
        if not _Acl.initialized:  # already torn down: SetContext fails, the error is returned, not raised
            _error(f"acl open device {self._device} failed")
            _error("TensorContext::SetContext failed. ret=100001")
            return 100001
        self._destroy()
        ret = _destroy_devices()
        _fakeom.log_call("finalize", lineage=LINEAGE, device=self._device, pid=os.getpid(), scope="process")
        return ret

    def free_resource(self) -> int:
        """msit: unload this session's model and destroy its own context (other sessions live on)."""
        if not _context_alive(self._device, self._ctx_index, self._ctx_token):
            _error(f"SetContext failed: device {self._device} is not set or context {self._ctx_index} is not created.")
            _error(f"TensorContext::SetContext failed. ret={APP_ERR_ACL_INVALID_PARAM}")
            return APP_ERR_ACL_INVALID_PARAM
        self._destroy()
        with _Acl.lock:
            _Acl.contexts.get(self._device, {}).pop(self._ctx_index, None)
        _debug(f"end to destroy context {self._ctx_index} in device {self._device}")
        _fakeom.log_call("free_resource", lineage=LINEAGE, device=self._device, pid=os.getpid())
        return 0


def _finalize_msit() -> int:
    """msit: static PyInferenceSession::Finalize - the process teardown only."""
    if not _Acl.initialized:
        return 0  # InitDeviceFlag_ already false: nothing to do
    ret = _destroy_devices()
    _fakeom.log_call("finalize", lineage=LINEAGE, device=None, pid=os.getpid(), scope="process")
    return ret


if MSIT:
    InferenceSession.finalize = staticmethod(_finalize_msit)
else:
    InferenceSession.finalize = InferenceSession._finalize_tools
    del InferenceSession.free_resource
    del InferenceSession.get_max_dym_batchsize
    del InferenceSession.get_dym_aipp_input_exist
    del InferenceSession.check_dym_aipp_input_exist
    del InferenceSession.run_pipeline, InferenceSession.first_inner_run, InferenceSession.inner_run


def model(modelPath: str, deviceId: int = 0, options: session_options | None = None) -> InferenceSession:  # noqa: N803
    return InferenceSession(modelPath, deviceId, options)


if MSIT:

    class infer_options:  # noqa: N801 - only to exist (the CLI's pipeline options are not imitated)
        def __init__(self):
            self.output_dir = ""
            self.auto_dym_shape = False
            self.auto_dym_dims = False
            self.out_format = "BIN"
            self.pure_infer_mode = False
            self.output_names = []
            self.shapes_list = []
