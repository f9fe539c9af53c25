"""get_info.py: the guide's name for gen_dataset_info.py (the same step and arguments; see -h)."""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # common/ inside this folder (travelled) or the repository's
from common.guide import main  # noqa: E402

main("gen_dataset_info", __file__)
