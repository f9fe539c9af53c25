"""Rewrite the absolute ``from common... import`` lines of common/ as relative imports (idempotent).

The installed package is ``modelzoo_bundle.common`` (never a top-level ``common``), while the repository
(``python -m common``) and a travelled model folder (``common/`` beside the model's scripts) keep the
folder named ``common``: relative imports inside the package work under both names. Model scripts
(models/*/) stay absolute, they run beside a ``common/`` folder.

    python tools/relative_imports.py [--check]     # then: ruff check --select I --fix common; ruff format common

``--check`` changes nothing and exits 1 when a line would change (a test runs it).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "common"


def rewrite(path: Path) -> str:
    """The text of ``path`` with every ``from common[.x] import`` (any indentation) made relative."""
    text = path.read_text(encoding="utf-8")
    depth = len(path.relative_to(PACKAGE).parts) - 1  # common/x.py: 0, common/backends/x.py: 1
    lines = text.splitlines(keepends=True)
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module != "common" and not node.module.startswith("common."):
            continue
        rest = node.module[len("common") :].lstrip(".")
        target = "." * (depth + 1) + rest
        i = node.lineno - 1
        lines[i] = re.sub(rf"\bfrom\s+{re.escape(node.module)}\s+import\b", f"from {target} import", lines[i], count=1)
    return "".join(lines)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for path in sorted(PACKAGE.rglob("*.py")):
        new = rewrite(path)
        if new != path.read_text(encoding="utf-8"):
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(f"{'would rewrite' if check else 'rewrote'} {path.relative_to(ROOT)}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
