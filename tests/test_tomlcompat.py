"""common.tomlcompat (the TOML reader for Python < 3.11) gives exactly what tomllib gives."""

from __future__ import annotations

import ast
import glob
import json
import math
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from common import tomlcompat

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = sorted((ROOT / "manifests").glob("*.toml"))

VALID = {
    "empty": "",
    "comments only": "# a\n   # b\n\n",
    "bare keys": "a = 1\nb-c = 2\n_d = 3\n1234 = 'digits'\n-x = 'dash'\n",
    "quoted keys": '"a b" = 1\n\'c.d\' = 2\n"" = 3\n"\\u00e9" = 4\n',
    "dotted keys": 'a.b.c = 1\na.b.d = 2\n a . e = 3\nsite."google.com" = true\n',
    "tables": "[a]\nx = 1\n[b]\ny = 2\n[ c . d ]\nz = 3\n",
    "sub-table before super-table": "[a.b]\nx = 1\n[a]\ny = 2\n",
    "dotted header into dotted-key table": "[a]\nb.c = 1\n[a.b.d]\ne = 2\n",
    "array of tables": "[[t]]\nn = 1\n[[t]]\nn = 2\n[t.sub]\nq = 1\n[[t.list]]\nr = 1\n[[t]]\n",
    "sub-tables of each element": "[[f]]\n[f.p]\nc = 1\n[[f]]\n[f.p]\nc = 2\n",
    "basic strings": 'a = "tab\\there"\nb = "q\\"uote\\\\ \\b\\f\\n\\r"\nc = "\\u00e9\\U0001F600"\nd = "#not"\n',
    "literal strings": "a = 'C:\\\\path\\n'\nb = '\"quoted\"'\nc = '#not a comment'\n",
    "multi-line basic": 'a = """\nline1\nline2"""\nb = """one \\\n    two \\\n\n    three"""\nc = """x""""\n',
    "multi-line basic quotes": 'a = """""x"""""\nb = """a\\tb"""\nc = """\\\n"""\n',
    "multi-line literal": "a = '''\nraw \\n\n  kept'''\nb = '''x''''\nc = ''''''\n",
    "crlf": 'a = 1\r\n[t]\r\nb = """x\r\ny"""\r\n',
    "integers": "a = 0\nb = +17\nc = -17\nd = 1_000_000\ne = 0xDEAD_beef\nf = 0o755\ng = 0b1101\nh = -0\n",
    "floats": "a = 13.2e9\nb = 4.1e9\nc = 0.4e9\nd = -1.5\ne = 1e-3\nf = 6.626E-34\ng = 1_0.0_1\nh = +inf\n"
    "i = -inf\nj = inf\nk = 0.0\nl = -0.0\nm = 1E+2\n",
    "booleans": "a = true\nb = false\n",
    "arrays": "a = []\nb = [1, 2, 3,]\nc = [\n  1,  # one\n  2,\n  # nothing\n]\nd = [[1, 2], ['a', \"b\"], [], [[]]]\n"
    "e = [1, 'mixed', 2.5, true, {x = 1}]\nf = [ ]\ng = [\n]\n",
    "inline tables": "a = {}\nb = {x = 1, y = 'two'}\nc = { p.q = 1, p.r = [1, 2], s = { t = true } }\n"
    "d = [{n = 1}, {n = 2}]\n",
    "whitespace": "\t a\t=\t1 \t# c\n[ t ]  # c\n[[ u ]]\t\n",
    "unicode text": "name = \"Inception—ResNet\" # em dash\ntitle = 'ÅÄÖ'\n",
    "keys that look like values": "true = 1\nfalse = 2\ninf = 3\nnan = 4\n123 = 5\n",
    "comment right after value": "a = 1# c\nb = [1]# c\nc = 'x'#c\n",
    "empty table": "[a]\n[b]\n",
    "control in comment tab": "a = 1 #\ttab\n",
    "header keys quoted": "['a.b'.\"c\"]\nx = 1\n",
}

