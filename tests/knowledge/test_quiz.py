"""Cloze quiz generation: on the shipped seed text and on a small text written here."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from knowledge import Library, Passage, Source
from knowledge.quiz import (
    BLANK,
    CHOICES,
    Lexicon,
    QuizMaker,
    TermKind,
    extract_terms,
    make_quiz,
    quiz_maker,
)
from knowledge.text import split_sentences

REPO = Path(__file__).resolve().parents[2]

SMALL_TEXT = [
    "The Northern Railway Company opened its first line in 1841 between Millbrook and "
    "Ashford. Its engineer, Thomas Whitcombe, had surveyed the route for the Board of Trade "
    "in 1838.",
    "By 1856 the line carried 12,000 passengers a week. The rival Eastern Counties Union "
    "bought a share in 1860, and Harriet Lamb became the first woman on its board.",
    "A flood on 3 March 1862 closed the bridge at Ashford. Samuel Okafor rebuilt it within "
    "eight weeks, at a cost of 4,500 pounds, and the Royal Engineering Society gave him its "
    "medal in 1864.",
    "In May 1870 the company merged with the Western Canal Trust; the joint board kept the "
    "name NRC until 1899, when it became part of the GWR. The historian Clara Benedetti "
    "counted 340 stations.",
]


def small_library() -> list[Passage]:
    source = Source(id="rail", title="A Railway History", file=Path("rail.txt"))
    return [
        Passage(
            ref=f"rail:1.{i}",
            source_id="rail",
            source_title=source.title,
            section=1,
            section_title="Beginnings",
            paragraph=i,
            text=text,
            position=i - 1,
        )
        for i, text in enumerate(SMALL_TEXT, start=1)
    ]


@pytest.fixture(scope="module")
def seed_library(library: Library) -> Library:
    return library


def check_question(question, passages):
    assert question is not None
    assert len(question.choices) == CHOICES
    assert len({c.casefold() for c in question.choices}) == CHOICES, question.choices
    assert question.answer in question.choices
    assert question.choices[question.answer_index] == question.answer
    # The blank replaces the answer, and the sentence is quoted exactly from its passage.
    assert BLANK in question.cloze
    assert question.answer not in question.cloze
    assert question.cloze.replace(BLANK, question.answer) == question.sentence
    passage = next(p for p in passages if p.ref == question.ref)
    assert question.sentence in passage.text
    assert question.citation == passage.citation
    # Distractors are terms of the same kind found in the texts, and not in the sentence.
    lexicon = Lexicon.of(passages)
    kinds: dict[str, set[TermKind]] = {}
    for p in passages:
        for term in (t for s in split_sentences(p.text) for t in extract_terms(s, lexicon)):
            kinds.setdefault(term.text, set()).add(term.kind)
    for choice in question.choices:
        assert question.kind in kinds.get(choice, set()), (choice, question.kind)
        if choice != question.answer:
            assert choice not in question.sentence


def test_term_kinds_on_a_written_sentence():
    sentence = (
        "On 3 March 1862 the Royal Engineering Society paid Samuel Okafor 4,500 pounds, "
        "and the GWR agreed in 1864."
    )
    terms = {(t.text, t.kind) for t in extract_terms(sentence)}
    assert ("3 March 1862", TermKind.DATE) in terms
    assert ("Royal Engineering Society", TermKind.ORGANISATION) in terms
    assert ("Samuel Okafor", TermKind.NAME) in terms
    assert ("4,500", TermKind.NUMBER) in terms
    assert ("GWR", TermKind.ACRONYM) in terms
    assert ("1864", TermKind.YEAR) in terms
    # The sentence-initial "On" and the list-free text give nothing else.
    assert not any(t.text.startswith("On") for t in extract_terms(sentence))


def test_list_markers_roman_numerals_and_demonyms_are_not_terms():
    sentence = "(5) The German army of World War II marched on Paris in 1914."
    texts = {t.text for t in extract_terms(sentence)}
    assert "5" not in texts
    assert "II" not in texts
    assert "German" not in texts
    assert "Paris" in texts
    assert "1914" in texts


@pytest.mark.parametrize("seed", range(20))
def test_cloze_on_small_text_is_valid_and_deterministic(seed):
    passages = small_library()
    first = make_quiz(passages, rng=random.Random(seed))
    again = make_quiz(passages, rng=random.Random(seed))
    assert first == again
    check_question(first, passages)


def test_small_text_kinds_have_same_kind_choices():
    passages = small_library()
    seen = set()
    for seed in range(60):
        question = make_quiz(passages, rng=random.Random(seed))
        check_question(question, passages)
        seen.add(question.kind)
    assert {TermKind.YEAR, TermKind.NAME} <= seen


@pytest.mark.parametrize("seed", range(15))
def test_cloze_on_seed_from_read_passages(seed_library, seed):
    read = seed_library.passages[:6]
    question = make_quiz(read, pool=seed_library.passages, rng=random.Random(seed))
    check_question(question, seed_library.passages)
    assert question.ref in {p.ref for p in read}
    assert question == make_quiz(read, pool=seed_library.passages, rng=random.Random(seed))


def test_exclude_avoids_repeating_a_question(seed_library):
    read = seed_library.passages[:10]
    rng = random.Random(7)
    asked: list[tuple[str, str]] = []
    for _ in range(8):
        question = make_quiz(read, pool=seed_library.passages, rng=rng, exclude=asked)
        assert (question.ref, question.answer) not in asked
        asked.append((question.ref, question.answer))


def test_no_terms_no_question():
    passage = small_library()[0]
    bare = Passage(
        ref="rail:9.1",
        source_id="rail",
        source_title="A Railway History",
        section=9,
        section_title="",
        paragraph=1,
        text="nothing here has a name or a number in it, only plain lower case words.",
    )
    assert make_quiz([bare], pool=[bare, passage], rng=random.Random(1)) is None


def test_the_pool_vocabulary_is_built_once_per_library(seed_library, monkeypatch):
    import knowledge.quiz as quiz

    pool = tuple(list(seed_library.passages))  # a new tuple, like a new library's passages
    builds = []
    real = quiz.Lexicon.of.__func__
    monkeypatch.setattr(
        quiz.Lexicon, "of", classmethod(lambda cls, ps: builds.append(1) or real(cls, ps))
    )
    maker = quiz_maker(pool)
    assert isinstance(maker, QuizMaker) and quiz_maker(pool) is maker
    questions = [
        make_quiz(pool[: 4 + seed], pool=pool, rng=random.Random(seed)) for seed in range(5)
    ]
    assert len(builds) == 1  # not once per question
    assert questions[0] == maker.make(pool[:4], rng=random.Random(0))
    assert questions[0] == QuizMaker(list(pool)).make(pool[:4], rng=random.Random(0))
    # A list may change: it is not cached.
    assert quiz_maker(list(pool)) is not quiz_maker(list(pool))


def test_the_quiz_vocabulary_is_made_once_and_kept_with_the_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowledge.quiz as quiz

    SEEDS = REPO / "seeds"
    cache = tmp_path / "cache"
    library = Library.load(SEEDS, cache_dir=cache, encode_limit=0)
    assert not library.has_quiz_maker
    made = library.quiz_maker()
    assert library.quiz_maker() is made and library.has_quiz_maker
    read = [library.passages[i] for i in range(8)]
    expected = [made.make(read, rng=random.Random(seed)) for seed in range(6)]

    builds: list[int] = []
    real = quiz.Lexicon.of.__func__
    monkeypatch.setattr(
        quiz.Lexicon, "of", classmethod(lambda cls, ps: builds.append(1) or real(cls, ps))
    )
    opened = Library.load(SEEDS, cache_dir=cache, encode_limit=0)  # another process, say
    assert opened.has_quiz_maker
    kept = opened.quiz_maker()
    assert builds == []  # read from the cache, not made again
    assert [kept.make(read, rng=random.Random(seed)) for seed in range(6)] == expected

    (file,) = cache.glob("index-*/quiz-vocabulary.json")
    file.write_text('{"version": 1, "proper": 3}', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        rebuilt = Library.load(SEEDS, cache_dir=cache, encode_limit=0).quiz_maker()
    assert builds == [1] and len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert [rebuilt.make(read, rng=random.Random(seed)) for seed in range(6)] == expected
