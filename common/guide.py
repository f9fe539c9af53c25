"""The guides' command lines, for the thin scripts in each model folder.

Each script is ``main("<step>", __file__)``: the model comes from the folder the script sits in, so
the same four scripts serve every model and a copied model folder keeps working. The guide's own
script names (``imagenet_torch_preprocess.py``, ``get_info.py``, ...) are listed in each manifest's
``[cli.aliases]``; their files are the same few lines (``script_source``), written by
``python -m common.guide aliases`` and checked by the tests. Each step accepts every argument form
the guides and the later upstream READMEs use (both spellings of MoCo-v2's flags).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from . import manifest
from .errors import BundleError, is_number


def _pth2onnx(m: manifest.Manifest, argv: list[str], prog: str = "pth2onnx.py") -> None:
    form = m.pth2onnx_args
    usage = {
        "bs": "<bs> [checkpoint] [output.onnx]  or  --bs N --weight <checkpoint>",
        "--pth": "--pth <checkpoint> [--onnx <output.onnx>]",
    }.get(form[0], "<checkpoint> [config.yaml] [output.onnx]  or  --ckpt <checkpoint> --onnx <output.onnx>")
    p = argparse.ArgumentParser(prog=prog, description=f"Export {m.title} to ONNX (opset {m.opset}): {usage}.")
    p.add_argument("args", nargs="*", help=usage + " (a pycls yaml is accepted and not read)")
    p.add_argument("--pth", "--ckpt", "--weight", "--weights", dest="pth", help=f"the checkpoint ({m.weights.file})")
    p.add_argument("--onnx", dest="onnx", help=f"the ONNX file to write (default {m.onnx_file})")
    p.add_argument("--bs", type=int, help="batch size (static-batch models: the ONNX has this fixed batch)")
    a = p.parse_args(argv)
    pos, bs = list(a.args), a.bs
    if form[0] == "bs" and pos and bs is None:  # pthtar2onnx.py <bs> [checkpoint]
        if not is_number(pos[0]):
            p.error(f"expected: {prog} {usage}")
        bs = int(pos.pop(0))
    bs = 1 if bs is None else bs
    if bs < 1:
        p.error("--bs must be >= 1")
    pth = a.pth or (pos.pop(0) if pos else m.weights.file)
    out = a.onnx
    if pos and pos[-1].endswith(".onnx") and out is None:
        out = pos.pop()
    if len(pos) > (1 if form[0] == "weights" else 0) or any(not x.endswith((".yaml", ".yml")) for x in pos):
        p.error(f"expected: {prog} {usage}")
    out = out or m.onnx_name(bs)

    from . import checkpoint, export, records, sample, weights  # heavy: after the arguments
    from .settings import Settings

    s = Settings()
    path = weights.ensure(m.weights, Path(pth).resolve().parent, given=Path(pth), verify=s.verify, progress=False)
    model = checkpoint.load_model(m, path, trust=s.trust_checkpoint, md5_verified=bool(m.weights.md5) and s.verify)
    images = sample.parity_images(m.preprocess)
    # the parity record names the checkpoint, so `python3 -m common onnx|infer` here accept this ONNX
    extra = {"weights": records.stamp(path)}
    r = export.convert(model, m, Path(out), bs if m.static_batch else 1, images, s.simplify, extra=extra)
    print(
        f"{out}: opset {m.opset}, input {m.input_name}, output {m.output_name}; parity on {len(images)} photos: "
        f"max abs diff {r.max_abs_diff:.3g}, top-1 {r.top1_agree}/{len(images)}; {r.simplify_note}"
    )


def _preprocess(m: manifest.Manifest, argv: list[str], prog: str = "preprocess.py") -> None:
    from . import preprocess

    p = argparse.ArgumentParser(prog=prog, description=f"Preprocess images for {m.title}.")
    p.add_argument("paths", nargs="*", help="[model name] <src_dir> <dst_dir> (the model name is optional)")
    src_flags = ("-s", "--src", "--src_path", "--src-path", "--input_img_dir", "--input-img-dir")
    dst_flags = ("-d", "--dst", "--save_path", "--save-path", "--output_img_dir", "--output-img-dir")
    p.add_argument(*src_flags, dest="src", help="image folder")
    p.add_argument(*dst_flags, dest="dst", help="output folder for .bin files (created)")
    a = p.parse_args(argv)
    paths = a.paths[-2:] if len(a.paths) >= 2 else a.paths
    if len(a.paths) > 3:
        p.error(f"expected: {prog} [model] <src_dir> <dst_dir>")
    src = a.src or (paths[0] if len(paths) == 2 else None)
    dst = a.dst or (paths[-1] if paths else None)
    if not src or not dst:
        p.error(f"expected: {prog} [model] <src_dir> <dst_dir>  (or -s <src_dir> -d <dst_dir>)")
    from .layout import record_of
    from .settings import Settings

    progress = Settings().progress
    outcome = preprocess.run(Path(src), Path(dst), m.preprocess, progress=progress, record=record_of(Path(dst)))
    print(f"{dst}: {outcome} ({m.preprocess.crop}x{m.preprocess.crop}, {m.preprocess.channel_order})")


def _gen_dataset_info(m: manifest.Manifest, argv: list[str], prog: str = "gen_dataset_info.py") -> None:
    from . import dataset_info

    p = argparse.ArgumentParser(prog=prog, description="Write a dataset info file: bin <dir> <out.info> <W> <H>.")
    p.add_argument("mode", choices=["bin", "jpg"])
    p.add_argument("folder")
    p.add_argument("out")
    p.add_argument("width", nargs="?", type=int, default=m.width)
    p.add_argument("height", nargs="?", type=int, default=m.height)
    a = p.parse_args(argv)
    n = dataset_info.write_info(a.mode, a.folder, Path(a.out), a.width, a.height)
    print(f"{a.out}: {n} lines")


def _postprocess(m: manifest.Manifest, argv: list[str], prog: str = "postprocess.py") -> None:
    from . import postprocess

    p = argparse.ArgumentParser(prog=prog, description="Top-1..5 accuracy into result.json.")
    p.add_argument("paths", nargs="*", help="<result_dir> <val_label.txt> [out_dir (./)] [name (result.json)]")
    p.add_argument("--infer_results", "--folder_davinci_target", "--folder-davinci-target", dest="result_dir")
    p.add_argument("--anno_file", "--annotation_file_path", "--annotation-file-path", dest="label_file")
    p.add_argument("--result_json_path", "--result-json-path", dest="out_dir")
    p.add_argument("--json_file_name", "--json-file-name", dest="name")
    p.add_argument("--metrics_json", "--metrics-json", dest="metrics", help="the output file (dir and name at once)")
    a = p.parse_args(argv)
    pos = list(a.paths)
    if len(pos) > 4:
        p.error(f"expected: {prog} <result_dir> <val_label.txt> [out_dir] [name.json]")
    given = [a.result_dir, a.label_file, a.out_dir, a.name]
    for i, value in enumerate(given):  # flags win; positionals fill what is left, in order
        if value is None and pos:
            given[i] = pos.pop(0)
    result_dir, label_file, out_dir, name = given
    if a.metrics:
        out_dir, name = os.path.dirname(a.metrics) or ".", os.path.basename(a.metrics)
    if not result_dir or not label_file or pos:
        p.error(f"expected: {prog} <result_dir> <val_label.txt> [out_dir] [name.json]")
    acc = postprocess.evaluate(Path(result_dir), Path(label_file), m.label_offset, width=m.classes)
    path = postprocess.write_result(acc, Path(out_dir or "./"), name or "result.json")
    print(path.read_text())


SCRIPTS = {
    "pth2onnx": _pth2onnx,
    "preprocess": _preprocess,
    "gen_dataset_info": _gen_dataset_info,
    "postprocess": _postprocess,
}


def main(step: str, script: str, argv: list[str] | None = None) -> None:
    """Run one guide step for the model folder that holds ``script`` (a short name like preprocess.py or
    a guide's name like imagenet_torch_preprocess.py); user errors exit 2 in one line."""
    try:
        m = manifest.for_folder(Path(script).resolve().parent)
        SCRIPTS[step](m, sys.argv[1:] if argv is None else argv, Path(script).name)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


# ------------------------------------------------------------------------------ thin scripts, command lines
def alias_doc(script: str, step: str) -> str:
    return f"{script}: the guide's name for {step}.py (the same step and arguments; see -h)."


def script_source(step: str, doc: str) -> str:
    """The text of a thin script: find common/ (beside it when travelled, else the repository's), run ``step``."""
    return (
        f'"""{doc}"""\n\n'
        "import pathlib\n"
        "import sys\n\n"
        "HERE = pathlib.Path(__file__).resolve().parent\n"
        "sys.path[:0] = [str(HERE), str(HERE.parents[1])]"
        "  # common/ inside this folder (travelled) or the repository's\n"
        "from common.guide import main  # noqa: E402\n\n"
        f'main("{step}", __file__)\n'
    )


def thin_step(text: str) -> str | None:
    """The step a script runs when it is a thin script (``script_source`` with any docstring), else None."""
    found = re.match(r'^"""[^\n]*"""\n', text)
    step = re.search(r'^main\("([a-z_0-9]+)", __file__\)$', text, re.M)
    if not found or not step or text != script_source(step[1], found[0][3:-4]):
        return None
    return step[1]


def write_aliases(m: manifest.Manifest) -> list[Path]:
    """(Re)write the thin scripts of ``m``'s guide names in its model folder; remove ones no longer listed."""
    written = []
    for old in sorted(Path(m.model_dir).glob("*.py")):
        text = old.read_text(encoding="utf-8")
        if "the guide's name for" in text and thin_step(text) and old.name not in m.aliases:
            old.unlink()
    for script, step in sorted(m.aliases.items()):
        path = Path(m.model_dir) / script
        text = script_source(step, alias_doc(script, step))
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def fill(argv, values: dict) -> list[str]:
    """A command line template with its ``{field}`` placeholders filled from ``values``."""
    return [re.sub(r"\{([a-z_]+)\}", lambda f: str(values[f[1]]), a) for a in argv]


def values(
    m: manifest.Manifest,
    bs: int = 16,
    val: str = "/root/datasets/imagenet/val",
    labels: str = "/root/datasets/imagenet/val_label.txt",
    run: str = "",
    json_name: str = "result.json",
) -> dict:
    """What a command line template's placeholders stand for in a model folder (its work folder is ``.``):
    the checkpoint, ONNX, .bin folder and info file by the names ``python3 -m common <step>`` uses there."""
    from .layout import Layout

    layout = Layout(Path("."), m)
    results = layout.run(run or f"result_bs{bs}").outputs
    return {
        "weights": m.weights.file,
        "onnx": m.onnx_name(bs),
        "bs": bs,
        "val": val,
        "labels": labels,
        "prep": f"./{layout.prep_dir.as_posix()}",
        "info": f"./{layout.info.as_posix()}",
        "width": m.width,
        "height": m.height,
        "results": f"./{results.as_posix()}/",
        "json": json_name,
    }


def short_form(command: manifest.Command) -> list[str]:
    """The same command line under the step's short script name (``pth2onnx.py``, ``preprocess.py``, ...)."""
    return [command.step + ".py", *command.argv[1:]]


if __name__ == "__main__":  # python -m common.guide aliases: write the thin scripts of the guides' names
    if sys.argv[1:] != ["aliases"]:
        print("usage: python -m common.guide aliases", file=sys.stderr)
        sys.exit(2)
    for name in manifest.names():
        for path in write_aliases(manifest.load(name)):
            print(path)
