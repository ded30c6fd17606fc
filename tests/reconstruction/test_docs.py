"""The README is the front door and docs/ holds the reference: keep it short and every link working."""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_BYTES = 25_000

# [text](target) and ![alt](target); the target stops at whitespace or ')' (an optional "title" may follow).
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The Markdown without code blocks (a '# comment' in a shell block is no heading)."""
    return _FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    for heading in _HEADING.findall(_prose(path.read_text())):
        slug, n = _slug(heading), 1
        unique = slug
        while unique in anchors:  # GitHub numbers repeated headings: slug, slug-1, slug-2
            unique, n = f"{slug}-{n}", n + 1
        anchors.add(unique)
    return anchors


def _relative_links(path: Path) -> list[str]:
    prose = _INLINE_CODE.sub("", _prose(path.read_text()))
    return [target for target in _LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def _broken(path: Path) -> list[str]:
    broken = []
    for target in _relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading '{anchor}' in {linked.relative_to(ROOT)}")
    return broken


def test_readme_stays_a_front_door():
    size = len(README.read_bytes())
    assert size < MAX_README_BYTES, f"README.md is {size:,} bytes: move reference text to docs/"


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    assert _broken(path) == []


def test_readme_links_every_docs_page():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in _relative_links(README)}
    assert [str(page.relative_to(ROOT)) for page in PAGES if page.resolve() not in linked] == []


def test_readme_gives_the_command_ci_runs():
    assert "bash scripts/demo.sh" in README.read_text()
    assert "bash scripts/test.sh" in README.read_text()
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_slugs_follow_github():
    assert _slug("Semantic fusion: labels from perspective images (`fuse`)") == (
        "semantic-fusion-labels-from-perspective-images-fuse"
    )
    assert _slug("The 3D viewer's tools") == "the-3d-viewers-tools"
    assert _slug("How it runs: processes, tile delivery, scale-out mode") == (
        "how-it-runs-processes-tile-delivery-scale-out-mode"
    )