# (document, line of the error): each is invalid TOML (tomllib rejects it too) or a date/time
INVALID = {
    "unterminated string": ('a = "abc\n', 1),
    "unterminated multi-line": ('a = 1\nb = """abc\n\n', 2),
    "newline in basic string": ('a = "ab\nc"', 1),
    "bad escape": ('a = 1\nb = "\\x41"\n', 2),
    "short unicode escape": ('a = "\\u12"\n', 1),
    "surrogate escape": ('a = "\\uD800"\n', 1),
    "control char": ("a = 'x\x01'\n", 1),
    "control char in comment": ("a = 1 # \x7f\n", 1),
    "lone carriage return": ("a = 1\rb = 2\n", 1),
    "duplicate key": ("a = 1\nb = 2\na = 3\n", 3),
    "duplicate table": ("[t]\nx = 1\n\n[t]\n", 4),
    "table over a value": ("a = 1\n[a]\n", 2),
    "dotted key over a value": ("a = 1\na.b = 2\n", 2),
    "header redefines dotted table": ("[t]\na.b = 1\n[t.a]\n", 3),
    "dotted key redefines a table": ("[t.a]\nx = 1\n[t]\na.y = 2\n", 4),
    "append to a static array": ("a = [1]\n[[a]]\n", 2),
    "array of tables over a table": ("[a]\n[[a]]\n", 2),
    "extend an inline table": ("a = {x = 1}\na.y = 2\n", 2),
    "header into an inline table": ("a = {x = 1}\n[a.b]\n", 2),
    "inline table duplicate": ("a = {x = 1, x = 2}\n", 1),
    "inline table trailing comma": ("a = {x = 1,}\n", 1),
    "inline table newline": ("a = {x = 1,\ny = 2}\n", 1),
    "missing value": ("a =\n", 1),
    "missing equals": ("a 1\n", 1),
    "two statements on a line": ("a = 1 b = 2\n", 1),
    "leading zero": ("a = 01\n", 1),
    "double underscore": ("a = 1__0\n", 1),
    "trailing underscore": ("a = 1_\n", 1),
    "fraction without digits": ("a = 1.\n", 1),
    "exponent without digits": ("a = 1e\n", 1),
    "bare word value": ("a = yes\n", 1),
    "capitalised boolean": ("a = True\n", 1),
    "unclosed array": ("a = [1, 2\nb = 3\n", 2),
    "array without commas": ("a = [1 2]\n", 1),
    "empty key": ("= 1\n", 1),
    "empty bare key part": ("a..b = 1\n", 1),
    "unclosed header": ("[a\nx = 1\n", 1),
    "unclosed array header": ("[[a]\n", 1),
    "bad header": ("[a b]\n", 1),
    "date": ("a = 1\nd = 1979-05-27\n", 2),
    "datetime": ("d = 1979-05-27T07:32:00Z\n", 1),
    "local time": ("t = 07:32:00\n", 1),
    "invalid statement": ("a = 1\n\n!\n", 3),
}


def _interpreter(version: str) -> str | None:
    """A working ``python<version>`` (PATH, then pyenv), or None."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for exe in filter(None, candidates):
        try:
            out = subprocess.run(
                [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return exe
    return None


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_reads_as_tomllib_reads_it(path):
    text = path.read_text(encoding="utf-8")
    assert tomlcompat.loads(text) == tomllib.loads(text)


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_documents_match_tomllib(text):
    assert tomlcompat.loads(text) == tomllib.loads(text)


def test_nan_and_types():
    doc = tomlcompat.loads("a = nan\nb = -nan\nc = 13.2e9\nd = 5\ne = 5.0\n")
    assert math.isnan(doc["a"]) and math.isnan(doc["b"])
    assert type(doc["c"]) is float and type(doc["d"]) is int and type(doc["e"]) is float


def test_parse_float_hook():
    from decimal import Decimal

    text = "a = 0.1\nb = [1.5, 2]\n"
    assert tomlcompat.loads(text, parse_float=Decimal) == tomllib.loads(text, parse_float=Decimal)


def test_load_reads_binary_and_text_files(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("a = 'é'\n", encoding="utf-8")
    with p.open("rb") as f:
        assert tomlcompat.load(f) == {"a": "é"}
    with p.open(encoding="utf-8") as f:
        assert tomlcompat.load(f) == {"a": "é"}
    with pytest.raises(TypeError):
        tomlcompat.loads(b"a = 1")


@pytest.mark.parametrize(("text", "line"), INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_raise_valueerror_with_the_line(text, line):
    with pytest.raises(tomlcompat.TOMLDecodeError) as err:
        tomlcompat.loads(text)
    assert isinstance(err.value, ValueError)
    assert err.value.lineno == line, str(err.value)
    assert f"(at line {line}, column " in str(err.value)
    if "date" not in str(err.value):
        with pytest.raises(tomllib.TOMLDecodeError):
            tomllib.loads(text)


def test_dates_are_refused_by_name():
    with pytest.raises(ValueError, match=r"dates and times are not supported .*\(at line 2, column 5\)"):
        tomlcompat.loads("a = 1\nd = 1979-05-27\n")


def test_source_is_python37_syntax():
    src = (ROOT / "common" / "tomlcompat.py").read_text(encoding="utf-8")
    ast.parse(src, feature_version=(3, 7))


@pytest.mark.parametrize("version", ["3.7", "3.8", "3.9", "3.10"])
def test_old_interpreters_read_every_manifest_as_tomllib(version):
    exe = _interpreter(version)
    if exe is None:
        pytest.skip(f"python{version} is not installed here")
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from common import tomlcompat; "
        "print(json.dumps({p: tomlcompat.loads(open(p, encoding='utf-8').read()) for p in sys.argv[2:]}))"
    )
    paths = [str(p) for p in MANIFESTS]
    out = subprocess.run([exe, "-B", "-c", script, str(ROOT), *paths], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = {p: tomllib.loads(Path(p).read_text(encoding="utf-8")) for p in paths}
    assert json.loads(out.stdout) == json.loads(json.dumps(expected))
