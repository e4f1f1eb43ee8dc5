"""Questions written to look answerable that the texts do not answer, made from answerable ones.

squad-train's unanswerable questions are about other articles: on topic, but a different
subject, which sentence vectors tell apart easily. The harder kind (SQuAD 2.0's "impossible"
questions) asks about the right text with one thing changed. This module makes two such
kinds, deterministically, and only where the texts cannot answer them:

* a name swapped for another of the article's: "Who did Victoria marry?" -> "Who did Leopold
  marry?", where the new name and the question's rarest other word share no passage;
* the word saying what is asked swapped for another of the article's ending alike: "When
  did Albert die?" -> "When did Albert resign?", where the new word and the question's
  rarest name share no passage.

They teach the answering model's abstention that every word of a question must be answered
for (benchmarks/fit_answering.py), and measure it on the held-back articles.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from knowledge import Library
from knowledge.corpus import NAME
from knowledge.text import DATE, STOP_WORDS, Token, words

CHOICES = 10
"""Among how many of the likeliest replacements one is picked (by a hash of the question)."""


@dataclass(frozen=True, slots=True)
class _Question:
    item: dict
    source: int  # the article's number in the library
    tokens: list[Token]
    names: list[Token]  # content words the library writes as names
    others: list[Token]  # its other content words


def _answerable(library: Library, questions: list[dict]) -> Iterator[_Question]:
    index, corpus = library.index, library.index.corpus
    source_number = {s.id: i for i, s in enumerate(library.sources)}
    for item in questions:
        source = source_number.get(item.get("source") or "")
        if source is None or not item.get("evidence"):
            continue
        tokens = words(item["q"])
        content = [t for t in tokens if t.folded not in STOP_WORDS and index.has_term(t.term)]
        names = [
            t
            for t in content
            if (w := corpus.word_id(t.folded)) is not None and corpus.word_flags[w] & NAME
        ]
        others = [t for t in content if t not in names]
        yield _Question(item, source, tokens, names, others)


def _words_of_sources(library: Library, names: bool) -> dict[int, list[tuple[str, int]]]:
    """Per source number: (folded word, passages holding it), commonest first — the names
    held by two passages or more, or the ordinary words of four letters or more."""
    corpus, index = library.index.corpus, library.index
    found: dict[int, list[tuple[str, int]]] = {}
    for word_id in np.flatnonzero(index.word_terms >= 0).tolist():
        word = corpus.word(word_id)
        if bool(corpus.word_flags[word_id] & NAME) != names or not word.isalpha():
            continue
        postings = index.text.postings(corpus.term_of(word_id))
        if len(word) < (3 if names else 4) or (names and len(postings) < 2):
            continue
        for source in np.unique(corpus.passage_source[postings]).tolist():
            found.setdefault(source, []).append((word, len(postings)))
    return {s: sorted(found[s], key=lambda w: (-w[1], w[0])) for s in found}


def _rarest(library: Library, tokens: list[Token]) -> Token:
    return max(tokens, key=lambda t: library.index.idf(t.term) or 0.0)


def _replacement(
    library: Library,
    question: _Question,
    pool: list[tuple[str, int]],
    replaced: Token,
    apart_from: Token,
    fits: Callable[[str], bool],
) -> str | None:
    """A word of `pool` as common as `replaced` (within 4x), fitting, not in the question,
    that shares no passage with `apart_from`; picked by a hash of the question."""
    index, corpus = library.index, library.index.corpus
    frequency = len(index.text.postings(replaced.term))
    beside = set(index.text.postings(apart_from.term).tolist())
    asked = {t.folded for t in question.tokens}
    options = [
        word
        for word, count in pool
        if word not in asked
        and fits(word)
        and frequency / 4 <= count <= frequency * 4
        and not beside & set(index.text.postings(corpus.term_of(corpus.word_id(word))).tolist())
    ]
    if not options:
        return None
    digest = int(hashlib.sha256(question.item["id"].encode()).hexdigest(), 16)
    return options[digest % min(len(options), CHOICES)]


def _made(question: _Question, kind: str, replaced: Token, word: str) -> dict:
    text = question.item["q"]
    return {
        "id": f"{question.item['id']}-{kind}",
        "q": re.sub(r"\s+", " ", text[: replaced.start] + word + text[replaced.end :]),
        "evidence": [],
        "answer": [],
        "type": "look-answerable",
        "from_question": question.item["id"],
        "article": question.item["source"],
    }


def swapped_entities(library: Library, questions: list[dict]) -> list[dict]:
    """One question per answerable one whose main name can be swapped (see the module)."""
    pools = _words_of_sources(library, names=True)
    made = []
    for q in _answerable(library, questions):
        text = q.item["q"]
        swappable = [
            t
            for t in q.names
            if t.surface[:1].isupper()
            and "-" not in text[max(t.start - 1, 0) : t.end + 1]  # part of "Kim Il-sung"
        ]
        if not swappable or not q.others:
            continue
        entity = _rarest(library, swappable)
        name = _replacement(
            library,
            q,
            pools.get(q.source, []),
            entity,
            _rarest(library, q.others),
            lambda word: not DATE.search(word.capitalize()),  # months are no entities
        )
        if name is not None:
            possessive = entity.surface[-2:] if entity.surface.endswith(("'s", "’s")) else ""
            made.append(_made(q, "swapped", entity, name.capitalize() + possessive))
    return made


def swapped_relations(library: Library, questions: list[dict]) -> list[dict]:
    """One question per answerable one whose asking word can be swapped (see the module)."""
    pools = _words_of_sources(library, names=False)
    made = []
    for q in _answerable(library, questions):
        relation = [
            t
            for t in q.others
            if t.surface.islower() and t.surface.isalpha() and len(t.surface) >= 4
        ]
        if not q.names or not relation:
            continue
        word = _rarest(library, relation)
        other = _replacement(
            library,
            q,
            pools.get(q.source, []),
            word,
            _rarest(library, q.names),
            lambda candidate, ending=word.folded[-2:]: candidate[-2:] == ending,  # alike
        )
        if other is not None:
            made.append(_made(q, "reworded", word, other))
    return made
