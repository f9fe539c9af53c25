"""The ModelZoo submission folder: thin alias scripts listed in the manifests, every argument form of the
guides, README.md (generated part + hand-written part), modelzoo_level.txt from run records, the
ModelZoo lines of test/parse.py, and a package that is the same for the same sources and records."""

from __future__ import annotations

import ast
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common import guide, level, manifest, package, readme, submission
from common.errors import BundleError
from common.layout import Layout
from common.runs import read_runs
from tests import compat
from tests.conftest import GUIDE_MODELS, ROOT


# ---- the guide's script names ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", manifest.names())
def test_every_script_is_thin_and_every_alias_is_listed(name):
    m = manifest.load(name)
    for script, step in m.aliases.items():
        path = Path(m.model_dir) / script
        assert path.is_file(), f"{path} is listed in [cli.aliases] but missing (python -m common.guide aliases)"
        assert path.read_text() == guide.script_source(step, guide.alias_doc(script, step))
    for path in sorted(Path(m.model_dir).glob("*.py")):
        if path.name == "model.py":
            continue
        step = guide.thin_step(path.read_text())
        assert step is not None, f"{path} is not a thin script (common.guide.script_source)"
        assert step == m.aliases.get(path.name, path.stem), f"{path} runs {step}"
    for step in manifest.STEPS:
        assert (Path(m.model_dir) / f"{step}.py").is_file()


def test_guide_names_are_the_issue_list():
    names = {s for n in GUIDE_MODELS for s in manifest.load(n).aliases}
    assert {
        "imagenet_torch_preprocess.py",
        "imagenet_acc_eval.py",
        "vision_metric_ImageNet.py",
        "get_info.py",
        "inceptionresnetv2_pth2onnx.py",
        "efficientnetB3_pth2onnx.py",
        "pthtar2onnx.py",
        "sknet_pth2onnx.py",
        "sknet_preprocess.py",
        "sknet_postprocess.py",
    } <= names
    for n in GUIDE_MODELS:  # every step has the guide's own command line
        assert {c.step for c in manifest.load(n).commands} == set(manifest.STEPS), n
    lite = manifest.load("efficientnet-lite0")  # none listed: the short scripts' forms
    assert lite.guide_command("pth2onnx").argv == ("pth2onnx.py", "{weights}", "{onnx}")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"get_info.py" = "gen_dataset_info"', '"get_info.py" = "infer"', r"expected one of pth2onnx"),
        ('"get_info.py" = "gen_dataset_info"', '"get info.py" = "gen_dataset_info"', r"must be a new script name"),
        ('argv = ["pthtar2onnx.py", "{bs}", "{weights}"]', 'argv = ["pthtar2onnx.py", "{batch}"]', r"\{batch\}"),
        ('argv = ["pthtar2onnx.py", "{bs}", "{weights}"]', 'argv = ["get_info.py", "{bs}"]', r"not a script of"),
        ('source = "guide §4.3"', 'source = "guide §4.3"\nshell = true', r"unknown key `cli.commands\[4\].shell`"),
    ],
)
def test_cli_tables_are_checked(old, new, message, tmp_path):
    src = (ROOT / "manifests" / "moco-v2.toml").read_text()
    assert old in src
    path = tmp_path / "moco-v2.toml"
    path.write_text(src.replace(old, new, 1))
    with pytest.raises(BundleError, match=message):
        manifest.parse(path, ROOT / "models" / "moco-v2")


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_every_pth2onnx_command_line_means_the_same(name, monkeypatch, tmp_path):
    """Each listed pth2onnx form (the guide's, the later upstream READMEs') names the checkpoint, the ONNX
    and the batch size the same way, under the guide's name and the short name."""
    from common import checkpoint, export, weights

    m = manifest.load(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / m.weights.file).write_bytes(b"x")
    seen: list[tuple] = []
    monkeypatch.setattr(weights, "ensure", lambda spec, wdir, given, verify, progress: given)
    monkeypatch.setattr(checkpoint, "load_model", lambda m, path, **kw: path.name)
    monkeypatch.setattr(
        export, "convert", lambda model, m, path, bs, images, *a, **kw: seen.append((model, path.name, bs)) or _P()
    )
    forms = [c for c in m.commands if c.step == "pth2onnx"]
    for c in forms:
        for argv in (c.argv, guide.short_form(c)):
            argv = guide.fill(argv, guide.values(m))
            guide.SCRIPTS["pth2onnx"](m, argv[1:], argv[0])
    assert seen == [(m.weights.file, m.onnx_name(16), 16 if m.static_batch else 1)] * 2 * len(forms)


