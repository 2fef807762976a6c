"""MkDocs hooks: the site's home page is the README, its links made to work on the site."""

import pathlib
import re
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = pathlib.Path(__file__).parent.parent
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _link(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if target.startswith(("http://", "https://", "#")):
        return match.group(0)
    if target.startswith("docs/"):
        return f"[{text}]({target.removeprefix('docs/')})"
    # A file of the repository that is not a page of the site: named, not linked.
    shown = text.strip("`").rstrip("/")
    return text if shown == target.rstrip("/") else f"{text} (`{target}`)"


def home_page() -> str:
    """README.md with links into docs/ made relative to the site, others named."""
    return LINK.sub(_link, (ROOT / "README.md").read_text())


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "index.md", content=home_page()))
    return files
