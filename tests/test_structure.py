"""The shape of the code: no import cycles in common/, one settings table that the Makefile and
`make help` follow, one layout that owns work-folder names, strict manifests, an installable package."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from common import manifest, settings
from common.errors import BundleError
from tests.conftest import ROOT

COMMON = ROOT / "common"


def _imports(path: Path, package: str) -> set[str]:
    """Modules of ``common`` that ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative import
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [node.module])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in COMMON.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {m for m in _imports(path, package) if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


def test_common_has_no_import_cycle():
    graph = import_graph()
    assert "common.cli" in graph and "common.artifacts" in graph["common.cli"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# ---- settings --------------------------------------------------------------------------------------------


def makefile_defaults() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text()
    return {m[1]: m[2].strip() for m in re.finditer(r"^([A-Z_]+)\s*\?=[ \t]*(.*)$", text, re.M)}


def test_makefile_variables_and_defaults_are_the_settings_table():
    found = makefile_defaults()
    assert list(found) == [s.name for s in settings.TABLE], "Makefile ?= lines and settings.TABLE differ (or order)"
    for s in settings.TABLE:
        if s.name in settings.MAKE_COMPUTED:
            continue
        want = re.sub(r"\{([A-Z_]+)\}", r"$(\1)", s.default)
        assert found[s.name] == want, f"{s.name}: Makefile default {found[s.name]!r}, table {want!r}"


def test_makefile_exports_every_setting():
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    exported = set(re.search(r"^export (MODEL .*)$", text, re.M)[1].split())
    assert {s.name for s in settings.TABLE} <= exported


def test_settings_help_into_a_closed_pipe_is_quiet():
    """`make help | head`: the reader is gone before Python writes; no traceback, exit 0."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "common.settings", "help"], cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_make_help_shows_every_setting_with_its_help():
    env = {k: v for k, v in os.environ.items() if k not in {s.name for s in settings.TABLE}}
    text = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, env=env, check=True).stdout
    raw_defaults = {s.name: s.default for s in settings.TABLE}  # WORK=work/{MODEL}, IMAGE=...:{KIND}
    for s in settings.TABLE:
        line = next((x for x in text.splitlines() if x.startswith(f"  {s.name}=")), None)
        assert line is not None, f"make help does not list {s.name}"
        assert s.help in line
        if s.name not in settings.MAKE_COMPUTED:
            assert line.startswith(f"  {s.name}={s.default_for(raw_defaults)}   ")


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("BS", "", "BS is empty: expected a whole number >= 1"),
        ("BS", "abc", "BS='abc': expected a whole number >= 1"),
        ("BS", "0", "BS='0': expected a whole number >= 1"),
        ("PERF_BS", "0", "PERF_BS='0': expected batch sizes >= 1"),
        ("PERF_BS", "-4", "PERF_BS='-4': expected batch sizes >= 1"),
        ("PERF_SECONDS", "abc", "PERF_SECONDS='abc': expected a number > 0"),
        ("PROGRESS", "maybe", "PROGRESS='maybe': expected 1 or 0"),
        ("OUTFMT", "bogus", "OUTFMT='bogus': expected one of TXT, BIN, NPY"),
        ("DEVICE", "0,0", "DEVICE='0,0': expected device ids like 0 or 0,1"),
        ("BACKEND", "tensorrt", "BACKEND='tensorrt': expected one of auto, onnx, om, benchmark, torch"),
        ("MODEL", "", "MODEL is empty"),
        ("DATASET", "", "DATASET is empty"),
    ],
)
def test_bad_setting_is_one_line_naming_it(var, value, message, tmp_path):
    from tests.conftest import run_step

    proc = run_step("weights", {"MODEL": "sk-resnet50", "WORK": tmp_path / "w", var: value}, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {message}") and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "w").exists()  # rejected before anything is written


def test_settings_parse_types_and_defaults():
    s = settings.Settings({"PERF_BS": "1,4 8", "DEVICE": "0,1", "OUTFMT": "bin", "MODEL": "moco-v2", "VERIFY": "off"})
    assert s.perf_bs == (1, 4, 8) and s.device == ("0", "1") and s.outfmt == "BIN" and s.verify is False
    assert s.work == "work/moco-v2" and s.bs == 16 and s.dynamic_batch == () and s.perf_seconds == 1.0


# ---- layout ----------------------------------------------------------------------------------------------

LAYOUT_NAMES = ('"prep_dataset"', '".source.json"', '"_summary.json"', '"compare.md"', '".parity.json"')


def test_only_the_layout_names_work_folder_files():
    for path in COMMON.rglob("*.py"):
        if path.name == "layout.py":
            continue
        text = path.read_text(encoding="utf-8")
        for name in LAYOUT_NAMES:
            assert name not in text, f"{path.relative_to(ROOT)} builds a work-folder path by hand ({name})"


# ---- manifests -------------------------------------------------------------------------------------------


def _variant(tmp_path: Path, old: str, new: str, name: str = "efficientnet-b3") -> Path:
    src = (ROOT / "manifests" / f"{name}.toml").read_text()
    assert old in src
    path = tmp_path / f"{name}.toml"
    path.write_text(src.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[om]\n", "[om]\nautotune_flag = 'x'\n", r"unknown key `om.autotune_flag`"),
        ("classes = 1000", "classes = 1000\nclases = 3", r"unknown key `clases`"),
        ("[files]", "[file]", r"unknown key `file`"),
        ("classes = 1000", 'classes = "1000"', r"`classes` should be int, got '1000'"),
        ("top1 = 77.53", "top1 = 775.3", r"`accuracy.upstream.top1` = 775.3 is not a percentage"),
        ('md5 = "4c809d9cb292ce541f278d11899e7b38"', 'md5 = "4c80"', r"`weights.md5` must be 32 hex digits"),
        ('role = "guide"', 'role = "main"', r"`role` must be one of guide, demo"),
        ("classes = 1000", "classes = 1000\nlabel_offset = 1000", r"`label_offset` must be between"),
        ("bs = [1, 4, 8, 16, 32]\n", "bs = [1, 4]\n", r"a \[\[throughput\]\] row has 2 bs but 5 fps"),
        ("[upstream]\n", "[upstream]\nstars = 5\n", r"unknown key `upstream.stars`"),
    ],
)
def test_manifest_is_checked_at_load_time(old, new, message, tmp_path):
    path = _variant(tmp_path, old, new)
    with pytest.raises(BundleError, match=rf"^{re.escape(str(path))}: .*{message}"):
        manifest.parse(path, ROOT / "models" / "efficientnet-b3")


def test_guide_models_come_from_the_manifests():
    assert manifest.guide_models() == ["efficientnet-b3", "inceptionresnetv2", "moco-v2", "sk-resnet50"]
    assert manifest.load("efficientnet-lite0").role == "demo"
    assert [manifest.load(n).label_offset for n in manifest.guide_models()] == [0, 1, 0, 0]
    b3 = manifest.load("efficientnet-b3")  # the guide auto-tunes its bs16 OM only
    assert b3.guide_flags(16) == ('--auto_tune_mode="RL,GA"',) and b3.guide_flags(1) == b3.guide_flags(None) == ()


# ---- packaging -------------------------------------------------------------------------------------------


def test_pip_install_gives_the_library_its_data_and_a_command(tmp_path):
    """A wheel of the repository holds common/ as modelzoo_bundle.common (its own import name, never a
    top-level ``common``) and the bundle's data; installed, it finds its manifests."""
    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the sources
    src.mkdir()
    for name in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "checksums.md5",
        "requirements.txt",
        "requirements-light.txt",
    ):
        shutil.copy2(ROOT / name, src / name)
    for name in ("common", "manifests", "models"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "modelzoo_bundle/common/cli.py" in names and "modelzoo_bundle/manifests/moco-v2.toml" in names
    assert "modelzoo_bundle/common/backends/ais_bench_env/pkg_resources.py" in names
    assert not [n for n in names if n.startswith("common/")], "a top-level common package"
    assert "modelzoo_bundle/models/sk-resnet50/model.py" in names and "modelzoo_bundle/checksums.md5" in names
    assert "modelzoo_bundle/models/moco-v2/README.md" in names and "modelzoo_bundle/models/moco-v2/get_info.py" in names
    assert "modelzoo_bundle/requirements-light.txt" in names  # make package writes the folder's requirements
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "modelzoo = modelzoo_bundle.common.cli:entry" in zipfile.ZipFile(wheel).read(entry).decode()
    top = next(n for n in names if n.endswith("top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top).decode().split() == ["modelzoo_bundle"]
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    code = (  # without the checkout on the path (the images add /bundle with a .pth): only the install
        f"import sys; sys.path[:] = [p for p in sys.path if p not in ('', {str(ROOT)!r})]; "
        "import importlib.util as u; assert u.find_spec('common') is None; "
        "import modelzoo_bundle.common.manifest as m; print(m.ROOT); print(' '.join(m.guide_models()))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    root, models = out.stdout.splitlines()
    assert Path(root) == site / "modelzoo_bundle"
    assert models == "efficientnet-b3 inceptionresnetv2 moco-v2 sk-resnet50"


# ---- issue 20: no function in common/ is longer than 60 lines
MAX_FUNCTION_LINES = 60


def long_functions(source: str, name: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name:function (N lines)`` for each function of ``source`` longer than ``limit`` lines, in file
    order: from its ``def`` to its last line, decorators left out, a nested function counted in its
    parent too (and on its own)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                found.append((node.lineno, f"{name}:{node.name} ({lines} lines)"))
    return [text for _, text in sorted(found)]


def test_no_function_in_common_is_longer_than_60_lines():
    offenders = []
    for path in sorted(COMMON.rglob("*.py")):
        offenders += long_functions(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines (split them along what they do):\n" + "\n".join(
        offenders
    )


def test_the_function_length_check_finds_long_ones():
    import textwrap

    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    fits = "@decorated\ndef fits():\n" + body  # the def and 59 lines: 60 (the decorator is not counted)
    assert long_functions(fits, "m.py") == []
    assert long_functions(fits + "    y = 0\n", "m.py") == ["m.py:fits (61 lines)"]
    inner = textwrap.indent("def inner():\n" + body, "        ")  # 60 lines: fits, but counts in its parent
    nested = "class C:\n    def outer(self):\n" + inner + "        return inner\n"
    assert long_functions(nested, "m.py") == ["m.py:outer (62 lines)"]


# ---- one typed settings object ----------------------------------------------------------------------------


def test_settings_fields_are_the_table_and_frozen():
    """Settings' fields are the table (names, order): nothing is added by setattr, a tool sees every one."""
    import dataclasses

    found = dataclasses.fields(settings.Settings)
    assert [f.name.upper() for f in found if f.metadata] == [s.name for s in settings.TABLE]
    assert [f.name for f in found if not f.metadata] == ["given"]
    s = settings.Settings({"BS": "8"}, scope="all")
    assert [getattr(s, f.name.lower()) for f in found if f.metadata][1] == 8 and s.given == {"BS"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.bs = 4  # type: ignore[misc]
    assert settings.Settings({}).python is None  # a make setting is not read by a step


def _env_aliases(tree: ast.AST) -> set[str]:
    """Names assigned from an expression that mentions ``os.environ`` (``env = dict(os.environ)``)."""
    found = {"environ"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and "os.environ" in ast.unparse(node.value):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found


def _setting_reads(tree: ast.AST, names: set[str]) -> list[str]:
    """Where ``tree`` reads a setting from the environment, or asks settings.get/flag for one."""
    env = _env_aliases(tree)

    def is_env(node: ast.AST) -> bool:
        return ast.unparse(node) in {"os.environ", *env}

    def named(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and named(node.args[0]):
            func = node.func
            if ast.unparse(func) in ("os.getenv", "getenv", "settings.get", "settings.flag"):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
            elif isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault") and is_env(func.value):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and is_env(node.value):
            if named(node.slice):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Compare) and named(node.left) and any(is_env(c) for c in node.comparators):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("settings"):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in ("get", "flag")]
    return found


def test_only_settings_reads_a_setting_from_the_environment():
    """Settings is built once (common/settings.py reads the environment) and passed down: no other module of
    common/ reads a variable of the table from os.environ, or asks for one by name."""
    names = {s.name for s in settings.TABLE}
    bad = []
    for path in sorted(COMMON.rglob("*.py")):
        if path.name != "settings.py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            bad += [f"{path.relative_to(ROOT)} {where}" for where in _setting_reads(tree, names)]
    assert not bad, "read a setting from the environment instead of the Settings passed down:\n" + "\n".join(bad)


def test_the_setting_read_scan_finds_reads():
    code = (
        "import os\nfrom . import settings\nenv = dict(os.environ)\na = os.environ.get('WORK')\n"
        "b = os.getenv('BS')\nc = env.get('MODEL')\nd = settings.flag('PROGRESS')\ne = 'RUN' in os.environ\n"
        "f = os.environ['DEVICE']\ng = os.environ.get('HOME')\n"
    )
    found = _setting_reads(ast.parse(code), {s.name for s in settings.TABLE})
    assert {line.split(":")[0] for line in found} == {f"line {n}" for n in (4, 5, 6, 7, 8, 9)}


def test_manifest_schema_and_required_keys_come_from_the_fields():
    """Each manifest key is written once, as a field: of Manifest (``key("onnx.file")``) or of a table's
    dataclass (``Preprocess.crop``); SCHEMA and REQUIRED are made from them, in their order."""
    import dataclasses

    fields = dataclasses.fields(manifest.Manifest)
    keyed = {f.metadata["key"]: f for f in fields if "key" in f.metadata}
    assert [f.name for f in fields if "key" not in f.metadata] == ["path", "model_dir"]
    assert list(manifest.SCHEMA) == list(dict.fromkeys(k.split(".")[0] for k in keyed))
    for k in keyed:
        table, _, name = k.rpartition(".")
        assert name in (manifest.SCHEMA[table] if table else manifest.SCHEMA), k
    assert sum(len(v) if k in ("checkpoint", "architecture", "input", "output", "onnx", "om", "files", "cli") else 1
               for k, v in manifest.SCHEMA.items()) == len(keyed)  # fmt: skip
    tables = {"weights": manifest.WeightsSpec, "preprocess": manifest.Preprocess}
    for k, cls in tables.items():
        assert list(manifest.SCHEMA[k]) == [g.name for g in dataclasses.fields(cls)]
    want = []
    for k, f in keyed.items():
        if f.metadata["default"] is dataclasses.MISSING:
            table = tables.get(k)
            want += (
                [f"{k}.{g.name}" for g in dataclasses.fields(table) if g.default is dataclasses.MISSING]
                if table
                else [k]
            )
    assert list(manifest.REQUIRED) == want and "preprocess.crop" in want and "weights.md5" not in want
    assert manifest.SCHEMA["throughput"] == [{"device": "str", "note": "str", "bs": "[int]", "fps": "[number]"}]
    assert "g = lambda" not in (COMMON / "manifest.py").read_text(encoding="utf-8")


# ---- the backends' room (issue 20) -----------------------------------------------------------------------


def _imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` (module ``name``) imports anywhere, ``from . import x`` too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found |= {f"{base}.{a.name}" for a in node.names} | ({base} if node.module else set())
    return {m for m in found if m in known and m != name}


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Every module of ``root/common`` and the modules of common it imports."""
    paths = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (root / "common").rglob("*.py")
    }
    return {name: _imports_of(path, name, set(paths)) for name, path in paths.items()}


def package_graph(graph: dict[str, set[str]], room: str = "common.backends") -> dict[str, set[str]]:
    """``graph`` with every module of the package ``room`` as one node."""

    def node(m: str) -> str:
        return room if m == room or m.startswith(room + ".") else m

    out: dict[str, set[str]] = {}
    for a, bs in graph.items():
        out.setdefault(node(a), set()).update(node(b) for b in bs if node(b) != node(a))
    return out


def upward(graph: dict[str, set[str]], room: str = "common.backends") -> list[str]:
    """The modules that ``room`` imports (transitively) and that import ``room`` back: arrows running up."""
    seen, todo = set(), list(graph.get(room, ()))
    while todo:
        m = todo.pop()
        if m not in seen and m != room:
            seen.add(m)
            todo += graph.get(m, ())
    return sorted(m for m in seen if room in graph.get(m, ()))


def test_no_import_runs_back_up_into_the_backends():
    graph = module_graph()
    pkg = package_graph(graph)
    assert "common.backends.runner" in graph and "common.runner" not in graph, "the runner lives in backends/"
    assert upward(pkg) == [], f"imported by backends/ and importing it back: {upward(pkg)}"
    assert find_cycle(pkg) is None, " -> ".join(find_cycle(pkg))
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_upward_finder_finds_mains_arrow():
    """main before issue 20: backends/ais_bench.py -> common.runner -> common.backends."""
    graph = {
        "common.backends": set(),
        "common.backends.ais_bench": {"common.runner", "common.backends"},
        "common.runner": {"common.backends", "common.outputs"},
        "common.outputs": set(),
    }
    assert upward(package_graph(graph)) == ["common.runner"]
    assert upward(package_graph({**graph, "common.runner": {"common.outputs"}})) == []


def _backend_names() -> set[str]:
    from common import backends

    return {b.name for b in backends.registered()}


def names_a_backend(source: str, names: set[str]) -> list[int]:
    """Lines outside backends/ that name a backend instead of asking the registry: a comparison with a
    backend's name (``backend == "om"``, ``x in ("om", "benchmark")``, ``"tensorrt" in ran``), a literal
    list, tuple, set or dict whose strings are all backend names (``OM_BACKENDS``, ``BACKEND_LABELS``), a
    ``startswith`` of one, or a BACKEND value written out (``"BACKEND": "onnx"``, ``backend="om"``). The
    steps ``onnx`` and ``om`` in a table of steps are steps: a table holding other strings is not a list of
    backends."""

    def strs(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [s for e in node.elts for s in strs(e)]
        return []

    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            hit = any(s in names for side in [node.left, *node.comparators] for s in strs(side))
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
            items = node.keys if isinstance(node, ast.Dict) else node.elts
            found = [s for e in items if e is not None for s in strs(e)]
            hit = len(found) >= 2 and all(s in names for s in found)
            if isinstance(node, ast.Dict):
                hit = hit or any(
                    strs(k) and strs(k)[0].lower() == "backend" and set(strs(v)) & names
                    for k, v in zip(node.keys, node.values, strict=True)
                )
        elif isinstance(node, ast.Call):
            func = node.func
            starts = isinstance(func, ast.Attribute) and func.attr in ("startswith", "endswith")
            hit = (starts and any(s in names for a in node.args for s in strs(a))) or any(
                k.arg == "backend" and set(strs(k.value)) & names for k in node.keywords
            )
        else:
            continue
        if hit:
            bad.append(node.lineno)
    return sorted(set(bad))


def _below_backends() -> set[str]:
    """The modules backends/ imports (transitively): below the room, they cannot ask its registry."""
    pkg = package_graph(module_graph())
    seen, todo = set(), list(pkg["common.backends"])
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += pkg.get(m, ())
    return seen


def test_no_module_outside_backends_names_a_backend():
    """Every module above backends/ asks the registry (layout.py, below it, lists ONNX Runtime's runs first)."""
    names, below = _backend_names(), _below_backends()
    assert {"onnx", "om", "benchmark", "torch", "tensorrt"} <= names
    assert "common.layout" in below and "common.cli" not in below
    bad = {
        str(p.relative_to(ROOT)): lines
        for p in sorted(COMMON.rglob("*.py"))
        if "backends" not in p.relative_to(COMMON).parts
        and ".".join(p.relative_to(ROOT).with_suffix("").parts) not in below
        and (lines := names_a_backend(p.read_text(), names))
    }
    assert bad == {}, f"ask common.backends' registry instead: {bad}"


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ('if cfg.backend == "om":\n    pass', [1]),
        ('ok = backend in ("om", "benchmark")', [1]),
        ('OM = ("om", "benchmark")', [1]),
        ('LABELS = {"om": "om", "onnx": "onnx"}', [1]),
        ('trt = "tensorrt" in ran', [1]),
        ('legacy = source.startswith("benchmark")', [1]),
        ('DEMO = {"MODEL": "x", "BACKEND": "onnx"}', [1]),
        ('STEPS = {"weights": w, "onnx": onnx_step, "om": om_step}', []),  # steps, not backends
        ('PACKAGES = ("torch", "onnx", "numpy")', []),
        ('files = {"onnx": layout.onnx(bs), "info": layout.info}', []),
    ],
)
def test_the_backend_name_check_is_precise(source, hits):
    assert names_a_backend(source, _backend_names()) == hits
