"""``python3 -m ais_bench`` as the mid-2024 msit front-end has it (ais_bench/infer/__main__.py and
benchmark_process.py of ait/components/benchmark; ``ait benchmark`` runs the same code with dashed
flags such as ``--om-model``/``--output-dirname``).

Imitated behaviour, beyond what the 2023 CLI does (see _cli_tools):
- every path argument is checked while the arguments are parsed (see _msit_paths): ``--model`` must
  be a readable, non-link, not group/other-writable ``.om`` within 10 GB; each ``--input`` path and
  ``--output``/``--output_dirname`` likewise; an illegal one is an argparse error (exit 2), e.g.
  ``argument --model/-m: om path:<p> is illegal. Please check.``; later every file of an input
  folder is checked too (``RuntimeError: input data:<f> is illegal``, a traceback, exit 1);
- ``--output_dirname`` may not be absolute (``ValueError: --output_dirname do not support abs path!``);
- the version check needs ``pkg_resources``: without it the check logs a warning and then fails
  with ``UnboundLocalError`` (``cannot access local variable 'aclruntime_version' ...``);
- a dynamic-batch OM without ``--dymBatch`` is refused up front
  (``RuntimeError: dynamic batch om model detected, but dymbatch, dymdims or dymshape not set!``);
- the output folder is made with 0o750 and ``--output`` is chmod-ed to 0o750; files are 0o640;
- the summary's ``npu_compute_time_list`` is ``end - start`` of each ``(start, end)`` pair;
- the end is ``session.free_resource()`` then ``InferSession.finalize()``;
- ``--device 0,1``: one process per device, and *each device runs every input* unless
  ``--divide_input true``; outputs go to ``<output>/<dirname>/device<N>_<i>`` (i = position in the list).
"""

from __future__ import annotations

import argparse
import copy
import logging
import multiprocessing
import os
import re
import sys
import time

from ais_bench.infer import _io, _summary
from ais_bench.infer._io import logger
from ais_bench.infer._msit_paths import CheckedFiles, FileStat
from ais_bench.infer.interface import InferSession, MemorySummary

FILES = CheckedFiles()
summary = _summary.Summary("msit2024")
OM_MODEL_MAX_SIZE = 10 * 1024 * 1024 * 1024
ACL_JSON_MAX_SIZE = 8 * 1024
AIPP_CONFIG_MAX_SIZE = 12.5 * 1024
PERMISSION_DIR = 0o750


# ---- argument checks (args_check.py) ----------------------------------------------------------------


def check_dym_string(value):
    if value and re.search(r"[^_A-Za-z0-9,;:/.-]", value):
        raise argparse.ArgumentTypeError(f'dym string "{value}" is not a legal string')
    return value


def check_dym_range_string(value):
    if value and re.search(r"[^_A-Za-z0-9,;:/.\-~]", value):
        raise argparse.ArgumentTypeError(f'dym range string "{value}" is not a legal string')
    return value


def check_number_list(value):
    if value and re.search(r"[^0-9,;]", value):
        raise argparse.ArgumentTypeError(f'number_list "{value}" is not a legal list')
    return value


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
    try:
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
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Argument npu-id invalid input value: {value}. "
            "Please provide a valid integer or a comma-separated list of integers."
        ) from None


def _stat(value: str, what: str) -> FileStat:
    try:
        return FileStat(value)
    except Exception as err:
        raise argparse.ArgumentTypeError(f"{what} path:{value} is illegal. Please check.") from err


def check_om_path_legality(value):
    fs = _stat(value, "om")
    if (
        not fs.is_basically_legal("read")
        or not fs.is_legal_file_type(["om"])
        or not fs.is_legal_file_size(OM_MODEL_MAX_SIZE)
    ):
        raise argparse.ArgumentTypeError(f"om path:{value} is illegal. Please check.")
    return value


def check_input_path_legality(value):
    if not value:
        return value
    for path in value.split(","):
        if not _stat(path, "input").is_basically_legal("read"):
            raise argparse.ArgumentTypeError(f"input path:{path} is illegal. Please check.")
    return value


def check_output_path_legality(value):
    if not value:
        return value
    if not _stat(value, "weight").is_basically_legal("write"):
        raise argparse.ArgumentTypeError(f"output path:{value} is illegal. Please check.")
    return value


