"""Passages and answers made up for the rendering tests."""

from __future__ import annotations

from dataclasses import replace

from knowledge import Answer, Hit, Passage

LONG_SENTENCES = " ".join(f"Sentence number {i} tells of the purge of {i} men." for i in range(400))


def make_passage(text: str, **changes: object) -> Passage:
    base = Passage(
        ref="guardians:3.9",
        source_id="guardians",
        source_title="From Guardians to Executioners",
        section=3,
        section_title="Dzerzhinsky and the Cheka",
        paragraph=9,
        text=text,
        position=20,
    )
    return replace(base, **changes)


def make_answer(passage: Passage, quote: str, terms=(), *, answered=True, others=()) -> Answer:
    hits = (Hit(passage, 3.0, quote, tuple(terms)), *others)
    return Answer("who was Yagoda?", answered, hits, "" if answered else "not covered", ())
