"""TOML for Python < 3.11 with the standard library alone: ``loads(text) -> dict``, like ``tomllib``.

The travelled model folders must run on the Ascend hosts' Python 3.7-3.10, which have no
``tomllib``, with only numpy and Pillow installed. This reader covers TOML 1.0 except dates and
times (no manifest uses one): comments, ``[table]``, ``[a.b]``, ``[[array of tables]]``, bare,
quoted and dotted keys, basic and literal strings (one-line and multi-line, every escape),
integers (decimal with ``_``, ``0x``, ``0o``, ``0b``), floats (``13.2e9``, ``inf``, ``nan``),
booleans, arrays (multi-line, nested, trailing comma, comments) and inline tables. It applies
TOML's rules against redefining keys and tables the way ``tomllib`` does, so for every document
it accepts the result equals ``tomllib.loads`` (tests/test_tomlcompat.py checks every manifest).
Anything else raises :class:`TOMLDecodeError`, a ``ValueError`` whose message ends with
``(at line N, column M)``.

Written for Python 3.7: no walrus, no ``match``, no positional-only parameters.
"""

from __future__ import annotations

import re
import string

__all__ = ["TOMLDecodeError", "load", "loads"]

_WS = frozenset(" \t")
_WS_NL = frozenset(" \t\n")
_BARE_KEY = frozenset(string.ascii_letters + string.digits + "-_")
_HEX = frozenset(string.hexdigits)
_CTRL = frozenset(chr(i) for i in range(32)) | frozenset("\x7f")
_ILLEGAL_LINE = _CTRL - frozenset("\t")  # one-line strings and comments
_ILLEGAL_MULTILINE = _CTRL - frozenset("\t\n")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_NUMBER = re.compile(
    r"""
    0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*
    |0o[0-7](?:_?[0-7])*
    |0b[01](?:_?[01])*
    |[+-]?(?:0|[1-9](?:_?[0-9])*)
     (?P<float>(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)
    """,
    re.VERBOSE,
)
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|nan)")
_DATE_OR_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}:[0-9]{2}")


class TOMLDecodeError(ValueError):
    """Not valid TOML, or outside what this reader supports; ``lineno``/``colno`` say where."""

    def __init__(self, msg: str, lineno: int, colno: int) -> None:
        super().__init__(f"{msg} (at line {lineno}, column {colno})")
        self.msg, self.lineno, self.colno = msg, lineno, colno


def loads(s: str, parse_float=float) -> dict:
    """Parse a TOML document (``str``) into plain dicts, lists and scalars, as ``tomllib.loads``."""
    if not isinstance(s, str):
        raise TypeError(f"Expected str object, not '{type(s).__qualname__}'")
    return _Parser(s.replace("\r\n", "\n"), parse_float).document()


def load(fp, parse_float=float) -> dict:
    """Parse a TOML file opened in binary mode (a text-mode file is accepted too)."""
    data = fp.read()
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return loads(data, parse_float)


