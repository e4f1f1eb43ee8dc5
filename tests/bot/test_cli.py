"""The `histbot` command as a user runs it: output, exit codes, one-line errors.

Most run `main(argv)` in this process (the index is built once, in a cache every test
shares); two smoke tests run the installed `histbot` script in a real process.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import SqliteSessionStore
from knowledge import semantic
from tests.bot.storage.helpers import damage_table, start
from tests.conftest import SEEDS, write_sources


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


Histbot = Callable[..., Run]


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir (and so one index cache) for every CLI test."""
    return tmp_path_factory.mktemp("cli-data")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No HISTBOT_/DISCORD_ variables from outside (but the run's shared index cache), and
    no .env in the working directory."""
    for key in list(os.environ):
        if key.startswith(("HISTBOT_", "DISCORD_")) and key != "HISTBOT_INDEX_CACHE_DIR":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def histbot(
    clean_env: pytest.MonkeyPatch, shared_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> Histbot:
    """`histbot ARGS` in this process: its exit code, standard output and error."""

    def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Run:
        clean_env.setenv("HISTBOT_DATA_DIR", str(shared_data_dir))
        for key, value in (env or {}).items():
            clean_env.setenv(key, value)
        clean_env.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        capsys.readouterr()
        code = main(list(args), out=out)
        return Run(code, out.getvalue(), capsys.readouterr().err)

    return run


def test_ask_prints_quote_citation_and_alternatives(histbot: Histbot) -> None:
    result = histbot("ask", "Who was the first head of the Cheka?")
    assert result.code == 0, result.stderr
    assert "Felix Dzerzhinsky" in result.stdout
    assert "From Guardians to Executioners, section 3 “Dzerzhinsky and the Cheka”" in result.stdout
    assert "[guardians:3.1]" in result.stdout
    assert "Other matches:" in result.stdout
    assert result.stderr == ""


def test_unanswerable_question_says_so_and_exits_zero(histbot: Histbot) -> None:
    result = histbot("ask", "How tall was Stalin?")
    assert result.code == 0
    assert result.stdout.startswith("Not in the sources")
    assert "Closest sections:" in result.stdout


def test_ask_json_has_the_documented_fields(histbot: Histbot) -> None:
    result = histbot("ask", "--json", "Who infiltrated Trotsky's compound in Mexico?")
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["question"] == "Who infiltrated Trotsky's compound in Mexico?"
    assert record["answered"] is True
    assert 1 <= len(record["results"]) <= 5
    best = record["results"][0]
    assert set(best) >= {"ref", "score", "text", "quote", "citation"}
    assert "Ramon Mercader" in best["quote"] and best["quote"] in best["text"]
    assert best["citation"].startswith("From Guardians to Executioners")


def test_ask_json_stdin_answers_each_line_in_order(histbot: Histbot) -> None:
    questions = [
        "who was andres nin",
        "",
        "When was the Warsaw Pact signed?",
        "who was the first head of the cheka",
    ]
    result = histbot("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert result.code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == questions
    assert [r["answered"] for r in records] == [True, False, False, True]
    assert "error" in records[1]
    assert records[2]["results"]  # closest passages are still listed


def test_stdin_questions_in_text_mode_are_answered_once_each(histbot: Histbot) -> None:
    result = histbot("ask", "-", stdin="who was andres nin\n\n")
    assert result.code == 0
    assert result.stdout.count("? who was andres nin") == 1
    assert result.stdout.count("[guardians:5.8]") == 1
    assert "error: the question is empty" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "the question is empty"),
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 20_000], "too long"),
        (["ask", "what is the of and"], "only common words"),
        (["ask", "🙂🙂"], "no words"),
        (["passage", "guardians:9.9"], "no passage"),
        (["passage", "not-a-ref"], "not a passage reference"),
        (["passage", "9" * 5000 + ".1"], "not a passage reference"),
        (["passage", "²"], "not a passage reference"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(histbot: Histbot, args: list[str], message: str) -> None:
    result = histbot(*args)
    assert result.code == 2
    assert result.stderr.startswith("histbot: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_missing_sources_folder_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    result = histbot("ask", "who was Beria", env={"HISTBOT_SOURCES_DIR": str(tmp_path / "none")})
    assert result.code == 1
    assert result.stderr.startswith(
        "histbot: error: cannot load the texts: sources folder not found"
    )
    assert result.stderr.count("\n") == 1


def test_corrupt_text_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    folder = write_sources(tmp_path / "seeds", {"broken": ("Broken", "placeholder")})
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00garbage")
    result = histbot("sources", env={"HISTBOT_SOURCES_DIR": str(folder)})
    assert result.code == 1
    assert "not UTF-8" in result.stderr and result.stderr.count("\n") == 1


def test_run_without_a_token_is_one_line(histbot: Histbot) -> None:
    result = histbot("run")  # the working directory has no .env
    assert result.code == 1
    assert result.stderr.strip() == (
        "histbot: error: DISCORD_TOKEN is not set: put the bot token in the environment "
        "or in .env (see README, 'Running the bot')"
    )


def test_invalid_setting_is_one_line(histbot: Histbot) -> None:
    result = histbot("sources", env={"HISTBOT_ASK_COOLDOWN": "-3"})
    assert result.code == 1
    assert "invalid setting" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16"],  # utf-16: PowerShell 5's `echo ... > .env`
)
def test_env_file_is_read_in_the_encodings_editors_write(
    histbot: Histbot, tmp_path: Path, encoding: str
) -> None:
    (tmp_path / ".env").write_text("HISTBOT_ASK_COOLDOWN=-3\n", encoding=encoding)
    result = histbot("sources")
    assert result.code == 1  # the setting was read: -3 is refused
    assert "invalid setting HISTBOT_ASK_COOLDOWN" in result.stderr, result.stderr


def test_env_file_in_another_encoding_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("HISTBOT_LOG_LEVEL=DÉBUG\n".encode("latin-1"))
    result = histbot("sources")
    assert result.code == 1
    assert result.stderr == (
        "histbot: error: .env is not UTF-8 text (byte 0xc9 at offset 19): save it as UTF-8\n"
    )


def test_passage_search_and_sources(histbot: Histbot) -> None:
    passage = histbot("passage", "3.2", "--context", "1")
    assert passage.code == 0, passage.stderr
    assert "[guardians:3.1]" in passage.stdout and "» [guardians:3.2]" in passage.stdout
    assert "[guardians:3.3]" in passage.stdout

    search = histbot("search", "Yezhov purge", "--json")
    hits = json.loads(search.stdout)
    assert 1 <= len(hits) <= 5 and all("Yezhov" in h["text"] or "purge" in h["text"] for h in hits)

    sources = histbot("sources")
    assert "guardians  From Guardians to Executioners: The Degeneration" in sources.stdout
    assert "§3   Dzerzhinsky and the Cheka" in sources.stdout


@pytest.mark.usefixtures("restore_process_state")
@pytest.mark.parametrize("command", ["run", "sync"])
def test_unreachable_discord_is_one_line(histbot: Histbot, command: str) -> None:
    env = {
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # nothing listens on port 9
        "HISTBOT_SEARCH_PROCESSES": "0",
    }
    result = histbot(command, env=env)
    assert result.code == 1
    assert result.stderr.splitlines()[-1].startswith("histbot: error: cannot reach Discord")
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("restore_process_state")
def test_an_unreadable_session_database_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    data = tmp_path / "garbage"
    data.mkdir()
    (data / "histbot.sqlite3").write_bytes(b"this is not a database, just some bytes " * 200)
    env = {
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
        "HISTBOT_DATA_DIR": str(data),
        "HISTBOT_SEARCH_PROCESSES": "0",
    }
    result = histbot("run", env=env)
    assert result.code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("histbot: error: cannot open the session database ")
    assert str(data / "histbot.sqlite3") in last and "not a database" in last
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("restore_process_state")
def test_an_unreadable_upload_database_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    data = tmp_path / "garbage"
    data.mkdir()
    (data / "library.sqlite3").write_bytes(b"this is not a database, just some bytes " * 200)
    env = {
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",
        "HISTBOT_DATA_DIR": str(data),
        "HISTBOT_SEARCH_PROCESSES": "0",
    }
    result = histbot("run", env=env)
    assert result.code == 1
    last = result.stderr.splitlines()[-1]
    assert last == (
        f"histbot: error: cannot use the upload database {data / 'library.sqlite3'}: "
        "file is not a database"
    )


@pytest.mark.usefixtures("restore_process_state")
def test_a_damaged_session_database_is_one_line_saying_what_to_do(
    histbot: Histbot, tmp_path: Path
) -> None:
    """PRAGMA quick_check at start-up: a bad page is found before the bot logs in."""
    data = tmp_path / "damaged"
    asyncio.run(_a_database_with_a_session(data / "histbot.sqlite3"))
    damage_table(data / "histbot.sqlite3")
    env = {
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # never reached
        "HISTBOT_DATA_DIR": str(data),
        "HISTBOT_SEARCH_PROCESSES": "0",
    }
    result = histbot("run", env=env)
    assert result.code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"histbot: error: the session database {data / 'histbot.sqlite3'} ")
    assert "is damaged (" in last and "restore it from a backup" in last
    assert "Traceback" not in result.stderr


async def _a_database_with_a_session(path: Path) -> None:
    async with SqliteSessionStore(path) as store:
        await start(store)


# -- the installed script, in a real process ---------------------------------------------------


def installed_histbot(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """The `histbot` console script of this environment, as a user runs it."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HISTBOT_", "DISCORD_")) or key == "HISTBOT_INDEX_CACHE_DIR"
    }
    environment["HISTBOT_DATA_DIR"] = str(data_dir)
    script = Path(sys.executable).with_name("histbot")
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=data_dir,
        timeout=60,
    )


