"""The README and docs/ (issue 19): README at most 10 KB with the two commands and the real job, every
relative link resolving, every make target and variable the docs name existing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from common import settings

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAKEFILE = (ROOT / "Makefile").read_text()
# variables of other tools that the docs name on purpose (the bundle's are in the settings TABLE)
FOREIGN = {
    "HOME": "the shell's",
    "PYTEST_ADDOPTS": "pytest's (the test image sets it)",
    "JOB_COMPLETION_INDEX": "Kubernetes' Indexed Job",
}


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # not inside code blocks
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_readme_is_short_and_has_the_first_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) <= 10 * 1024
    for needed in ("make demo", "make test", "make MODEL=inceptionresnetv2 BS=16 all", "pip install"):
        assert needed in text, needed
    linked = {p for p in links(ROOT / "README.md") if p.startswith("docs/")}
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= linked, "a docs/ page the README does not link"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for link in links(page):
        if re.match(r"^[a-z]+:", link):  # https:, mailto:
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} does not resolve"
        if anchor and target.suffix == ".md":
            anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", target.read_text(), re.M)}
            assert anchor in anchors, f"{page.name}: no heading #{anchor} in {target.name}"


def make_targets() -> set[str]:
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M))
    return targets | set(re.search(r"^STEPS := (.*)$", MAKEFILE, re.M)[1].split())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_and_variable_named_exists(page):
    text = page.read_text()
    named = re.findall(r"\bmake((?: -\w+)*(?: [A-Z_]+=(?:\"[^\"]*\"|'[^']*'|\S+))*) ([a-z][a-z-]*)\b", text)
    targets = make_targets()
    for _, target in named:
        assert target in targets, f"{page.name}: `make {target}` is no Makefile target"
    known = {s.name for s in settings.TABLE} | set(re.findall(r"^([A-Z_]+)\s*\?=", MAKEFILE, re.M))
    # build arguments and the stand-ins' switches: named in docker/ and tests/fakes/
    elsewhere = " ".join(
        p.read_text(errors="replace") for d in ("docker", "tests/fakes") for p in (ROOT / d).rglob("*") if p.is_file()
    )
    for var in set(re.findall(r"(?<![\w$-])([A-Z][A-Z0-9_]+)=", text)):
        assert var in known or var in FOREIGN or re.search(rf"\b{var}\b", elsewhere), f"{page.name}: {var}= is unknown"
