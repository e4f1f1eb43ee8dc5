"""Shared fixtures: the shipped library (loaded once), and texts written for a test."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge import Library

# The loopback Discord stand-in's fixtures (`standin`, `standin_config`) for every test.
pytest_plugins = ["standin.plugin"]

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


@pytest.fixture(scope="session", autouse=True)
def index_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One index cache for the whole run, for every bot and `histbot` process the tests start
    (HISTBOT_INDEX_CACHE_DIR, as instances may share one): the shipped texts are indexed and
    their sentences encoded once, not per test."""
    folder = tmp_path_factory.mktemp("index-cache")
    # Encoded now, so a bot (which starts without encoding) answers with them from the start.
    Library.load(SEEDS, cache_dir=folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HISTBOT_INDEX_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def library(index_cache: Path) -> Library:
    """The library built from the texts shipped in seeds/ (with its sentence vectors)."""
    return Library.load(SEEDS, cache_dir=index_cache)


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
