"""``python3 -m ais_bench`` as the 2023 Ascend/tools front-end has it (ais_bench/infer/__main__.py).

Imitated behaviour:
- flags: ``--model/-m`` (required), ``--input/-i``, ``--output/-o``, ``--output_dirname``, ``--outfmt``
  {NPY,BIN,TXT} (default BIN), ``--loop/-l`` (default 1), ``--debug``, ``--device/-d`` (an int, or a
  comma list), ``--dymBatch`` (default 0), ``--dymHW``, ``--dymDims``, ``--dymShape``, ``--outputSize``,
  ``--auto_set_dymshape_mode``, ``--auto_set_dymdims_mode``, ``--batchsize`` (only used for the
  throughput figure: never checked against the model), ``--pure_data_type`` {zero,random},
  ``--profiler``, ``--dump``, ``--acl_json_path``, ``--output_batchsize_axis``, ``--run_mode``
  {array,files,tensor,full} (default array), ``--display_all_summary``, ``--warmup_count`` (default 1),
  ``--dymShape_range``; argparse's prefix matching is on (``--dymbatch`` is not ``--dymBatch``, but
  ``--warmup`` is ``--warmup_count``);
- the version check imports ``pkg_resources`` inside a bare ``try``: without it (setuptools >= 81)
  it warns ``aclruntime version:None is lower ...`` and switches to ``run_mode=tensor``, no crash;
- output folder ``<output>/<output_dirname>`` or ``<output>/<%Y_%m_%d-%H_%M_%S>``, made with 0o755;
  the summary is its sibling ``<folder>_summary.json``;
- warm-up: ``--warmup_count`` runs of the first batch with loop 1, then the timings are reset; then
  every batch runs ``--loop`` times; the summary's ``args`` is ``sys.argv`` (a list); at the end
  ``session.finalize()``;
- ``--device 0,1``: one process per device (multiprocessing Pool); the inputs are split into
  contiguous pieces (a session on device 0 is opened in the parent to read the model first); each
  device writes ``<output>/<output_dirname>/device<N>`` and ``.../device<N>_summary.json``; the
  parent prints ``i:<i> device_<N> throughput:<t> ...`` lines and ``[INFO] summary throughput:<sum>``
  and exits 1 if any device failed.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import multiprocessing
import os
import sys
import time

from ais_bench.infer import _io, _summary
from ais_bench.infer._io import logger
from ais_bench.infer.interface import InferSession, MemorySummary

FILES = _io.PlainFiles()
summary = _summary.Summary("tools2023")


def str2bool(v):
    if isinstance(v, bool):
        return v
    if v.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if v.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError("Boolean value expected true, 1, false, 0 with case insensitive.")


def check_positive_integer(value):
    ivalue = int(value)
    if ivalue <= 0:
        raise argparse.ArgumentTypeError(f"{value} is an invalid positive int value")
    return ivalue


def check_batchsize_valid(value):
    return value if value is None else check_positive_integer(value)


def check_nonnegative_integer(value):
    ivalue = int(value)
    if ivalue < 0:
        raise argparse.ArgumentTypeError(f"{value} is an invalid nonnegative int value")
    return ivalue


def check_device_range_valid(value):
    low, high = 0, 255
    if "," in value:
        ids = [int(v) for v in value.split(",")]
        for i in ids:
            if i < low or i > high:
                raise argparse.ArgumentTypeError(
                    f"{i} of device:{value} is invalid. valid value range is [{low}, {high}]"
                )
        return ids
    ivalue = int(value)
    if ivalue < low or ivalue > high:
        raise argparse.ArgumentTypeError(f"device:{ivalue} is invalid. valid value range is [{low}, {high}]")
    return ivalue


def get_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", "-m", required=True, help="the path of the om model")
    p.add_argument("--input", "-i", default=None, help="input file or dir")
    p.add_argument("--output", "-o", default=None, help="inference data output path")
    p.add_argument("--output_dirname", type=str, default=None, help="actual output directory name")
    p.add_argument("--outfmt", default="BIN", choices=["NPY", "BIN", "TXT"], help="Output file format")
    p.add_argument("--loop", "-l", type=check_positive_integer, default=1, help="the round of the PureInfer.")
    p.add_argument("--debug", type=str2bool, default=False, help="Debug switch,print model information")
    p.add_argument("--device", "-d", type=check_device_range_valid, default=0, help="the NPU device ID to use")
    p.add_argument("--dymBatch", type=int, default=0, help="dynamic batch size param")
    p.add_argument("--dymHW", type=str, default=None, help="dynamic image size param")
    p.add_argument("--dymDims", type=str, default=None, help="dynamic dims param")
    p.add_argument("--dymShape", type=str, default=None, help="dynamic shape param")
    p.add_argument("--outputSize", type=str, default=None, help="output size for dynamic shape mode")
    p.add_argument("--auto_set_dymshape_mode", type=str2bool, default=False)
    p.add_argument("--auto_set_dymdims_mode", type=str2bool, default=False)
    p.add_argument("--batchsize", type=check_batchsize_valid, default=None, help="batch size of input tensor")
    p.add_argument("--pure_data_type", type=str, default="zero", choices=["zero", "random"])
    p.add_argument("--profiler", type=str2bool, default=False)
    p.add_argument("--dump", type=str2bool, default=False)
    p.add_argument("--acl_json_path", type=str, default=None)
    p.add_argument("--output_batchsize_axis", type=check_nonnegative_integer, default=0)
    p.add_argument("--run_mode", type=str, default="array", choices=["array", "files", "tensor", "full"])
    p.add_argument("--display_all_summary", type=str2bool, default=False)
    p.add_argument("--warmup_count", type=check_nonnegative_integer, default=1)
    p.add_argument("--dymShape_range", type=str, default=None)
    args = p.parse_args(argv)
    if args.profiler and args.dump:
        logger.error("parameter --profiler cannot be true at the same time as parameter --dump, please check them!\n")
        raise RuntimeError("error bad parameters --profiler and --dump")
    if (args.profiler or args.dump) and args.output is None:
        logger.error("when dump or profiler, miss output path, please check them!")
        raise RuntimeError("miss output parameter!")
    args.no_combine_tensor_mode = bool(args.auto_set_dymshape_mode or args.auto_set_dymdims_mode)
    if args.profiler and args.warmup_count != 0 and args.input is not None:
        logger.info("profiler mode with input change warmup_count to 0")
        args.warmup_count = 0
    if args.output is None and args.output_dirname is not None:
        logger.error(
            "parameter --output_dirname cann't be used alone. Please use it together with the parameter --output!\n"
        )
        raise RuntimeError("error bad parameters --output_dirname")
    return args


def get_modules_version(name):
    try:
        import pkg_resources

        return pkg_resources.get_distribution(name).version
    except Exception:  # noqa: BLE001 - the 2023 front-end swallows everything here
        return None


def version_check(args):
    version = get_modules_version("aclruntime")
    if version is None or version == "0.0.1":
        logger.warning(f"aclruntime version:{version} is lower please update aclruntime follow any one method")
        logger.warning(
            "1. visit https://github.com/Ascend/tools/tree/master/ais-bench_workload/tool/ais_bench to install"
        )
        logger.warning(
            "2. or run cmd: pip3  install -v --force-reinstall 'git+https://github.com/Ascend/tools.git"
            "#egg=aclruntime&subdirectory=ais-bench_workload/tool/ais_bench/backend' to install"
        )
        args.run_mode = "tensor"


def get_acl_json_path(args):
    if args.acl_json_path is not None:
        return args.acl_json_path
    if not args.profiler and not args.dump:
        return None
    import json

    if args.profiler:
        out = os.path.join(args.output, "profiler")
        cfg = {"profiler": {"switch": "on", "aicpu": "on", "output": out, "aic_metrics": ""}}
    else:
        out = os.path.join(args.output, "dump")
        name = args.model.split("/")[-1].split(".")[0]
        cfg = {"dump": {"dump_path": out, "dump_mode": "all", "dump_list": [{"model_name": name}]}}
    os.makedirs(out, 0o755, exist_ok=True)
    path = os.path.join(args.output, "acl.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=4, separators=(", ", ": "), sort_keys=True)
    return path


def get_batchsize(session, args):
    desc = session.get_inputs()
    batchsize = desc[0].shape[0]
    if args.dymBatch != 0:
        batchsize = int(args.dymBatch)
    elif args.dymDims is not None or args.dymShape is not None:
        for elem in (args.dymDims or args.dymShape).split(";"):
            name, shape = elem.split(":")
            if name == desc[0].name:
                batchsize = int(shape.split(",")[0])
    return batchsize


def set_session_options(session, args):
    if args.dymBatch != 0:
        session.set_dynamic_batchsize(args.dymBatch)
    elif args.dymHW is not None:
        w, h = args.dymHW.split(",")
        session.set_dynamic_hw(int(w), int(h))
    elif args.dymDims is not None:
        session.set_dynamic_dims(args.dymDims)
    elif args.dymShape is not None:
        session.set_dynamic_shape(args.dymShape)
    else:
        session.set_staticbatch()
    if args.batchsize is None:
        args.batchsize = get_batchsize(session, args)
        logger.info(f"try get model batchsize:{args.batchsize}")
    if args.outputSize is not None:
        session.set_custom_outsize([int(n) for n in args.outputSize.split(",")])


def init_inference_session(args):
    session = InferSession(args.device, args.model, get_acl_json_path(args), args.debug, args.loop)
    set_session_options(session, args)
    return session


def _feed(session, args, files, desc):
    data = _io.get_narray_from_files_list(FILES, files, desc.realsize, args.pure_data_type, args.no_combine_tensor_mode)
    if args.run_mode in ("tensor", "full"):
        return session.create_tensor_from_arrays_to_device(data)
    return data


def warmup(session, args, intensors_desc, infiles):
    feeds = [_feed(session, args, files, intensors_desc[j]) for j, files in enumerate(infiles)]
    session.set_loop_count(1)
    for _ in range(args.warmup_count):
        session.run(feeds, True)
    session.set_loop_count(args.loop)
    summary.reset()
    session.reset_sumaryinfo()
    MemorySummary.reset()
    logger.info(f"warm up {args.warmup_count} done")


def _run_all(session, args, intensors_desc, infileslist, output_prefix):
    if args.run_mode not in ("array", "files", "tensor", "full"):
        raise RuntimeError(f"wrong run_mode:{args.run_mode}")
    for i, infiles in enumerate(_io.progress(infileslist, args.run_mode)):
        if args.run_mode == "files":
            feeds = [
                session.create_tensor_from_fileslist(intensors_desc[j], _real_files(f)) for j, f in enumerate(infiles)
            ]
        else:
            feeds = [_feed(session, args, files, intensors_desc[j]) for j, files in enumerate(infiles)]
        outputs = session.run(feeds)
        session.convert_tensors_to_host(outputs)
        if output_prefix is not None:
            _io.save_tensors_to_file(
                FILES, summary, outputs, output_prefix, infiles, args.outfmt, i, args.output_batchsize_axis
            )


def _real_files(files):
    out = []
    for f in files:
        if f == _io.PURE_INFER_FAKE_FILE:
            raise RuntimeError("not support pure infer")
        if f.endswith((".npy", ".NPY")):
            raise RuntimeError(f"not support npy file:{f}")
        out.append(files[0] if f == _io.PADDING_INFER_FAKE_FILE else f)
    return out


def main(args, index=0, msgq=None):
    if msgq is not None:
        logger.info(f"subprocess_{index} main run")
    if args.debug:
        logger.setLevel(logging.DEBUG)
    session = init_inference_session(args)
    intensors_desc = session.get_inputs()
    if args.output is not None:
        dirname = args.output_dirname if args.output_dirname is not None else time.strftime("%Y_%m_%d-%H_%M_%S")
        output_prefix = os.path.join(args.output, dirname)
        if not os.path.exists(output_prefix):
            os.makedirs(output_prefix, 0o755)
        logger.info(f"output path:{output_prefix}")
    else:
        output_prefix = None
    inputs_list = [] if args.input is None else args.input.split(",")
    if not inputs_list:
        infileslist = [[[_io.PURE_INFER_FAKE_FILE] for _ in intensors_desc]]
    else:
        infileslist = _io.create_infileslist_from_inputs_list(
            FILES, inputs_list, intensors_desc, args.no_combine_tensor_mode
        )
    warmup(session, args, intensors_desc, infileslist[0])
    if msgq is not None:
        msgq.put(index)
        waited = 0
        while msgq.qsize() < args.subprocess_count and waited <= int(os.environ.get("FAKE_AIS_SYNC_S", "10")):
            waited += 1
            time.sleep(1)
    start_time = time.time()
    _run_all(session, args, intensors_desc, infileslist, output_prefix)
    end_time = time.time()
    summary.add_args(sys.argv)
    summary.npu_compute_time_list = session.sumary().exec_time_list
    summary.h2d_latency_list = MemorySummary.get_H2D_time_list()
    summary.d2h_latency_list = MemorySummary.get_D2H_time_list()
    summary.report(args.batchsize, output_prefix, args.display_all_summary)
    if msgq is not None:
        msgq.put([index, summary.infodict["throughput"], start_time, end_time])
    session.finalize()


def _subprocess_error(value):
    logger.error(f"subprocess run failed error_callback:{value}")


def split_inputs_new(args, inputs, jobs):
    inputs_list = [] if inputs is None else inputs.split(",")
    if os.path.isfile(inputs_list[0]):
        fileslist = inputs_list
    elif os.path.isdir(inputs_list[0]):
        fileslist = [f for d in inputs_list for f in _io.get_fileslist_from_dir(FILES, d)]
    else:
        logger.error(f"error {inputs_list[0]} not file or dir")
        raise RuntimeError()
    args.device = 0
    session = init_inference_session(args)  # read the model on device 0 in this (parent) process
    intensors_desc = session.get_inputs()
    chunks = list(_io.list_split(fileslist, math.ceil(len(fileslist) / len(intensors_desc)), None))
    per_job = [[] for _ in range(jobs)]
    for chunk in chunks:
        for j, piece in enumerate(_io.list_split(chunk, math.ceil(len(chunk) / jobs), None)):
            per_job[j].extend(piece)
    return [",".join(f for f in files if f) for files in per_job]


def multidevice_run(args):
    logger.info(f"multidevice:{args.device} run begin")
    devices = args.device
    pool = multiprocessing.get_context("fork").Pool(len(devices))
    msgq = multiprocessing.Manager().Queue()
    args.subprocess_count = len(devices)
    splits = split_inputs_new(args, args.input, len(devices)) if args.input is not None else None
    for i, device in enumerate(devices):
        cur = copy.deepcopy(args)
        cur.device = int(device)
        cur.input = None if splits is None else splits[i]
        base = args.output_dirname if args.output_dirname is not None else time.strftime("%Y_%m_%d-%H_%M_%S")
        cur.output_dirname = os.path.join(base, f"device{cur.device}")
        pool.apply_async(main, args=(cur, i, msgq), error_callback=_subprocess_error)
    pool.close()
    pool.join()
    result = 0 if 2 * len(devices) == msgq.qsize() else 1
    logger.info(f"multidevice run end qsize:{msgq.qsize()} result:{result}")
    rates = []
    while msgq.qsize() != 0:
        item = msgq.get()
        if isinstance(item, list):
            print(f"i:{item[0]} device_{devices[item[0]]} throughput:{item[1]} start_time:{item[2]} end_time:{item[3]}")
            rates.append(item[1])
    logger.info(f"summary throughput:{sum(rates)}")
    return result


def cli_main(argv=None) -> int:
    args = get_args(argv)
    version_check(args)
    if args.profiler:
        logger.info("find no msprof continue use acl.json mode")
    if args.dymShape_range is not None and args.dymShape is None:
        raise RuntimeError("ais_bench stand-in: --dymShape_range is not imitated")
    if isinstance(args.device, list):
        return multidevice_run(args)
    main(args)
    return 0