def test_installed_script_answers_a_question(shared_data_dir: Path) -> None:
    result = installed_histbot(
        "ask", "Who was the first head of the Cheka?", data_dir=shared_data_dir
    )
    assert result.returncode == 0, result.stderr
    assert "Felix Dzerzhinsky" in result.stdout and "[guardians:3.1]" in result.stdout
    assert result.stderr == ""


def test_installed_script_reports_bad_input_in_one_line(shared_data_dir: Path) -> None:
    result = installed_histbot("passage", "not-a-ref", data_dir=shared_data_dir)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("histbot: error: ") and "not a passage reference" in result.stderr
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


BASTILLE = """\
The Storming

On the morning of 14 July 1789 a crowd gathered before the Bastille, demanding the gunpowder
stored inside; its governor, Bernard-René de Launay, refused to surrender.

The Aftermath

The demolition of the fortress was begun the next day by the contractor Pierre-François
Palloy, who sold its stones as souvenirs.
"""


def sources_copy(tmp_path: Path) -> Path:
    """A sources folder holding the shipped text and manifest, to add to."""
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in ("sources.toml", "from-guardians-to-executioners.txt"):
        (folder / name).write_bytes((SEEDS / name).read_bytes())
    return folder


def test_add_copies_the_text_and_writes_its_manifest_entry(
    histbot: Histbot, tmp_path: Path
) -> None:
    folder = sources_copy(tmp_path)
    file = tmp_path / "fall-of-the-bastille.txt"
    file.write_text(BASTILLE, encoding="utf-8")
    env = {"HISTBOT_SOURCES_DIR": str(folder), "HISTBOT_DATA_DIR": str(tmp_path / "data")}

    added = histbot("add", str(file), "--title", "The Fall of the Bastille", env=env)
    assert added.code == 0, added.stderr
    assert added.stdout.startswith(
        "Added The Fall of the Bastille as the-fall-of-the-bastille: 2 passages in 2 sections"
    )
    assert (folder / file.name).read_text(encoding="utf-8") == BASTILLE
    manifest = (folder / "sources.toml").read_text(encoding="utf-8")
    assert manifest.startswith((SEEDS / "sources.toml").read_text(encoding="utf-8").rstrip())
    assert manifest.endswith(
        '[[sources]]\nid = "the-fall-of-the-bastille"\nfile = "fall-of-the-bastille.txt"\n'
        'title = "The Fall of the Bastille"\n'
    )
    answer = histbot("ask", "Who was the governor of the Bastille?", env=env)
    assert "de Launay" in " ".join(answer.stdout.split())
    assert "[the-fall-of-the-bastille:1.1]" in "".join(answer.stdout.split())
    sources = histbot("sources", env=env)
    assert "the-fall-of-the-bastille  The Fall of the Bastille  (2 passages in 2 sections)" in (
        sources.stdout
    )

    other = tmp_path / "oath_notes.md"
    other.write_text("# The Oath\n\nOn 20 June 1789 the deputies swore an oath.\n", "utf-8")
    named = histbot("add", str(other), "--id", "oath", env=env)
    assert named.code == 0, named.stderr
    assert named.stdout.startswith("Added Oath Notes as oath: 1 passages in 1 sections")


