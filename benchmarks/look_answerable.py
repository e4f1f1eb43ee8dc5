"""Questions written to look answerable that the texts do not answer, made from answerable ones.

squad-train's unanswerable questions are about other articles: on topic, but a different
subject, which sentence vectors tell apart easily. The harder kind (SQuAD 2.0's "impossible"
questions) asks about the right text with one thing changed. The commonest change is the
entity: "Who did Victoria marry?" -> "Who did Leopold marry?". This module makes such
questions, deterministically, and only where the texts cannot answer them: the new name and
the question's rarest other word never stand in one passage of the library.

They teach the answering model's abstention that every word of a question must be answered
for, and measure it (benchmarks/retrieval.py reports them for the held-back articles).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from knowledge import Library
from knowledge.corpus import NAME
from knowledge.text import DATE, STOP_WORDS, words


def _names_of_sources(library: Library) -> dict[int, list[tuple[str, int]]]:
    """Per source number: (folded name, passages holding it) for names in at least two
    passages, commonest first."""
    corpus, index = library.index.corpus, library.index
    found: dict[int, list[tuple[str, int]]] = {}
    for word_id in np.flatnonzero(corpus.word_flags & NAME):
        term = corpus.term_of(int(word_id))
        if not term or not term.isalpha() or len(term) < 3:
            continue
        postings = index.text.postings(term)
        if len(postings) < 2:
            continue
        for source in np.unique(corpus.passage_source[postings]).tolist():
            found.setdefault(source, []).append((corpus.word(int(word_id)), len(postings)))
    return {s: sorted(names, key=lambda n: (-n[1], n[0])) for s, names in found.items()}


def swapped_entities(library: Library, questions: list[dict]) -> list[dict]:
    """One look-answerable, unanswerable question per answerable question where a name can
    be swapped: same text, same words, another of the article's names."""
    index, corpus = library.index, library.index.corpus
    names = _names_of_sources(library)
    source_number = {s.id: i for i, s in enumerate(library.sources)}
    made = []
    for item in questions:
        source = source_number.get(item.get("source") or "")
        if source is None or not item.get("evidence"):
            continue
        tokens = words(item["q"])
        content = [t for t in tokens if t.folded not in STOP_WORDS and index.has_term(t.term)]
        is_name = {
            t.folded: (w := corpus.word_id(t.folded)) is not None
            and bool(corpus.word_flags[w] & NAME)
            for t in content
        }
        text = item["q"]
        swappable = [
            t
            for t in content
            if is_name[t.folded]
            and t.surface[:1].isupper()
            and "-" not in text[max(t.start - 1, 0) : t.end + 1]  # part of "Kim Il-sung"
        ]
        relation = [t for t in content if not is_name[t.folded]]
        if not swappable or not relation:
            continue
        entity = max(swappable, key=lambda t: index.idf(t.term) or 0.0)
        rarest = max(relation, key=lambda t: index.idf(t.term) or 0.0)
        asked = {t.folded for t in tokens}
        related = set(index.text.postings(rarest.term).tolist())
        frequency = len(index.text.postings(entity.term))
        options = [
            name
            for name, count in names.get(source, [])
            if name not in asked
            and not DATE.search(name.capitalize())  # months are no entities to ask about
            and frequency / 4 <= count <= frequency * 4
            and not related
            & set(index.text.postings(corpus.term_of(corpus.word_id(name))).tolist())
        ]
        if not options:
            continue
        digest = int(hashlib.sha256(item["id"].encode()).hexdigest(), 16)
        name = options[digest % min(len(options), 10)]
        suffix = (
            entity.surface[len(entity.surface.rstrip("sS")) - 2 :]
            if entity.surface.endswith(("'s", "’s"))
            else ""
        )
        text = text[: entity.start] + name.capitalize() + suffix + text[entity.end :]
        made.append(
            {
                "id": f"{item['id']}-swapped",
                "q": re.sub(r"\s+", " ", text),
                "evidence": [],
                "answer": [],
                "type": "look-answerable",
                "from_question": item["id"],
                "article": item["source"],
            }
        )
    return made


def _words_of_sources(library: Library) -> dict[int, list[tuple[str, int]]]:
    """Per source number: (folded word, passages holding it) for its ordinary words."""
    corpus, index = library.index.corpus, library.index
    found: dict[int, list[tuple[str, int]]] = {}
    for word_id in np.flatnonzero(library.index.word_terms >= 0):
        word = corpus.word(int(word_id))
        if corpus.word_flags[word_id] & NAME or not word.isalpha() or len(word) < 4:
            continue
        postings = index.text.postings(corpus.term_of(int(word_id)))
        for source in np.unique(corpus.passage_source[postings]).tolist():
            found.setdefault(source, []).append((word, len(postings)))
    return {s: sorted(found[s], key=lambda w: (-w[1], w[0])) for s in found}


def swapped_relations(library: Library, questions: list[dict]) -> list[dict]:
    """One look-answerable, unanswerable question per answerable question where the word
    saying what is asked about its subject can be swapped for another of the article's
    words ending alike ("When did Albert die?" -> "When did Albert resign?"), one that never
    stands in a passage with the subject."""
    index, corpus = library.index, library.index.corpus
    vocabulary = _words_of_sources(library)
    source_number = {s.id: i for i, s in enumerate(library.sources)}
    made = []
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
        relation = [
            t
            for t in content
            if t not in names
            and t.surface.islower()
            and t.surface.isalpha()
            and len(t.surface) >= 4
        ]
        if not names or not relation:
            continue
        subject = max(names, key=lambda t: index.idf(t.term) or 0.0)
        word = max(relation, key=lambda t: index.idf(t.term) or 0.0)
        beside = set(index.text.postings(subject.term).tolist())
        frequency = len(index.text.postings(word.term))
        asked = {t.folded for t in tokens}
        options = [
            other
            for other, count in vocabulary.get(source, [])
            if other not in asked
            and other[-2:] == word.folded[-2:]
            and frequency / 4 <= count <= frequency * 4
            and not beside
            & set(index.text.postings(corpus.term_of(corpus.word_id(other))).tolist())
        ]
        if not options:
            continue
        digest = int(hashlib.sha256(item["id"].encode()).hexdigest(), 16)
        other = options[digest % min(len(options), 10)]
        text = item["q"][: word.start] + other + item["q"][word.end :]
        made.append(
            {
                "id": f"{item['id']}-reworded",
                "q": re.sub(r"\s+", " ", text),
                "evidence": [],
                "answer": [],
                "type": "look-answerable",
                "from_question": item["id"],
                "article": item["source"],
            }
        )
    return made
