"""What the two CLIs share (their io_oprations / utils modules): how an input folder becomes batches and
how outputs are named and written. The statistics and the summary JSON are in ``_summary.py``.

Imitated behaviour (both lineages):
- an input folder lists ``*.bin``/``*.npy`` (any case of the suffix), natural-sorted; the first file's
  size must divide input 0's ``realsize`` and that many files make one batch, the last batch padded
  with copies of its first file (no output is written for the padding);
- pure inference (no ``--input``): one batch of zero bytes (``--pure_data_type random``: random bytes);
- output ``k`` of a sample is ``<output prefix>/<basename(input).split('.')[0]>_<k>.<fmt>`` - only the
  text before the first dot of the input's name is kept, so ``a.v2.bin`` and ``a.v3.bin`` both
  become ``a_0.bin`` and the second overwrites the first;
- each output is split along ``--output_batchsize_axis`` into one piece per sample: BIN is the raw
  bytes and NPY the array, both in the OM's output dtype (float16 for an ``--output_type=FP16`` OM),
  with shape ``(1, N)``; TXT is one line per row of ``%f`` values, each followed by a space;
- the summary JSON ``<output prefix>_summary.json`` gets, per sample, ``filesinfo`` (``infiles``,
  ``outfiles``) from here; its figures and console block: ``_summary.py``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import sys

import numpy as np

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="[%(levelname)s] %(message)s")
logger = logging.getLogger("ais_bench.infer.utils")

PURE_INFER_FAKE_FILE = "pure_infer_data"
PURE_INFER_FAKE_FILE_ZERO = "pure_infer_data_zero"
PURE_INFER_FAKE_FILE_RANDOM = "pure_infer_data_random"
PADDING_INFER_FAKE_FILE = "padding_infer_fake_file"
SUFFIXES = (".npy", ".NPY", ".bin", ".BIN")


class PlainFiles:
    """The 2023 front-end: files are listed, read and written as they are."""

    def list_dir(self, dir_path: str) -> list[str]:
        if not os.path.exists(dir_path):
            logger.error(f"dir:{dir_path} not exist")
            raise RuntimeError()
        return [os.path.join(dir_path, f) for f in os.listdir(dir_path) if f.endswith(SUFFIXES)]

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def open_write(self, path: str):
        return open(path, "wb")


_PROGRESS = {
    "array": "Inference array Processing",
    "files": "Inference files Processing",
    "full": "Inference Processing full",
    "tensor": "Inference tensor Processing",
}


def progress(batches: list, run_mode: str):
    """The tqdm bar both CLIs draw on stdout while inferring."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a requirement of ais_bench; the stand-in does without it
        return batches
    return tqdm(batches, file=sys.stdout, desc=_PROGRESS.get(run_mode, "Inference Processing"))


def natural_sort(items: list[str]) -> list[str]:
    def key(text):
        return [int(t) if t.isdigit() else t.lower() for t in re.split("([0-9]+)", text)]

    return sorted(items, key=key)


def list_split(items: list, n: int, padding):
    for x in range(0, len(items), n):
        chunk = items[x : x + n]
        yield chunk + [padding] * (n - len(chunk))


def list_share(items: list, count: int, num: int, left: int):
    head = 0
    for i in range(count):
        size = num + 1 if i < left else num
        yield items[head : head + size]
        head += size


def get_fileslist_from_dir(files, dir_path: str) -> list[str]:
    found = files.list_dir(dir_path)
    if not found:
        logger.error(f"{dir_path} of input args not find valid file,valid file format:[*.npy *.NPY *.bin *.BIN]")
        raise RuntimeError()
    return natural_sort(sorted(found))


def get_file_datasize(path: str) -> int:
    if path.endswith((".npy", ".NPY")):
        return np.load(path).nbytes
    return os.path.getsize(path)


def get_file_content(files, path: str) -> np.ndarray:
    if path.endswith((".npy", ".NPY")):
        return np.load(path)
    return np.frombuffer(files.read(path), dtype=np.int8)


def get_pure_infer_data(size: int, pure_data_type: str) -> np.ndarray:
    if pure_data_type == "random":
        data = bytearray(random.randrange(0, 256) for _ in range(size))
    else:
        data = bytearray(size)
    return np.frombuffer(data, dtype=np.uint8)


def get_narray_from_files_list(files, files_list, size, pure_data_type, no_combine_tensor_mode=False):
    pure = {
        PURE_INFER_FAKE_FILE: pure_data_type,
        PURE_INFER_FAKE_FILE_ZERO: "zero",
        PURE_INFER_FAKE_FILE_RANDOM: "random",
    }
    arrays = []
    for path in files_list:
        if path in pure:
            arrays.append(get_pure_infer_data(size, pure[path]))
        elif path == PADDING_INFER_FAKE_FILE:
            arrays.append(get_file_content(files, files_list[0]))
        elif path is None or not os.path.exists(path):
            logger.error(f"filepath:{path} not valid")
            raise RuntimeError()
        else:
            arrays.append(get_file_content(files, path))
    if len(arrays) == 1:
        return arrays[0]
    data = np.concatenate(arrays)
    if not no_combine_tensor_mode and data.nbytes != size:
        logger.error(f"ndata size:{data.nbytes} not match {size}")
        raise RuntimeError()
    return data


