"""imagenet_acc_eval.py: the guide's name for postprocess.py (the same step and arguments; see -h)."""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # common/ inside this folder (travelled) or the repository's
from common.guide import main  # noqa: E402

main("postprocess", __file__)
