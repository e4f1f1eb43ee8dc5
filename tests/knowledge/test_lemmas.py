"""The lemma table knowledge.text reads is lemminflect's, through knowledge.text's rule."""

from __future__ import annotations

import pytest

from benchmarks.lemma_table import TABLE, lemma_table, lemminflect_lemma, table_text
from knowledge.text import stem, terms, words


def test_the_shipped_table_is_what_lemminflect_gives() -> None:
    assert TABLE.read_text(encoding="utf-8") == table_text(lemma_table())


@pytest.mark.parametrize(
    "word", ["won", "fought", "children", "armies", "left", "found", "rose", "was", "tsar", "gpu"]
)
def test_a_word_is_lemmatised_as_lemminflect_would(word: str) -> None:
    (token,) = words(word)
    assert token.term == stem(lemminflect_lemma(word))


def test_irregular_forms_find_their_lemma() -> None:
    assert terms("won fought children") == terms("win fight child")
    assert terms("left") != terms("leave")  # "left" can be another word: kept
