"""The shipped answering model: it loads, it reproduces the figures it reports, and the library
answers with or without sentence vectors.

The figures are the held-back part of squad-train (articles the model was never fitted on):
`benchmarks/fit_answering.py` wrote them into the model file; here they are measured again
from the shipped file. The word-only figures are checked on every run; the figures with
sentence vectors need squad-train's 4,665 sentences encoded (minutes), so that check is
marked slow: `python -m pytest -m slow`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from benchmarks.evaluation import SQUAD, evaluate, is_held_back, load_questions, quality, total
from benchmarks.look_answerable import swapped_entities, swapped_relations
from knowledge import KnowledgeError, Library, semantic
from knowledge.model import AnsweringModel
from knowledge.sources import read_manifest, read_text
from tests.conftest import SEEDS, write_sources


@pytest.fixture(scope="module")
def squad(index_cache: Path) -> Library:
    texts = [(source, read_text(source)) for source in read_manifest(SQUAD)]
    return Library.from_texts(texts, cache_dir=index_cache, encode_limit=0)


def reproduce(library: Library) -> dict[str, dict[str, float | str]]:
    questions = load_questions(SQUAD / "questions.jsonl")
    held_back = [q for q in questions if is_held_back(q)]
    swapped = swapped_entities(library, questions) + swapped_relations(library, questions)
    look_answerable = [q for q in swapped if is_held_back({"source": q["article"]})]
    return {
        "held_back": quality(total(evaluate(library, held_back))),
        "look_answerable_held_back": quality(total(evaluate(library, look_answerable))),
    }


def test_the_shipped_model_reproduces_its_word_only_figures(squad: Library) -> None:
    words_only = dataclasses.replace(squad.index, vectors=None, vectors_dir=None)
    library = Library(squad.sources, squad.passages, words_only)
    reported = library.model.meta["reported"]["lexical"]
    measured = reproduce(library)
    for part, figures in measured.items():
        assert figures == reported[part], part
    # and they are better than plain BM25's first passage (0.731 on this part)
    assert float(measured["held_back"]["hit@1"]) > 0.78


@pytest.mark.slow
def test_the_shipped_model_reproduces_its_figures_with_sentence_vectors(squad: Library) -> None:
    if semantic.encoder() is None:
        pytest.skip("no sentence encoder on this platform")
    if squad.needs_vectors:
        squad.make_vectors()
    measured = reproduce(squad)
    reported = squad.model.meta["reported"]["semantic"]
    for part, figures in measured.items():
        assert figures == reported[part], part


def test_a_damaged_model_file_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "model.json"
    broken.write_text('{"format": "histbot-answering-model", "version": 1}', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=f"cannot load the answering model {broken}"):
        AnsweringModel.load(broken)
    with pytest.raises(KnowledgeError, match="cannot load the answering model"):
        AnsweringModel.load(tmp_path / "missing.json")


def test_without_an_encoder_the_library_answers_by_words_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HISTBOT_SEMANTIC", "off")
    semantic.encoder.cache_clear()
    try:
        library = Library.load(SEEDS, cache_dir=tmp_path)
        assert library.index.vectors is None and not library.needs_vectors
        answer = library.answer("Who was the first head of the Cheka?")
        assert answer.answered and "Felix Dzerzhinsky" in answer.best.quote
    finally:
        semantic.encoder.cache_clear()


def test_answering_by_words_alone_is_the_word_only_model(index_cache: Path) -> None:
    """What the bot does under a burst: the same answer as a library without vectors."""
    library = Library.load(SEEDS, cache_dir=index_cache)
    if library.index.vectors is None:
        pytest.skip("no sentence encoder on this platform")
    words_only = Library(
        library.sources,
        library.passages,
        dataclasses.replace(library.index, vectors=None, vectors_dir=None),
    )
    question = "Who succeeded Dzerzhinsky as head of the secret police?"
    quick, plain = library.answer(question, by_words=True), words_only.answer(question)
    assert quick == plain
    assert [hit.score for hit in quick.hits] != [hit.score for hit in library.answer(question).hits]


def test_vectors_made_by_another_process_are_picked_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if semantic.encoder() is None:
        pytest.skip("no sentence encoder on this platform")
    folder = write_sources(tmp_path / "texts", {"bastille": ("The Fall of the Bastille", BASTILLE)})
    cache = tmp_path / "cache"
    # A library too large to encode while loading answers by words ...
    with caplog.at_level(logging.INFO, logger="knowledge.library"):
        waiting = Library.load(folder, cache_dir=cache, encode_limit=0)
    assert waiting.index.vectors is None
    assert "answering by words until 4 sentences' vectors are made" in caplog.text
    assert waiting.answer("Who commanded the Bastille?").answered
    # ... until another process (the bot's indexing worker, `histbot index`) makes them.
    made = Library.load(folder, cache_dir=cache, encode_limit=10_000)
    assert made.index.vectors is not None
    waiting._next_vector_check = 0.0
    answer = waiting.answer("Who commanded the Bastille?")
    assert waiting.index.vectors is not None
    assert answer.best is not None and "de Launay" in answer.best.quote


BASTILLE = """
    Morning
    The governor of the Bastille, Bernard-René de Launay, commanded a garrison of invalids and Swiss guards.
    The crowd demanded the powder and the guns stored in the fortress.

    Afternoon
    After hours of fighting, de Launay surrendered. The crowd carried his head on a pike through the streets of Paris.
"""
