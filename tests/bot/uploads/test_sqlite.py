"""The upload store on a real SQLite file: one transaction per text (a writer killed with
SIGKILL leaves each text whole or absent), the server's limits and names kept inside that
transaction, revisions, and a file that cannot be used."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.uploads import SqliteUploadStore, Upload, UploadRefused, UploadStorageError

REPO = Path(__file__).resolve().parents[3]


def upload(source_id: str, title: str, *, guild_id: int = 1, passages: int = 10) -> Upload:
    return Upload(
        guild_id=guild_id,
        source_id=source_id,
        title=title,
        filename=f"{source_id}.txt",
        size=100,
        passages=passages,
        sections=2,
        added_by=7,
        added_by_name="olga",
        added_at="2024-05-01T12:00:00+00:00",
    )


@pytest.fixture
def store(tmp_path: Path) -> SqliteUploadStore:
    opened = SqliteUploadStore(tmp_path / "data" / "library.sqlite3")
    opened.open()
    return opened


def add(store: SqliteUploadStore, item: Upload, text: str = "A text.", **limits: int) -> int:
    limits = {"max_texts": 5, "max_passages": 100, **limits}
    return store.add(item, text.encode(), text, **limits)


def test_texts_are_kept_per_server_with_a_revision_that_changes(store: SqliteUploadStore) -> None:
    assert store.revisions() == {}
    assert add(store, upload("bastille", "The Fall of the Bastille"), "Bastille text.") == 1
    assert add(store, upload("oath", "The Tennis Court Oath"), "Oath text.") == 2
    assert add(store, upload("bastille", "The Fall of the Bastille", guild_id=2)) == 1
    assert store.revisions() == {1: 2, 2: 1}
    assert [u.source_id for u in store.uploads(1)] == ["bastille", "oath"]
    texts = store.texts(1)
    assert [(s.id, s.title, s.file.name, text) for s, text in texts] == [
        ("bastille", "The Fall of the Bastille", "bastille.txt", "Bastille text."),
        ("oath", "The Tennis Court Oath", "oath.txt", "Oath text."),
    ]
    removed, revision = store.remove(1, "oath")
    assert (removed.title, revision) == ("The Tennis Court Oath", 3)
    removed, revision = store.remove(1, "bastille")
    assert revision is None  # no texts of its own left: it uses the shipped library again
    assert store.revisions() == {2: 1}
    with pytest.raises(UploadRefused, match="no text of its own with id 'bastille'"):
        store.remove(1, "bastille")


def test_names_and_limits_are_checked_in_the_transaction(store: SqliteUploadStore) -> None:
    add(store, upload("bastille", "The Fall of the Bastille", passages=60))
    for item, limits, message in [
        (upload("other", "THE FALL OF THE BASTILLE"), {}, "already has a text titled"),
        (upload("bastille", "Another Title"), {}, "already has a text titled"),
        (upload("oath", "Oath", passages=41), {}, "that is over the limit of 100"),
        (upload("oath", "Oath"), {"max_texts": 1}, "already has 1 text of its own"),
    ]:
        with pytest.raises(UploadRefused, match=message):
            add(store, item, **limits)
    assert [u.source_id for u in store.uploads(1)] == ["bastille"]
    assert store.revisions() == {1: 1}  # a refused text changes nothing


def test_a_file_that_cannot_be_used_is_one_line_naming_it(tmp_path: Path) -> None:
    garbage = tmp_path / "library.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UploadStorageError, match=f"cannot use the upload database {garbage}"):
        SqliteUploadStore(garbage).open()

    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(UploadStorageError, match="schema version 99, newer than this histbot"):
        SqliteUploadStore(newer).open()

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(UploadStorageError, match="cannot create"):
        SqliteUploadStore(blocked / "library.sqlite3").open()


WRITER = textwrap.dedent(
    """
    import sys
    from bot.uploads import SqliteUploadStore, Upload

    store = SqliteUploadStore(sys.argv[1])
    store.open()
    number = 0
    while True:
        number += 1
        text = f"Text number {number}. " * 150_000  # about 3 MB: the kill lands mid-write
        item = Upload(1, f"text-{number}", f"Text {number}", f"t{number}.txt", len(text), 1, 1,
                      7, "olga", "2024-05-01T12:00:00+00:00")
        store.add(item, text.encode(), text, max_texts=10_000, max_passages=10**9)
        print("ack", number, flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.11])
def test_a_writer_killed_mid_text_leaves_each_text_whole_or_absent(
    tmp_path: Path, delay: float
) -> None:
    path = tmp_path / "library.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    acknowledged = 0
    try:
        assert writer.stdout is not None
        for line in writer.stdout:
            acknowledged = int(line.split()[1])
            if acknowledged == 2:
                break
        time.sleep(delay)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(10)
    assert acknowledged == 2, "the writer died before writing"

    store = SqliteUploadStore(path)
    store.open()
    kept = {source.id: text for source, text in store.texts(1)}
    for number in range(1, acknowledged + 1):
        assert f"text-{number}" in kept  # everything acknowledged is there
    for source_id, text in kept.items():  # and whatever is there is whole
        number = int(source_id.split("-")[1])
        expected = f"Text number {number}. " * 150_000
        assert hashlib.sha256(text.encode()).digest() == hashlib.sha256(expected.encode()).digest()
    assert store.revisions() == {1: len(kept)}
    assert [u.source_id for u in store.uploads(1)] == sorted(kept, key=lambda s: int(s[5:]))
