"""The guides' command lines, for the thin scripts in each model folder.

Each script is ``main("<step>", __file__)``: the model comes from the folder the script sits in, so
the same four scripts serve every model and a copied model folder keeps working.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common import manifest
from common.errors import BundleError


def _pth2onnx(m: manifest.Manifest, argv: list[str]) -> None:
    from common import checkpoint, export, sample, settings, weights

    form = m.pth2onnx_args
    p = argparse.ArgumentParser(prog="pth2onnx.py", description=f"Export {m.title} to ONNX (opset {m.opset}).")
    if form[0].startswith("--"):
        p.add_argument("--pth", required=True, help="the checkpoint")
        p.add_argument("--onnx", default=m.onnx_name(1), help="the ONNX file to write")
        p.add_argument("--bs", type=int, default=1, help="batch size (static-batch models only)")
        a = p.parse_args(argv)
        pth, out, bs = a.pth, a.onnx, a.bs
    elif form[0] == "bs":
        p.add_argument("bs", type=int, help="batch size: the ONNX has this fixed batch")
        p.add_argument("pth", help="the checkpoint")
        p.add_argument("onnx", nargs="?", help=f"output (default {m.onnx_file})")
        a = p.parse_args(argv)
        pth, bs = a.pth, a.bs
        out = a.onnx or m.onnx_name(bs)
    else:
        p.add_argument("pth", help="the checkpoint")
        p.add_argument("rest", nargs="*", help="[config.yaml] output.onnx (a pycls yaml is accepted and unused)")
        p.add_argument("--bs", type=int, default=1, help="batch size (static-batch models only)")
        a = p.parse_args(argv)
        if len(a.rest) > 2:
            p.error("expected: pth2onnx.py <checkpoint> [config.yaml] <output.onnx>")
        pth, bs = a.pth, a.bs
        out = a.rest[-1] if a.rest and a.rest[-1].endswith(".onnx") else m.onnx_name(bs)
    verify = settings.flag("VERIFY")
    path = weights.ensure(m.weights, Path(pth).resolve().parent, given=Path(pth), verify=verify, progress=False)
    trust = settings.flag("TRUST_CHECKPOINT")
    model = checkpoint.load_model(m, path, trust=trust, md5_verified=bool(m.weights.md5) and verify)
    images = sample.parity_images(m.preprocess)
    r = export.convert(model, m, Path(out), bs if m.static_batch else 1, images)
    print(
        f"{out}: opset {m.opset}, input {m.input_name}, output {m.output_name}; parity on {len(images)} photos: "
        f"max abs diff {r.max_abs_diff:.3g}, top-1 {r.top1_agree}/{len(images)}; {r.simplify_note}"
    )


def _preprocess(m: manifest.Manifest, argv: list[str]) -> None:
    from common import preprocess

    p = argparse.ArgumentParser(prog="preprocess.py", description=f"Preprocess images for {m.title}.")
    p.add_argument("paths", nargs="*", help="[model name] <src_dir> <dst_dir> (the model name is optional)")
    p.add_argument("-s", "--src", "--src_path", "--src-path", dest="src", help="image folder")
    p.add_argument("-d", "--dst", "--save_path", "--save-path", dest="dst", help="output folder for .bin files")
    a = p.parse_args(argv)
    paths = a.paths[-2:] if len(a.paths) >= 2 else a.paths
    if len(a.paths) > 3:
        p.error("expected: preprocess.py [model] <src_dir> <dst_dir>")
    src = a.src or (paths[0] if len(paths) == 2 else None)
    dst = a.dst or (paths[-1] if paths else None)
    if not src or not dst:
        p.error("expected: preprocess.py [model] <src_dir> <dst_dir>  (or -s <src_dir> -d <dst_dir>)")
    from common.layout import record_of

    outcome = preprocess.run(Path(src), Path(dst), m.preprocess, record=record_of(Path(dst)))
    print(f"{dst}: {outcome} ({m.preprocess.crop}x{m.preprocess.crop}, {m.preprocess.channel_order})")


def _gen_dataset_info(m: manifest.Manifest, argv: list[str]) -> None:
    from common import dataset_info

    p = argparse.ArgumentParser(prog="gen_dataset_info.py", description="Write a dataset info file.")
    p.add_argument("mode", choices=["bin", "jpg"])
    p.add_argument("folder")
    p.add_argument("out")
    p.add_argument("width", nargs="?", type=int, default=m.width)
    p.add_argument("height", nargs="?", type=int, default=m.height)
    a = p.parse_args(argv)
    n = dataset_info.write_info(a.mode, a.folder, Path(a.out), a.width, a.height)
    print(f"{a.out}: {n} lines")


def _postprocess(m: manifest.Manifest, argv: list[str]) -> None:
    from common import postprocess

    p = argparse.ArgumentParser(prog="postprocess.py", description="Top-1..5 accuracy into result.json.")
    p.add_argument("result_dir")
    p.add_argument("label_file")
    p.add_argument("out_dir", nargs="?", default="./")
    p.add_argument("name", nargs="?", default="result.json")
    a = p.parse_args(argv)
    acc = postprocess.evaluate(Path(a.result_dir), Path(a.label_file), m.label_offset)
    path = postprocess.write_result(acc, Path(a.out_dir), a.name)
    print(path.read_text())


SCRIPTS = {
    "pth2onnx": _pth2onnx,
    "preprocess": _preprocess,
    "gen_dataset_info": _gen_dataset_info,
    "postprocess": _postprocess,
}


def main(step: str, script: str, argv: list[str] | None = None) -> None:
    """Run one guide step for the model folder that holds ``script``; user errors exit 2 in one line."""
    try:
        m = manifest.for_folder(Path(script).resolve().parent)
        SCRIPTS[step](m, sys.argv[1:] if argv is None else argv)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