class _P:
    max_abs_diff, top1_agree, simplify_note = 0.0, 7, ""


@pytest.mark.parametrize("name", ["inceptionresnetv2", "moco-v2", "sk-resnet50"])
def test_later_upstream_flags_give_the_guides_files(name, photos, tmp_path):
    """The later READMEs' forms (MoCo-v2: both spellings; InceptionResNetV2: --src_path, --infer_results,
    --anno_file, --metrics_json) write what the guide's form writes, on the oldest Python found."""
    m = manifest.load(name)
    exe = compat.python_for("3.7")[0] or sys.executable
    val = tmp_path / "val"
    val.mkdir()
    for photo in ("chelsea.png", "rocket.jpg"):
        (val / photo).write_bytes((photos / photo).read_bytes())
    res = tmp_path / "res"
    res.mkdir()
    for i, stem in enumerate(("chelsea", "rocket")):
        row = [0.0] * m.classes
        row[[281, 657][i] + m.label_offset] = 1.0
        row[i] = 0.5
        (res / f"{stem}_0.txt").write_text(" ".join(f"{v:f}" for v in row) + " \n")
    (tmp_path / "val_label.txt").write_text("chelsea.png 281\nrocket.jpg 3\n")
    env = {"PATH": "/usr/bin:/bin", "PROGRESS": "0"}
    made: dict[str, list] = {}
    for i, c in enumerate(c for c in m.commands if c.step in ("preprocess", "postprocess")):
        cwd = tmp_path / f"run{i}"
        cwd.mkdir()
        v = {**guide.values(m, val=str(val), labels=str(tmp_path / "val_label.txt")), "results": f"{res}/"}
        argv = guide.fill(c.argv, v)
        proc = subprocess.run(
            [exe, str(ROOT / "models" / name / argv[0]), *argv[1:]], cwd=cwd, env=env, text=True, capture_output=True
        )
        assert proc.returncode == 0, f"{argv}: {proc.stderr}"
        out = cwd / (v["prep"] if c.step == "preprocess" else v["json"])
        files = sorted(out.glob("*.bin")) if out.is_dir() else [out]
        made.setdefault(c.step, []).append({p.name: p.read_bytes() for p in files})
    for step, outs in made.items():
        assert outs and all(o == outs[0] for o in outs), step
    assert b'"Top1 accuracy", "value": "50.0%"' in next(iter(made["postprocess"][0].values()))


# ---- run records: levels, README, parse.py ---------------------------------------------------------------
def _record(
    work: Path,
    name: str,
    backend: str,
    bs: int,
    images: int,
    top1: float,
    perf: dict,
    soc: str = "",
    atc: str = "",
    source: str = "",
) -> None:
    run = work / name
    run.mkdir(parents=True)
    tops = [top1, top1 + 10, top1 + 12, top1 + 13, top1 + 14]
    result = {
        "title": "Overall statistical evaluation",
        "value": [{"key": "Number of images", "value": str(images)}, {"key": "Number of classes", "value": "1000"}]
        + [{"key": f"Top{k} accuracy", "value": f"{round(t, 2)}%"} for k, t in enumerate(tops, 1)],
    }
    (run / "result.json").write_text(json.dumps(result))
    ran = {"om": "ais_bench InferSession (x.om, NPU 0)", "benchmark": "benchmark.x86_64 (device 0)"}.get(
        backend, "ONNX Runtime 1.31.1 (CPUExecutionProvider)"
    )
    info = {
        "model": "sk-resnet50",
        "backend": backend,
        "bs": bs,
        "ran": ran,
        "date": "2026-01-02 03:04:05 UTC",
        "host": f"host-{name}",
        "machine": "aarch64",
        "result": result,
        "soc": soc,
        "atc": atc,
        "versions": {"python": "3.9.18", "numpy": "2.0.2", "pillow": "11.3.0", "ais_bench": "0.0.2"},
    }
    (run / "run.json").write_text(json.dumps(info))
    src = source or {"om": "ais_bench (NPU compute time)", "benchmark": "benchmark.aarch64"}.get(
        backend, "host-measured, ORT"
    )
    rows = [
        {"bs": b, "samples_per_s": f, "p50_ms": 1.0, "p99_ms": 1.0, "runs": 5, "source": src, "method": "m"}
        for b, f in perf.items()
    ]
    (run / "perf.json").write_text(json.dumps({"model": "sk-resnet50", "device": ran, "rows": rows, "published": {}}))