def get_files_count_per_batch(intensors_desc, fileslist, no_combine_tensor_mode=False):
    filesize = get_file_datasize(fileslist[0][0])
    tensorsize = intensors_desc[0].realsize
    if no_combine_tensor_mode:
        per_batch = 1
    else:
        if filesize == 0 or tensorsize % filesize != 0:
            logger.error(f"arg0 tensorsize: {tensorsize} filesize: {filesize} not match")
            raise RuntimeError()
        per_batch = tensorsize // filesize
    if per_batch == 0:
        logger.error("files count per batch is zero")
        raise RuntimeError()
    runcount = math.ceil(len(fileslist[0]) / per_batch)
    logger.info(
        f"get filesperbatch files0 size:{filesize} tensor0size:{tensorsize} "
        f"filesperbatch:{per_batch} runcount:{runcount}"
    )
    return per_batch, runcount


def create_infileslist_from_fileslist(fileslist, intensors_desc, no_combine_tensor_mode=False):
    if len(intensors_desc) != len(fileslist):
        logger.error(f"fileslist:{len(fileslist)} intensor:{len(intensors_desc)} not match")
        raise RuntimeError()
    per_batch, runcount = get_files_count_per_batch(intensors_desc, fileslist, no_combine_tensor_mode)
    batched = [list(list_split(fileslist[j], per_batch, PADDING_INFER_FAKE_FILE)) for j in range(len(intensors_desc))]
    return [[batched[j][i] for j in range(len(intensors_desc))] for i in range(runcount)]


def check_input_parameter(inputs_list, intensors_desc):
    if not inputs_list:
        logger.error("Invalid args. Input args are empty")
        raise RuntimeError()
    if os.path.isfile(inputs_list[0]):
        for index, path in enumerate(inputs_list):
            real = os.readlink(path) if os.path.islink(path) else path
            if not os.path.isfile(real):
                logger.error(f"Invalid input args.--input:{inputs_list} input[{index}]:{path} {real} not exist")
                raise RuntimeError()
    elif os.path.isdir(inputs_list[0]):
        if len(inputs_list) != len(intensors_desc):
            logger.error(
                f"Invalid args. args input dir num:{len(inputs_list)} "
                f"not equal to model inputs num:{len(intensors_desc)}"
            )
            raise RuntimeError()
        for path in inputs_list:
            real = os.readlink(path) if os.path.islink(path) else path
            if not os.path.isdir(real):
                logger.error(f"Invalid args. {real} of input args is not a real dir path")
                raise RuntimeError()
    else:
        logger.error(f"Invalid args. {inputs_list[0]}  of --input is invalid")
        raise RuntimeError()


def create_infileslist_from_inputs_list(files, inputs_list, intensors_desc, no_combine_tensor_mode=False):
    check_input_parameter(inputs_list, intensors_desc)
    count, tensors = len(inputs_list), len(intensors_desc)
    if os.path.isfile(inputs_list[0]):
        fileslist = list(list_split(inputs_list, count // tensors, PADDING_INFER_FAKE_FILE))
    elif os.path.isdir(inputs_list[0]) and count == tensors:
        fileslist = [get_fileslist_from_dir(files, d) for d in inputs_list]
    else:
        logger.error(f"create intensors list filelists:{count} intensorcont:{tensors} error create")
        raise RuntimeError()
    infileslist = create_infileslist_from_fileslist(fileslist, intensors_desc, no_combine_tensor_mode)
    if not infileslist:
        logger.error(f"create_infileslist_from_fileslist return infileslist size: {len(infileslist)}")
        raise RuntimeError()
    return infileslist


def output_name(input_path: str, k: int, outfmt: str) -> str:
    """The tool's rule: the input's basename up to its first dot, then ``_<k>.<fmt>``."""
    return "{}_{}.{}".format(os.path.basename(input_path).split(".")[0], k, outfmt.lower())


def save_data_to_files(files, path: str, ndata: np.ndarray) -> None:
    if path.endswith((".NPY", ".npy")):
        with files.open_write(path) as f:
            np.save(f, ndata)
    elif path.endswith((".TXT", ".txt")):
        rows = ndata.reshape(-1, ndata.shape[-1])
        fmt = "%f" if ndata.dtype in (np.float16, np.float32, np.float64) else "%d"
        with files.open_write(path) as f:
            for row in rows:
                np.savetxt(f, np.c_[row], fmt=fmt, newline=" ")
                f.write(b"\n")
    else:
        with files.open_write(path) as f:
            ndata.tofile(f)


def save_tensors_to_file(files, summary, outputs, output_prefix, infiles_paths, outfmt, index, axis):
    per_batch = len(infiles_paths[0])
    per_sample = np.transpose(infiles_paths)
    for k, out in enumerate(outputs):
        ndata = np.array(out)
        if axis >= len(ndata.shape):
            logger.error(
                f"error i:{k} ndata.shape:{ndata.shape} len:{len(ndata.shape)} "
                f"<= output_batchsize_axis:{axis}  is invalid"
            )
            raise RuntimeError()
        if per_batch != 1 and ndata.shape[axis] % per_batch != 0:
            logger.error(
                f"save out files error array shape:{ndata.shape} filesinfo:{infiles_paths} "
                f"files_count_perbatch:{per_batch} ndata.shape{axis}:{ndata.shape[axis]}"
            )
            raise RuntimeError()
        pieces = np.array_split(ndata, per_batch, axis)
        for j in range(per_batch):
            sample_id = index * per_batch + j
            if per_sample[j][0] == PADDING_INFER_FAKE_FILE:
                continue
            path = os.path.join(output_prefix, output_name(str(per_sample[j][0]), k, outfmt))
            summary.add_sample_id_infiles(sample_id, [str(p) for p in per_sample[j]])
            summary.append_sample_id_outfile(sample_id, path)
            save_data_to_files(files, path, pieces[j])
