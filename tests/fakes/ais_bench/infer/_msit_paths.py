"""The path checks of the msit front-end (ais_bench/infer/path_security_check.py, June 2024).

Imitated behaviour, on Linux:
- a path may hold only ``[_A-Za-z0-9/.-]``: anything else (a space, ``+``, ``:``, non-ASCII) logs
  ``path:<p> contains illegal char, legal chars include A-Z a-z 0-9 _ - / .`` and fails; so do a
  path over 4096 characters or a component over 255;
- reading (``--model``, every ``--input`` path and every file in an input folder, acl json, aipp
  config): the path must exist, must not be a symbolic link (``path :<p> is a soft link, not
  supported, please import file(or directory) directly``), must belong to the user or one of their
  groups, must not be group- or other-writable (``The file <p> is group writable, or is others
  writable, as import file(or directory), permission should not be over 0o755(rwxr-xr-x)``) and must
  be readable;
- writing (``--output``, ``--output_dirname``): if it exists, the same link/owner checks and not
  group/other-writable;
- after each logged error comes ``[SOLUTION] visit ... for detailed solution``;
- files are written with ``os.open(..., 0o640)`` after removing an existing one (``ms_open``).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys

MAX_SIZE_UNLIMITE = -1
MAX_SIZE_LIMITE_CONFIG_FILE = 10 * 1024 * 1024
MAX_SIZE_LIMITE_NORMAL_FILE = 4 * 1024 * 1024 * 1024
PATH_WHITE_LIST_REGEX = re.compile(r"[^_A-Za-z0-9/.-]")
PERMISSION_NORMAL = 0o640
READ_FILE_NOT_PERMITTED_STAT = stat.S_IWGRP | stat.S_IWOTH
WRITE_FILE_NOT_PERMITTED_STAT = stat.S_IWGRP | stat.S_IWOTH
SOLUTION_LEVEL = 35
logging.addLevelName(SOLUTION_LEVEL, "\033[1;32mSOLUTION\033[0m")
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="[%(levelname)s] %(message)s")
logger = logging.getLogger("ais_bench.infer.path_security_check")

_WIKI = '"gitee repo: Ascend/ait, wikis: ait_security_error_log_solution, chapter:'


def solution_log(chapter: str) -> None:
    logger.log(SOLUTION_LEVEL, f'visit \033[1;32m {_WIKI}{chapter}" \033[0m for detailed solution')


def is_legal_path_length(path: str) -> bool:
    if len(path) > 4096:
        logger.error(f"file total path{path} length out of range (4096), please check the file(or directory) path")
        solution_log("path_length_overflow_error_log_solution")
        return False
    for part in path.split("/"):
        if len(part) > 255:
            logger.error(f"file name{part} length out of range (255), please check the file(or directory) path")
            solution_log("path_length_overflow_error_log_solution")
            return False
    return True


def is_match_path_white_list(path: str) -> bool:
    if PATH_WHITE_LIST_REGEX.search(path):
        logger.error(f"path:{path} contains illegal char, legal chars include A-Z a-z 0-9 _ - / .")
        solution_log("path_contain_illegal_char_error_log_solution")
        return False
    return True


def is_legal_args_path_string(path) -> bool:
    return not path or (is_legal_path_length(path) and is_match_path_white_list(path))


class OpenException(Exception):
    pass


class FileStat:
    def __init__(self, file: str):
        if not is_legal_path_length(file) or not is_match_path_white_list(file):
            raise OpenException("create FileStat failed")
        self.file = file
        self.is_exists = os.path.exists(file)
        self.file_stat = os.stat(file) if self.is_exists else None
        self.realpath = os.path.realpath(file) if self.is_exists else None

    @property
    def is_softlink(self) -> bool:
        return os.path.islink(self.file) if self.file_stat else False

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.file_stat.st_mode) if self.file_stat else False

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.file_stat.st_mode) if self.file_stat else False

    @property
    def file_size(self) -> int:
        return self.file_stat.st_size if self.file_stat else 0

    @property
    def permission(self) -> int:
        return stat.S_IMODE(self.file_stat.st_mode) if self.file_stat else 0o777

    @property
    def is_owner(self) -> bool:
        return self.file_stat is not None and self.file_stat.st_uid == os.geteuid()

    @property
    def is_user_or_group_owner(self) -> bool:
        return self.is_owner or (self.file_stat is not None and self.file_stat.st_gid in os.getgroups())

    def is_basically_legal(self, perm: str = "none") -> bool:
        if not self.is_exists and perm != "write":
            logger.error(f"path: {self.file} not exist, please check if file or dir is exist")
            return False
        if self.is_softlink:
            logger.error(f"path :{self.file} is a soft link, not supported, please import file(or directory) directly")
            solution_log("soft_link_error_log_solution")
            return False
        if not self.is_user_or_group_owner and self.is_exists:
            logger.error(
                f"current user isn't path:{self.file}'s owner or ownergroup, make sure current user belong to "
                "file(or directory)'s owner or ownergroup"
            )
            solution_log("owner_or_ownergroup_error_log_solution")
            return False
        if perm == "read":
            if self.permission & READ_FILE_NOT_PERMITTED_STAT:
                logger.error(
                    f"The file {self.file} is group writable, or is others writable, as import file(or directory), "
                    "permission should not be over 0o755(rwxr-xr-x)"
                )
                solution_log("path_permission_error_log_solution")
                return False
            if not os.access(self.realpath, os.R_OK) or not self.permission & stat.S_IRUSR:
                logger.error(
                    f"Current user doesn't have read permission to the file {self.file}, as import file(or directory), "
                    "permission should be at least 0o400(r--------) "
                )
                solution_log("path_permission_error_log_solution")
                return False
        elif perm == "write" and self.is_exists:
            if self.permission & WRITE_FILE_NOT_PERMITTED_STAT:
                logger.error(
                    f"The file {self.file} is group writable, or is others writable, as export file(or directory), "
                    "permission should not be over 0o755(rwxr-xr-x)"
                )
                solution_log("path_permission_error_log_solution")
                return False
            if not os.access(self.realpath, os.W_OK):
                logger.error(
                    f"Current user doesn't have write permission to the file {self.file}, "
                    "as export file(or directory), permission should be at least 0o200(-w-------) "
                )
                solution_log("path_permission_error_log_solution")
                return False
        return True

    def is_legal_file_size(self, max_size) -> bool:
        if not self.is_file:
            logger.error(f"path: {self.file} is not a file")
            return False
        if self.file_size > max_size:
            logger.error(f"file_size:{self.file_size} byte out of max limit {max_size} byte")
            return False
        return True

    def is_legal_file_type(self, file_types: list) -> bool:
        if not self.is_file and self.is_exists:
            logger.error(f"path: {self.file} is not a file")
            return False
        if os.path.splitext(self.file)[1] in {f".{t}" for t in file_types}:
            return True
        logger.error(f"path:{self.file}, file type not in {file_types}")
        return False


def ms_open(file, mode="r", max_size=None, softlink=False, write_permission=PERMISSION_NORMAL, **kwargs):
    fs = FileStat(file)
    if fs.is_exists and fs.is_dir:
        raise OpenException(f"Expecting a file, but it's a folder. {file}")
    if "r" in mode:
        if not fs.is_exists:
            raise OpenException(f"No such file or directory {file}")
        if max_size is None:
            raise OpenException(f"Reading files must have a size limit control. {file}")
        if max_size != MAX_SIZE_UNLIMITE and max_size < fs.file_size:
            raise OpenException(f"The file size has exceeded the specifications and cannot be read. {file}")
    if "w" in mode:
        if fs.is_exists and not fs.is_owner:
            raise OpenException(
                f"The file owner is inconsistent with the current process user and is not allowed to write. {file}"
            )
        if fs.is_exists:
            os.remove(file)
    if not softlink and fs.is_softlink:
        raise OpenException(f"Softlink is not allowed to be opened. {file}")
    flags = os.O_RDONLY
    if "+" in mode:
        flags |= os.O_RDWR
    elif "w" in mode or "a" in mode or "x" in mode:
        flags |= os.O_WRONLY
    if "w" in mode or "x" in mode:
        flags |= os.O_TRUNC | os.O_CREAT
    if "a" in mode:
        flags |= os.O_APPEND | os.O_CREAT
    return os.fdopen(os.open(file, flags, mode=write_permission), mode, **kwargs)


class CheckedFiles:
    """The msit front-end: every listed, read and written file goes through the checks above."""

    def list_dir(self, dir_path: str) -> list[str]:
        found = []
        for name in os.listdir(dir_path):
            path = os.path.join(dir_path, name)
            fs = FileStat(path)
            if not fs.is_basically_legal("read"):
                raise RuntimeError(f"input data:{path} is illegal")
            if fs.is_dir:
                continue
            if name.endswith((".npy", ".NPY", ".bin", ".BIN")):
                found.append(path)
        return found

    def read(self, path: str) -> bytes:
        with ms_open(path, mode="rb", max_size=MAX_SIZE_LIMITE_NORMAL_FILE) as f:
            return f.read()

    def open_write(self, path: str):
        return ms_open(path, mode="wb")