def _check_read_file(value, what, suffix, max_size):
    if not value:
        return value
    fs = _stat(value, what)
    if not fs.is_basically_legal("read") or not fs.is_legal_file_type([suffix]) or not fs.is_legal_file_size(max_size):
        raise argparse.ArgumentTypeError(f"{what} path:{value} is illegal. Please check.")
    return value


def check_acl_json_path_legality(value):
    return _check_read_file(value, "acl json", "json", ACL_JSON_MAX_SIZE)


def check_aipp_config_path_legality(value):
    return _check_read_file(value, "aipp config", "config", AIPP_CONFIG_MAX_SIZE)


def get_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--model", "-m", type=check_om_path_legality, required=True, help="The path of the om model")
    p.add_argument("--input", "-i", type=check_input_path_legality, default=None, help="Input file or dir")
    p.add_argument("--output", "-o", type=check_output_path_legality, default=None)
    p.add_argument("--output_dirname", type=check_output_path_legality, default=None)
    p.add_argument("--outfmt", default="BIN", choices=["NPY", "BIN", "TXT"])
    p.add_argument("--loop", "-l", type=check_positive_integer, default=1)
    p.add_argument("--debug", type=str2bool, default=False)
    p.add_argument("--device", "-d", type=check_device_range_valid, default=0)
    p.add_argument("--dymBatch", dest="dym_batch", type=check_positive_integer, default=0)
    p.add_argument("--dymHW", dest="dym_hw", type=check_dym_string, default=None)
    p.add_argument("--dymDims", dest="dym_dims", type=check_dym_string, default=None)
    p.add_argument("--dymShape", "--dym-shape", dest="dym_shape", type=check_dym_string, default=None)
    p.add_argument("--outputSize", dest="output_size", type=check_number_list, default=None)
    p.add_argument("--auto_set_dymshape_mode", type=str2bool, default=False)
    p.add_argument("--auto_set_dymdims_mode", type=str2bool, default=False)
    p.add_argument("--batchsize", type=check_batchsize_valid, default=None)
    p.add_argument("--pure_data_type", type=str, default="zero", choices=["zero", "random"])
    p.add_argument("--profiler", type=str2bool, default=False)
    p.add_argument("--dump", type=str2bool, default=False)
    p.add_argument("--acl_json_path", type=check_acl_json_path_legality, default=None)
    p.add_argument("--output_batchsize_axis", type=check_nonnegative_integer, default=0)
    p.add_argument("--run_mode", type=str, default="array", choices=["array", "files", "tensor", "full"])
    p.add_argument("--display_all_summary", type=str2bool, default=False)
    p.add_argument("--warmup_count", "--warmup-count", type=check_nonnegative_integer, default=1)
    p.add_argument("--dymShape_range", dest="dym_shape_range", type=check_dym_range_string, default=None)
    p.add_argument("--aipp_config", type=check_aipp_config_path_legality, default=None)
    p.add_argument("--energy_consumption", type=str2bool, default=False)
    p.add_argument("--npu_id", type=check_nonnegative_integer, default=0)
    p.add_argument("--backend", type=str, default=None, choices=["trtexec"])
    p.add_argument("--perf", type=str2bool, default=False)
    p.add_argument("--pipeline", type=str2bool, default=False)
    p.add_argument("--profiler_rename", type=str2bool, default=True)
    p.add_argument("--dump_npy", type=str2bool, default=False)
    p.add_argument("--divide_input", type=str2bool, default=False)
    p.add_argument("--threads", dest="threads", type=check_positive_integer, default=1)
    return p.parse_args(argv)


# ---- miscellaneous.py --------------------------------------------------------------------------------


def get_modules_version(name):
    try:
        import pkg_resources
    except ImportError as err:
        raise Exception("importerror") from err
    return pkg_resources.get_distribution(name).version


def version_check(args):
    try:
        aclruntime_version = get_modules_version("aclruntime")
    except Exception:  # noqa: BLE001 - as the msit front-end does; then it reads the unset name below
        logger.warning("can't find aclruntime, please visit gitee ait to install ais_bench(benchmark)")
        args.run_mode = "tensor"
    if aclruntime_version != "0.0.2":
        logger.warning(
            f"aclruntime{aclruntime_version} version is lower please update aclruntime follow any one method"
        )
        args.run_mode = "tensor"


