"""Shared fixtures: the shipped library (loaded once), and texts written for a test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge import Library

# The loopback Discord stand-in's fixtures (`standin`, `standin_config`) for every test.
pytest_plugins = ["standin.plugin"]

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


@pytest.fixture(scope="session")
def library() -> Library:
    """The library built from the texts shipped in seeds/."""
    return Library.load(SEEDS)


def write_sources(folder: Path, texts: dict[str, tuple[str, str]]) -> Path:
    """A sources folder with a manifest: {id: (title, text)}."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for source_id, (title, text) in texts.items():
        (folder / f"{source_id}.txt").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        entries.append(
            f'[[sources]]\nid = "{source_id}"\nfile = "{source_id}.txt"\ntitle = "{title}"\n'
        )
    (folder / "sources.toml").write_text("\n".join(entries), encoding="utf-8")
    return folder