@pytest.mark.parametrize(
    ("name", "content", "options", "told"),
    [
        ("missing.txt", None, [], "cannot add {path}: file not found: {path}"),
        ("setup.exe", b"MZ\x90\x00", [], "unsupported file type '.exe'"),
        ("notes.txt", b"\x00\x01binary\x00" * 20, [], "looks binary, not text"),
        ("latin.txt", "Café, 1850.".encode("latin-1"), [], "not UTF-8 text (byte 3)"),
        ("headings.md", b"# One\n\n## Two\n", [], "has no paragraphs"),
        (
            "guardians.txt",
            BASTILLE.encode(),
            ["--title", "FROM GUARDIANS TO EXECUTIONERS"],
            "a text titled 'FROM GUARDIANS TO EXECUTIONERS' is already in the library",
        ),
        (
            "other.txt",
            BASTILLE.encode(),
            ["--id", "guardians"],
            "a text with id 'guardians' is already in the library",
        ),
        ("other.txt", BASTILLE.encode(), ["--id", "Not An Id"], "id 'Not An Id' must be 1-32"),
        ("other.txt", BASTILLE.encode(), ["--title", " "], "the title is empty"),
        (
            "from-guardians-to-executioners.txt",
            BASTILLE.encode(),
            ["--title", "Bastille"],
            "a file named 'from-guardians-to-executioners.txt' is already in",
        ),
    ],
)
def test_add_refuses_a_bad_file_in_one_line_and_changes_nothing(
    histbot: Histbot,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    options: list[str],
    told: str,
) -> None:
    folder = sources_copy(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    path = tmp_path / "upload" / name
    path.parent.mkdir()
    if content is not None:
        path.write_bytes(content)
    result = histbot("add", str(path), *options, env={"HISTBOT_SOURCES_DIR": str(folder)})
    assert result.code == 2
    assert result.stderr.startswith(f"histbot: error: cannot add {path}: ")
    assert told.format(path=path) in result.stderr and result.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_add_to_a_folder_that_cannot_be_used_is_one_line(histbot: Histbot, tmp_path: Path) -> None:
    file = tmp_path / "bastille.txt"
    file.write_text(BASTILLE, encoding="utf-8")
    missing = histbot("add", str(file), env={"HISTBOT_SOURCES_DIR": str(tmp_path / "none")})
    assert (missing.code, missing.stderr.count("\n")) == (1, 1)
    assert "cannot add to the texts: sources folder not found" in missing.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sources.toml").write_text("[[sources]\nid = ", encoding="utf-8")
    result = histbot("add", str(file), env={"HISTBOT_SOURCES_DIR": str(broken)})
    assert (result.code, result.stderr.count("\n")) == (1, 1)
    assert "cannot add to the texts: cannot read" in result.stderr


def test_sources_shows_each_part_of_a_book(histbot: Histbot, tmp_path: Path) -> None:
    folder = write_sources(
        tmp_path / "book",
        {
            "annals": (
                "The Annals",
                """\
                BOOK I.

                Chapter I: The Founding

                The city was founded by shepherds on the hills above the river, in a year.

                Chapter II: The Kings

                Seven kings ruled the city before the people drove out the last of them.

                BOOK II.

                Chapter I: The Republic

                Two consuls, elected each year, took the place of the kings.
                """,
            )
        },
    )
    env = {"HISTBOT_SOURCES_DIR": str(folder), "HISTBOT_DATA_DIR": str(tmp_path / "data")}
    shown = histbot("sources", env=env)
    assert shown.code == 0, shown.stderr
    assert "annals  The Annals  (3 passages in 3 sections)" in shown.stdout
    assert "§1   book I, ch. I — Chapter I: The Founding  [1]" in shown.stdout
    assert "§3   book II, ch. I — Chapter I: The Republic  [1]" in shown.stdout


def test_index_builds_the_index_and_sentence_vectors_now(histbot: Histbot) -> None:
    result = histbot("index")
    assert result.code == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("indexed 1 texts: 51 passages, 202 sentences, ")
    state = "words only" if semantic.encoder() is None else "with sentence vectors"
    assert state in last