def get_batchsize(session, args):
    desc = session.get_inputs()
    batchsize = desc[0].shape[0]
    if args.dym_batch != 0:
        batchsize = int(args.dym_batch)
    elif args.dym_dims is not None or args.dym_shape is not None:
        for elem in (args.dym_dims if args.dym_dims is not None else args.dym_shape).split(";"):
            cut = elem.rfind(":")
            if elem[:cut] == desc[0].name:
                batchsize = int(elem[cut + 1 :].split(",")[0])
    return batchsize


def get_acl_json_path(args):
    if args.acl_json_path is not None:
        return args.acl_json_path
    if not args.profiler and not args.dump:
        return None
    raise RuntimeError("ais_bench stand-in: --profiler/--dump are not imitated")


# ---- benchmark_process.py ----------------------------------------------------------------------------


def set_session_options(session, args):
    aipp_batchsize = -1
    if args.dym_batch != 0:
        session.set_dynamic_batchsize(args.dym_batch)
        aipp_batchsize = session.get_max_dym_batchsize()
    elif args.dym_hw is not None:
        w, h = args.dym_hw.split(",")
        session.set_dynamic_hw(int(w), int(h))
    elif args.dym_dims is not None:
        session.set_dynamic_dims(args.dym_dims)
    elif args.dym_shape is not None:
        session.set_dynamic_shape(args.dym_shape)
    else:
        session.set_staticbatch()
    if args.batchsize is None:
        args.batchsize = get_batchsize(session, args)
        logger.info(f"try get model batchsize:{args.batchsize}")
    if not args.auto_set_dymshape_mode and not args.auto_set_dymdims_mode:
        if args.batchsize < 0 and not args.dym_batch and not args.dym_dims and not args.dym_shape:
            raise RuntimeError("dynamic batch om model detected, but dymbatch, dymdims or dymshape not set!")
    aipp_input_exist = (
        0 if args.dym_shape is not None or args.auto_set_dymshape_mode else session.get_dym_aipp_input_exist()
    )
    if args.aipp_config is not None and aipp_input_exist == 1:
        session.load_aipp_config_file(args.aipp_config, aipp_batchsize if aipp_batchsize >= 0 else args.batchsize)
    elif args.aipp_config is None and aipp_input_exist == 1:
        logger.error("can't find aipp config file for model with dym aipp input , please check it!")
        raise RuntimeError("aipp model without aipp config!")
    if args.output_size is not None:
        session.set_custom_outsize([int(n) for n in args.output_size.split(",")])


def init_inference_session(args, acl_json_path):
    session = InferSession(args.device, args.model, acl_json_path, args.debug, args.loop)
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
    session.reset_summaryinfo()
    MemorySummary.reset()
    logger.info(f"warm up {args.warmup_count} done")


def _run_all(session, args, intensors_desc, infileslist, output_prefix):
    if args.run_mode not in ("array", "files", "tensor", "full"):
        raise RuntimeError(f"wrong run_mode:{args.run_mode}")
    for i, infiles in enumerate(_io.progress(infileslist, args.run_mode)):
        feeds = [_feed(session, args, files, intensors_desc[j]) for j, files in enumerate(infiles)]
        outputs = session.run(feeds)
        session.convert_tensors_to_host(outputs)
        if output_prefix is not None:
            _io.save_tensors_to_file(
                FILES, summary, outputs, output_prefix, infiles, args.outfmt, i, args.output_batchsize_axis
            )


