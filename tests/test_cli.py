"""The `histbot` command as a user runs it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, write_sources


def histbot(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HISTBOT_", "DISCORD_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def data_env(tmp_path: Path) -> dict[str, str]:
    return {"HISTBOT_DATA_DIR": str(tmp_path / "data")}


def test_ask_prints_quote_citation_and_alternatives(data_env: dict[str, str]) -> None:
    result = histbot("ask", "Who was the first head of the Cheka?", env=data_env)
    assert result.returncode == 0, result.stderr
    assert "Felix Dzerzhinsky" in result.stdout
    assert "From Guardians to Executioners, section 3 “Dzerzhinsky and the Cheka”" in result.stdout
    assert "[guardians:3.1]" in result.stdout
    assert "Other matches:" in result.stdout
    assert result.stderr == ""


def test_unanswerable_question_says_so_and_exits_zero(data_env: dict[str, str]) -> None:
    result = histbot("ask", "When was the KGB dissolved?", env=data_env)
    assert result.returncode == 0
    assert result.stdout.startswith("Not in the sources")
    assert "Closest sections:" in result.stdout


def test_ask_json_has_the_documented_fields(data_env: dict[str, str]) -> None:
    result = histbot("ask", "--json", "Who infiltrated Trotsky's compound in Mexico?", env=data_env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["question"] == "Who infiltrated Trotsky's compound in Mexico?"
    assert record["answered"] is True
    assert 1 <= len(record["results"]) <= 5
    best = record["results"][0]
    assert set(best) >= {"ref", "score", "text", "quote", "citation"}
    assert "Ramon Mercader" in best["quote"] and best["quote"] in best["text"]
    assert best["citation"].startswith("From Guardians to Executioners")


def test_ask_json_stdin_answers_each_line_in_order(data_env: dict[str, str]) -> None:
    questions = ["who was andres nin", "", "When was the Warsaw Pact signed?", "who was yezov"]
    result = histbot("ask", "--json", "-", stdin="\n".join(questions) + "\n", env=data_env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in records] == questions
    assert [r["answered"] for r in records] == [True, False, False, True]
    assert "error" in records[1]
    assert records[2]["results"]  # closest passages are still listed


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
def test_bad_input_is_one_line_and_non_zero(
    args: list[str], message: str, data_env: dict[str, str]
) -> None:
    result = histbot(*args, env=data_env)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_sources_folder_is_one_line(tmp_path: Path) -> None:
    result = histbot("ask", "who was Beria", env={"HISTBOT_SOURCES_DIR": str(tmp_path / "none")})
    assert result.returncode == 1
    assert result.stderr.startswith(
        "histbot: error: cannot load the texts: sources folder not found"
    )
    assert "Traceback" not in result.stderr


def test_corrupt_text_is_one_line(tmp_path: Path) -> None:
    folder = write_sources(tmp_path / "seeds", {"broken": ("Broken", "placeholder")})
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00garbage")
    result = histbot("sources", env={"HISTBOT_SOURCES_DIR": str(folder)})
    assert result.returncode == 1
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_run_without_a_token_is_one_line(tmp_path: Path) -> None:
    result = histbot("run", cwd=tmp_path)  # no .env here
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "histbot: error: DISCORD_TOKEN is not set: put the bot token in the environment "
        "or in .env (see README, 'Running the bot')"
    )


def test_invalid_setting_is_one_line(data_env: dict[str, str]) -> None:
    result = histbot("sources", env={**data_env, "HISTBOT_ASK_COOLDOWN": "-3"})
    assert result.returncode == 1
    assert "invalid setting" in result.stderr and "Traceback" not in result.stderr


def test_passage_search_and_sources(data_env: dict[str, str]) -> None:
    passage = histbot("passage", "3.2", "--context", "1", env=data_env)
    assert passage.returncode == 0, passage.stderr
    assert "[guardians:3.1]" in passage.stdout and "» [guardians:3.2]" in passage.stdout
    assert "[guardians:3.3]" in passage.stdout

    search = histbot("search", "Yezhov purge", "--json", env=data_env)
    hits = json.loads(search.stdout)
    assert 1 <= len(hits) <= 5 and all("Yezhov" in h["text"] or "purge" in h["text"] for h in hits)

    sources = histbot("sources", env=data_env)
    assert "guardians  From Guardians to Executioners: The Degeneration" in sources.stdout
    assert "§3   Dzerzhinsky and the Cheka" in sources.stdout


def test_unreachable_discord_is_one_line(tmp_path: Path) -> None:
    env = {
        "DISCORD_TOKEN": "not-a-real-token",
        "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10",  # nothing listens on port 9
        "HISTBOT_DATA_DIR": str(tmp_path),
    }
    for command in ("run", "sync"):
        result = histbot(command, env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1].startswith("histbot: error: cannot reach Discord")
        assert "Traceback" not in result.stderr


def test_stdin_questions_in_text_mode_are_answered_once_each(data_env: dict[str, str]) -> None:
    result = histbot("ask", "-", stdin="who was andres nin\n\n", env=data_env)
    assert result.returncode == 0
    assert result.stdout.count("? who was andres nin") == 1
    assert result.stdout.count("[guardians:5.8]") == 1
    assert "error: the question is empty" in result.stdout