TUNE = 'atc --framework=5 --soc_version=Ascend310P3 --auto_tune_mode="RL,GA"'
PLAIN = "atc --framework=5 --soc_version=Ascend310P3"
SCENARIOS = {  # sk-resnet50: upstream top-1 77.538; T4 462.64 (bs1) ... 1041.37 (bs16) ... 1266.9 (bs64)
    "nothing": ([], "NOK NOK NOK NOK"),
    "onnx only": ([("onnx-bs16", "onnx", 16, 50000, 77.5, {1: 30.0, 16: 40.0})], "NOK NOK NOK NOK"),
    "310P3 as the guide": (
        [("310p-bs16", "om", 16, 50000, 77.54, {1: 907.0, 16: 2199.0}, "Ascend310P3", PLAIN)],
        "OK OK NOK PERFECT",
    ),
    "sample only": ([("310p-bs16", "om", 16, 9, 77.54, {16: 1100.0}, "Ascend310P3", PLAIN)], "OK NOK NOK OK"),
    "precision drop": ([("310p-bs16", "om", 16, 50000, 76.4, {16: 600.0}, "Ascend310P3", PLAIN)], "OK NOK NOK POK"),
    "slow": ([("310p-bs16", "om", 16, 50000, 77.0, {16: 400.0}, "Ascend310P3", PLAIN)], "OK OK NOK NOK"),
    "310 card x4": ([("310-bs16", "benchmark", 16, 50000, 77.6, {16: 392.0}, "Ascend310", PLAIN)], "OK OK NOK PERFECT"),
    "autotune improved": (
        [
            ("plain-bs16", "om", 16, 50000, 77.6, {16: 600.0}, "Ascend310P3", PLAIN),
            ("tuned-bs16", "om", 16, 50000, 77.6, {16: 700.0}, "Ascend310P3", TUNE),
        ],
        "OK OK POK POK",
    ),
    "autotune beats T4": ([("tuned-bs16", "om", 16, 50000, 77.6, {16: 1100.0}, "Ascend310P3", TUNE)], "OK OK OK OK"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_levels_follow_from_the_run_records(scenario, tmp_path):
    m = manifest.load("sk-resnet50")
    records, want = SCENARIOS[scenario]
    for r in records:
        _record(tmp_path, *r)
    runs = read_runs(Layout(tmp_path, m).runs())
    found = level.levels(m, runs)
    assert " ".join(lv.value for lv in found) == want, [(lv.key, lv.value, lv.reason) for lv in found]
    assert level.text(found).splitlines() == [f"{k}:{v}" for k, v in zip(level.KEYS, want.split(), strict=True)]
    if scenario == "310 card x4":
        assert "1568.0 samples/s (Atlas 300I card: 4 x the per-chip figure, 310)" in found[3].reason
    if scenario == "precision drop":
        assert "top-1 76.4% (310p-bs16) vs upstream 77.538% (allowed: >= 76.538%)" == found[1].reason


def test_readme_shows_the_records_beside_the_published_figures(tmp_path):
    m = manifest.load("sk-resnet50")
    for r in SCENARIOS["autotune improved"][0] + SCENARIOS["310 card x4"][0] + SCENARIOS["onnx only"][0]:
        _record(tmp_path, *r)
    runs = read_runs(Layout(tmp_path, m).runs())
    text = readme.generated(m, runs, level.levels(m, runs))
    assert text == readme.generated(m, runs, level.levels(m, runs))  # deterministic
    assert "| run `tuned-bs16` | ais_bench InferSession (x.om, NPU 0) | 16 | 50,000 | 77.6% | 91.6% | +0.06 |" in text
    assert "| published, upstream | PytorchInsight README | | | 77.538% | 93.7% | |" in text
    head = next(x for x in text.splitlines() if x.startswith("| bs | "))
    assert "`310-bs16`" in head and "Ascend 310P3 (published, per device)" in head and "NVIDIA T4" in head
    assert (
        "| 16 | 1568.0 (Atlas 300I card: 4 x the per-chip figure) | 40.0 | 600.0 | 700.0 | 1568.288 | 2199 | 1041.37 |"
        in text
    )
    assert "| `tuned-bs16` | host-tuned-bs16 (aarch64) | 2026-01-02 03:04:05 UTC |" in text
    assert "| AutoTune | POK |" in text and "| FuncStatus | OK |" in text


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_committed_model_readme_is_its_generated_state(name):
    """models/<m>/README.md holds a hand-written part and the generated part for no run (make package fills
    in the runs in the package); regenerate with common.readme.write when the manifest changes."""
    m = manifest.load(name)
    path = Path(m.model_dir) / "README.md"
    text = path.read_text()
    want = readme.refresh(text, readme.generated(m, [], level.levels(m, [])))
    assert text == want, f"{path} is stale: python -m common.readme models"
    head, tail = text.split(readme.BEGIN)[0], text.split(readme.END)[1]
    assert head.startswith(f"# {m.title.split(' (')[0]}") and "## Notes" in tail


def test_refresh_keeps_the_hand_written_parts():
    m = manifest.load("moco-v2")
    block = readme.generated(m, [], level.levels(m, []))
    text = f"# Mine\n\nintro by hand\n\n{readme.BEGIN}\nstale generated text\n{readme.END}\n\n## Notes\nby hand\n"
    new = readme.refresh(text, block)
    assert new.startswith("# Mine\n\nintro by hand\n\n" + block) and new.endswith("\n\n## Notes\nby hand\n")
    assert "stale generated text" not in new and readme.refresh(new, block) == new
    assert readme.refresh("# Plain\n", block) == "# Plain\n\n" + block + "\n"


def test_parse_prints_modelzoo_lines(tmp_path):
    _record(tmp_path, "result_bs1", "om", 1, 50000, 80.04, {1: 572.3}, "Ascend310P3", PLAIN)
    _record(tmp_path, "result_bs16", "benchmark", 16, 50000, 80.04, {16: 170.487}, "Ascend310", PLAIN)
    _record(tmp_path, "onnx-bs4", "onnx", 4, 9, 55.56, {4: 30.0})
    for name in ("result_bs1", "result_bs16"):
        (tmp_path / f"{name}.json").write_bytes((tmp_path / name / "result.json").read_bytes())
    (tmp_path / "result").mkdir()
    vision = tmp_path / "result" / "perf_vision_batchsize_1_device_0.txt"
    vision.write_text(
        "[e2e] throughputRate: 99.1, latency: 50\n[data read] throughputRate: 1, moduleLatency: 1\n"
        "[preprocess] throughputRate: 1, moduleLatency: 1\n"
        "[infer] throughputRate: 105.2, Interface throughputRate: 104.996, moduleLatency: 9.1\n"
        "[post] throughputRate: 1, moduleLatency: 1\n"
    )
    pure = tmp_path / "result" / "PureInfer_perf_of_moco-v2-atc-bs1_in_device_0.txt"
    pure.write_text("ave_throughputRate = 244.742samples/s, ave_latency = 4.15733ms\n")
    got = {
        p: submission.parse_record(tmp_path / p)
        for p in (
            "result_bs1.json",
            "result_bs16.json",
            "result_bs1/perf.json",
            "result_bs16/perf.json",
            "onnx-bs4/perf.json",
            "onnx-bs4/result.json",
            "result/perf_vision_batchsize_1_device_0.txt",
            "result/PureInfer_perf_of_moco-v2-atc-bs1_in_device_0.txt",
        )
    }
    assert got["result_bs1.json"] == ["om bs1 top1:80.04% top5:94.04%"]
    assert got["result_bs16.json"] == ["om bs16 top1:80.04% top5:94.04%"]
    assert got["result_bs1/perf.json"] == ["310P3 bs1 fps:572.300"]
    assert got["result_bs16/perf.json"][0].startswith("310 bs16 fps:681.948  (Atlas 300I card: 4 x the per-chip")
    assert got["onnx-bs4/perf.json"][0].startswith("host bs4 fps:30.000  (host-measured: ONNX Runtime")
    assert got["onnx-bs4/result.json"] == ["onnx bs4 top1:55.56% top5:69.56%"]
    assert got["result/perf_vision_batchsize_1_device_0.txt"] == ["310 bs1 fps:419.984"]
    assert got["result/PureInfer_perf_of_moco-v2-atc-bs1_in_device_0.txt"] == ["310 moco-v2-atc-bs1 fps:978.968"]
    exe = compat.python_for("3.7")[0] or sys.executable  # test/parse.py is Python 3.7+
    script = tmp_path / "test" / "parse.py"
    script.parent.mkdir()
    script.write_text(submission.PARSE_PY)
    (tmp_path / "common").symlink_to(ROOT / "common")
    out = subprocess.run([exe, str(script), "result_bs16.json"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "om bs16 top1:80.04% top5:94.04%\n", out.stderr
    bad = subprocess.run([exe, str(script), "nothing.json"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


PY37 = re.search(r'"common/\{([a-z_,]+)\}\.py" = "py37"', (ROOT / "pyproject.toml").read_text())[1].split(",")


@pytest.mark.parametrize("module", PY37)
def test_light_modules_are_python37_syntax(module):
    ast.parse((ROOT / "common" / f"{module}.py").read_text(), feature_version=(3, 7))


# ---- the package -----------------------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("name", GUIDE_MODELS)
def test_package_is_the_submission_layout_and_the_same_twice(name, tmp_path):
    m = manifest.load(name)
    work = tmp_path / "work"
    _record(work, "onnx-bs16", "onnx", 16, 9, 50.0, {1: 3.0, 16: 4.0})
    first, found = package.build(m, Layout(work, m), tmp_path / "a")
    second, _ = package.build(m, Layout(work, m), tmp_path / "b")
    tree = _tree(first)
    assert tree == _tree(second)
    for f in (
        "README.md",
        "LICENSE",
        "requirements.txt",
        "modelzoo_level.txt",
        "manifest.toml",
        "env.sh",
        "model.py",
        "common/cli.py",
        "test/pth2om.sh",
        "test/eval_acc_perf.sh",
        "test/parse.py",
        *m.aliases,
        *(f"{s}.py" for s in manifest.STEPS),
    ):
        assert f in tree, f
    assert tree["test/pth2om.sh"][1] == tree["test/eval_acc_perf.sh"][1] == 0o755
    for sh in ("test/pth2om.sh", "test/eval_acc_perf.sh"):
        assert subprocess.run(["bash", "-n", str(first / sh)]).returncode == 0
    assert tree["modelzoo_level.txt"][0] == level.text(found).encode()
    req = tree["requirements.txt"][0].decode()
    for absent in ("pytest", "ruff", "hadolint", "efficientnet", "xdist"):
        assert absent not in req
    assert 'numpy==1.21.6; python_version == "3.7"' in req and 'Pillow>=9.1; python_version >= "3.14"' in req
    assert 'torch==2.13.0; python_version >= "3.11"' in req and "Pillow >= 9.1 is required" in req
    text = tree["README.md"][0].decode()
    assert "| run `onnx-bs16` | ONNX Runtime" in text and "## Notes" in text and m.weights.file in text
    assert text.count(readme.BEGIN) == 1 and "LICENSE" in tree and b"Apache License" in tree["LICENSE"][0]


def test_requirements_light_agrees_with_requirements():
    pins = dict(re.findall(r"^(numpy|pillow)==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M | re.I))
    light = (ROOT / "requirements-light.txt").read_text()
    assert f'numpy=={pins["numpy"]}; python_version == "3.11"' in light
    assert f'Pillow=={pins["pillow"]}; python_version >= "3.11"' in light
    for v in compat.VERSIONS:
        assert re.search(rf'^numpy==\S+; python_version == "{re.escape(v)}"', light, re.M) or v in ("3.12", "3.13")