class _Parser:
    def __init__(self, src: str, parse_float) -> None:
        self.src = src
        self.pos = 0
        self.parse_float = parse_float
        self.root: dict = {}
        # Key paths (no list indices) marked the way TOML's redefinition rules need them:
        # ``explicit``: opened by a [header], or (once the next header starts) by a dotted key;
        # ``frozen``: an inline table or an array value, immutable with everything under it.
        self.explicit: set = set()
        self.pending: set = set()
        self.frozen: set = set()

    # -- errors and low-level scanning ---------------------------------------------------------

    def error(self, msg: str, pos: int | None = None) -> TOMLDecodeError:
        pos = self.pos if pos is None else pos
        line = self.src.count("\n", 0, pos) + 1
        col = pos - self.src.rfind("\n", 0, pos)
        return TOMLDecodeError(msg, line, col)

    def peek(self, n: int = 1) -> str:
        return self.src[self.pos : self.pos + n]

    def skip(self, chars: frozenset) -> None:
        src, pos = self.src, self.pos
        while pos < len(src) and src[pos] in chars:
            pos += 1
        self.pos = pos

    def skip_comment(self) -> None:
        if self.peek() != "#":
            return
        src, pos = self.src, self.pos + 1
        while pos < len(src) and src[pos] != "\n":
            if src[pos] in _ILLEGAL_LINE:
                raise self.error(f"Illegal character {src[pos]!r} in a comment", pos)
            pos += 1
        self.pos = pos

    def skip_array_space(self) -> None:
        while True:
            start = self.pos
            self.skip(_WS_NL)
            self.skip_comment()
            if self.pos == start:
                return

    # -- statements ------------------------------------------------------------------------------

    def document(self) -> dict:
        header: tuple = ()
        src = self.src
        while True:
            self.skip(_WS)
            char = self.peek()
            if not char:
                return self.root
            if char == "\n":
                self.pos += 1
                continue
            if char in _BARE_KEY or char in "\"'":
                self.key_value(header)
                self.skip(_WS)
            elif char == "[":
                self.explicit |= self.pending
                self.pending = set()
                header = self.array_header() if self.peek(2) == "[[" else self.table_header()
                self.skip(_WS)
            elif char != "#":
                raise self.error("Invalid statement")
            self.skip_comment()
            if self.pos < len(src):
                if src[self.pos] != "\n":
                    raise self.error("Expected newline or end of document after a statement")
                self.pos += 1

    def is_frozen(self, key: tuple) -> bool:
        return any(key[:i] in self.frozen for i in range(1, len(key) + 1))

    def table_header(self) -> tuple:
        self.pos += 1
        self.skip(_WS)
        start = self.pos
        key = self.key()
        if key in self.explicit or self.is_frozen(key):
            raise self.error(f"Cannot declare {key} twice", start)
        self.explicit.add(key)
        self.nest(key, start)
        if self.peek() != "]":
            raise self.error("Expected ']' at the end of a table declaration")
        self.pos += 1
        return key

    def array_header(self) -> tuple:
        self.pos += 2
        self.skip(_WS)
        start = self.pos
        key = self.key()
        if self.is_frozen(key):
            raise self.error(f"Cannot mutate immutable namespace {key}", start)
        # a new element: whatever the previous element's tables and keys declared is forgotten
        for marks in (self.explicit, self.frozen):
            marks.difference_update([k for k in marks if k[: len(key)] == key])
        self.explicit.add(key)
        parent = self.nest(key[:-1], start)
        existing = parent.get(key[-1])
        if existing is None:
            parent[key[-1]] = [{}]
        elif isinstance(existing, list):
            existing.append({})
        else:
            raise self.error("Cannot overwrite a value", start)
        if self.peek(2) != "]]":
            raise self.error("Expected ']]' at the end of an array declaration")
        self.pos += 2
        return key

    def nest(self, key: tuple, pos: int) -> dict:
        """The table at ``key`` (created where missing); arrays of tables resolve to their last element."""
        node = self.root
        for part in key:
            if part not in node:
                node[part] = {}
            node = node[part]
            if isinstance(node, list):
                node = node[-1] if node else None
            if not isinstance(node, dict):
                raise self.error("Cannot overwrite a value", pos)
        return node

    def key_value(self, header: tuple) -> None:
        start = self.pos
        key, value = self.pair()
        for i in range(1, len(key)):
            container = header + key[:i]
            if container in self.explicit:
                raise self.error(f"Cannot redefine namespace {container}", start)
            self.pending.add(container)
        parent_key = header + key[:-1]
        if self.is_frozen(parent_key):
            raise self.error(f"Cannot mutate immutable namespace {parent_key}", start)
        parent = self.nest(parent_key, start)
        if key[-1] in parent:
            raise self.error("Cannot overwrite a value", start)
        if isinstance(value, (dict, list)):
            self.frozen.add(header + key)
        parent[key[-1]] = value

    def pair(self) -> tuple:
        key = self.key()
        if self.peek() != "=":
            raise self.error("Expected '=' after a key in a key/value pair")
        self.pos += 1
        self.skip(_WS)
        return key, self.value()

    # -- keys -------------------------------------------------------------------------------------

    def key(self) -> tuple:
        parts = [self.key_part()]
        self.skip(_WS)
        while self.peek() == ".":
            self.pos += 1
            self.skip(_WS)
            parts.append(self.key_part())
            self.skip(_WS)
        return tuple(parts)

    def key_part(self) -> str:
        char = self.peek()
        if char == '"':
            self.pos += 1
            return self.basic_string(False, self.pos - 1)
        if char == "'":
            self.pos += 1
            return self.literal_string(False, self.pos - 1)
        start = self.pos
        self.skip(_BARE_KEY)
        if self.pos == start:
            raise self.error("Invalid initial character for a key part")
        return self.src[start : self.pos]

    # -- values -----------------------------------------------------------------------------------

    def value(self):
        src, pos = self.src, self.pos
        char = src[pos : pos + 1]
        if char == '"':
            if src.startswith('"""', pos):
                return self.multiline_string('"')
            self.pos += 1
            return self.basic_string(False, pos)
        if char == "'":
            if src.startswith("'''", pos):
                return self.multiline_string("'")
            self.pos += 1
            return self.literal_string(False, pos)
        for word, result in (("true", True), ("false", False)):
            if src.startswith(word, pos):
                self.pos += len(word)
                return result
        if char == "[":
            return self.array()
        if char == "{":
            return self.inline_table()
        if _DATE_OR_TIME.match(src, pos):
            raise self.error("dates and times are not supported by common.tomlcompat")
        m = _NUMBER.match(src, pos) or _SPECIAL_FLOAT.match(src, pos)
        if not m:
            raise self.error("Invalid value")
        self.pos = m.end()
        text = m.group()
        if m.re is _SPECIAL_FLOAT or m.group("float"):
            return self.parse_float(text.replace("_", ""))
        return int(text, 0)

    def array(self) -> list:
        self.pos += 1
        out: list = []
        self.skip_array_space()
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            self.skip_array_space()
            char = self.peek()
            if char == "]":
                self.pos += 1
                return out
            if char != ",":
                raise self.error("Unclosed array")
            self.pos += 1
            self.skip_array_space()
            if self.peek() == "]":
                self.pos += 1
                return out

    def inline_table(self) -> dict:
        self.pos += 1
        out: dict = {}
        frozen: set = set()
        self.skip(_WS)
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            start = self.pos
            key, value = self.pair()
            if any(key[:i] in frozen for i in range(1, len(key) + 1)):
                raise self.error(f"Cannot mutate immutable namespace {key}", start)
            node = out
            for part in key[:-1]:
                if part not in node:
                    node[part] = {}
                node = node[part]
                if not isinstance(node, dict):
                    raise self.error("Cannot overwrite a value", start)
            if key[-1] in node:
                raise self.error(f"Duplicate inline table key {key[-1]!r}", start)
            node[key[-1]] = value
            self.skip(_WS)
            char = self.peek()
            if char == "}":
                self.pos += 1
                return out
            if char != ",":
                raise self.error("Unclosed inline table")
            if isinstance(value, (dict, list)):
                frozen.add(key)
            self.pos += 1
            self.skip(_WS)

    # -- strings ----------------------------------------------------------------------------------

    def literal_string(self, multiline: bool, opened: int) -> str:
        """From just after the opening quote(s) (at ``opened``) to just after the closing ones."""
        src, start = self.src, self.pos
        end_mark, illegal = ("'''", _ILLEGAL_MULTILINE) if multiline else ("'", _ILLEGAL_LINE)
        pos = start
        while not src.startswith(end_mark, pos):
            if pos >= len(src):
                raise self.error("Unterminated string", opened)
            if src[pos] in illegal:
                raise self.error(f"Illegal character {src[pos]!r}", pos)
            pos += 1
        self.pos = pos + len(end_mark)
        return src[start:pos]

    def basic_string(self, multiline: bool, opened: int) -> str:
        src, pos = self.src, self.pos
        illegal = _ILLEGAL_MULTILINE if multiline else _ILLEGAL_LINE
        parts = []
        start = pos
        while True:
            if pos >= len(src):
                raise self.error("Unterminated string", opened)
            char = src[pos]
            if char == '"':
                if not multiline:
                    parts.append(src[start:pos])
                    self.pos = pos + 1
                    return "".join(parts)
                if src.startswith('"""', pos):
                    parts.append(src[start:pos])
                    self.pos = pos + 3
                    return "".join(parts)
                pos += 1
            elif char == "\\":
                parts.append(src[start:pos])
                pos = self.escape(pos, multiline, parts)
                start = pos
            elif char in illegal:
                raise self.error(f"Illegal character {char!r}", pos)
            else:
                pos += 1

    def escape(self, pos: int, multiline: bool, parts: list) -> int:
        """The escape at ``pos`` (a backslash): append its text to ``parts``, return where it ends."""
        src = self.src
        code = src[pos + 1 : pos + 2]
        if multiline and code in (" ", "\t", "\n"):
            pos += 1
            while pos < len(src) and src[pos] in _WS:
                pos += 1
            if pos < len(src) and src[pos] != "\n":
                raise self.error("Unescaped '\\' in a string", pos)
            while pos < len(src) and src[pos] in _WS_NL:
                pos += 1
            return pos
        if code in ("u", "U"):
            width = 4 if code == "u" else 8
            digits = src[pos + 2 : pos + 2 + width]
            if len(digits) != width or not _HEX.issuperset(digits):
                raise self.error("Invalid hex value", pos + 2)
            point = int(digits, 16)
            if not (0 <= point <= 0xD7FF or 0xE000 <= point <= 0x10FFFF):
                raise self.error("Escaped character is not a Unicode scalar value", pos + 2 + width)
            parts.append(chr(point))
            return pos + 2 + width
        if code not in _ESCAPES:
            raise self.error("Unescaped '\\' in a string", pos + 2)
        parts.append(_ESCAPES[code])
        return pos + 2

    def multiline_string(self, quote: str) -> str:
        opened = self.pos
        self.pos += 3
        if self.peek() == "\n":
            self.pos += 1
        text = self.literal_string(True, opened) if quote == "'" else self.basic_string(True, opened)
        # up to two quotes right before the closing delimiter belong to the string
        for _ in range(2):
            if self.peek() != quote:
                break
            text += quote
            self.pos += 1
        return text