def main(args, index=0, msgq=None, device_list=None):
    if msgq is not None:
        logger.info(f"subprocess_{index} main run")
    if args.debug:
        logger.setLevel(logging.DEBUG)
    session = init_inference_session(args, get_acl_json_path(args))
    intensors_desc = session.get_inputs()
    if args.output is not None:
        dirname = args.output_dirname if args.output_dirname is not None else time.strftime("%Y_%m_%d-%H_%M_%S")
        output_prefix = os.path.join(args.output, dirname)
        if device_list is not None and len(device_list) > 1:
            output_prefix = os.path.join(output_prefix, f"device{device_list[index]}_{index}")
        if not os.path.exists(output_prefix):
            os.makedirs(output_prefix, PERMISSION_DIR)
        os.chmod(args.output, PERMISSION_DIR)
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
    summary.npu_compute_time_list = [end - start for start, end in session.summary().exec_time_list]
    summary.h2d_latency_list = MemorySummary.get_h2d_time_list()
    summary.d2h_latency_list = MemorySummary.get_d2h_time_list()
    summary.report(args.batchsize, output_prefix, args.display_all_summary, files=FILES)
    if msgq is not None:
        msgq.put([index, summary.infodict["throughput"], start_time, end_time])
    session.free_resource()
    InferSession.finalize()


def _subprocess_error(value):
    logger.error(f"subprocess run failed error_callback:{value}")


def seg_input_data_for_multi_process(args, inputs, jobs):
    inputs_list = [] if inputs is None else inputs.split(",")
    if os.path.isfile(inputs_list[0]):
        fileslist = inputs_list
    elif os.path.isdir(inputs_list[0]):
        fileslist = [f for d in inputs_list for f in _io.get_fileslist_from_dir(FILES, d)]
    else:
        logger.error(f"error {inputs_list[0]} not file or dir")
        raise RuntimeError()
    args.device = 0
    session = init_inference_session(args, get_acl_json_path(args))
    intensors_desc = session.get_inputs()
    chunk_len = -(-len(fileslist) // len(intensors_desc))
    per_job = [[] for _ in range(jobs)]
    for chunk in _io.list_split(fileslist, chunk_len, None):
        for j, piece in enumerate(_io.list_share(chunk, jobs, len(chunk) // jobs, len(chunk) % jobs)):
            per_job[j].extend(piece)
    return [",".join(f for f in files if f) for files in per_job]


def multidevice_run(args):
    logger.info(f"multidevice:{args.device} run begin")
    devices = args.device
    pool = multiprocessing.get_context("fork").Pool(len(devices))
    msgq = multiprocessing.Manager().Queue()
    args.subprocess_count = len(devices)
    splits = None
    if args.input is not None and args.divide_input:
        splits = seg_input_data_for_multi_process(args, args.input, len(devices))
    for i, device in enumerate(devices):
        cur = copy.deepcopy(args)
        cur.device = int(device)
        if args.divide_input:
            cur.input = None if splits is None else splits[i]
        pool.apply_async(main, args=(cur, i, msgq, devices), error_callback=_subprocess_error)
    pool.close()
    pool.join()
    result = 0 if 2 * len(devices) == msgq.qsize() else 1
    logger.info(f"multidevice run end qsize:{msgq.qsize()} result:{result}")
    rates = []
    while msgq.qsize() != 0:
        item = msgq.get()
        if isinstance(item, list):
            logger.info(
                f"i:{item[0]} device_{devices[item[0]]} throughput:{item[1]} start_time:{item[2]} end_time:{item[3]}"
            )
            rates.append(item[1])
    logger.info(f"summary throughput:{sum(rates)}")
    return result


def args_rules(args):
    if args.profiler and args.dump:
        logger.error("parameter --profiler cannot be true at the same time as parameter --dump, please check them!\n")
        raise RuntimeError("error bad parameters --profiler and --dump")
    if args.output_dirname and args.output_dirname[0] == "/":
        raise ValueError("--output_dirname do not support abs path!")
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
    if args.threads > 1 and not args.pipeline:
        logger.info("need to set --pipeline when setting threads number to be more than one.")
        args.threads = 1
    return args


def benchmark_process(args) -> int:
    args = args_rules(args)
    version_check(args)
    if args.perf or args.backend or args.pipeline:
        raise RuntimeError("ais_bench stand-in: --perf/--backend/--pipeline are not imitated")
    if args.profiler:
        logger.info("find no msprof continue use acl.json mode, result won't be parsed as csv")
    if args.dym_shape_range is not None and args.dym_shape is None:
        raise RuntimeError("ais_bench stand-in: --dymShape_range is not imitated")
    if isinstance(args.device, list):
        return multidevice_run(args)
    main(args)
    return 0


def cli_main(argv=None) -> int:
    return benchmark_process(get_args(argv))
