"""The library: sources, passages and the index, behind one small API.

    library = Library.load(Path("seeds"), cache_dir=Path("data/index-cache"))
    answer = library.answer("who succeeded Dzerzhinsky?")
    answer.best.quote, answer.best.citation, answer.alternatives

Everything here is synchronous and CPU-bound; callers on an event loop run it off the loop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge import semantic
from knowledge.answering import abstention_reason, confidence, question_vector, quote, rank
from knowledge.bm25 import BM25Params
from knowledge.errors import QueryError, SourceError, UnknownReference
from knowledge.index import SearchIndex, cache_folder, content_key, load_or_build
from knowledge.model import AnsweringModel
from knowledge.models import Answer, Hit, Passage, SectionInfo, Source
from knowledge.query import analyse
from knowledge.sources import cut_passages, read_manifest, read_text
from knowledge.text import plain_question, words

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
MAX_RESULTS = 25
ENCODE_AT_LOAD = 3_000
"""Sentences whose vectors are made while a library loads (about a minute's work at most);
a larger library answers by its words until `make_vectors` has run (`histbot index`, or the
bot in the background), and picks the vectors up as soon as they are written."""
VECTOR_CHECK_SECONDS = 10.0
_REF = re.compile(
    r"^\s*(?:(?P<source>[a-z0-9][a-z0-9_-]{0,31})\s*:\s*)?"
    r"(?P<section>[0-9]{1,6})\s*[.:]\s*(?P<paragraph>[0-9]{1,6})\s*$",
    re.I,
)


class Library:
    """An immutable, searchable collection of source texts."""

    def __init__(
        self,
        sources: Sequence[Source],
        passages: Sequence[Passage],
        index: SearchIndex,
        model: AnsweringModel | None = None,
    ) -> None:
        self.sources: tuple[Source, ...] = tuple(sources)
        self.passages: tuple[Passage, ...] = tuple(passages)
        self.index = index
        self._model = model
        self._by_ref = {p.ref: p for p in self.passages}
        self._sections = self._collect_sections()
        self._next_vector_check = 0.0

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        sources_dir: Path,
        cache_dir: Path | None = None,
        params: BM25Params | None = None,
        model: AnsweringModel | None = None,
        encode_limit: int = ENCODE_AT_LOAD,
        vectors_dir: Path | None = None,
    ) -> Library:
        """Read the manifest and texts; reuse the cached index when the texts are unchanged.

        Raises SourceError (one-line message) for a missing folder, manifest or text.
        """
        sources = read_manifest(Path(sources_dir))
        return cls.from_texts(
            [(source, read_text(source)) for source in sources],
            cache_dir,
            params,
            model,
            encode_limit,
            vectors_dir,
        )

    @classmethod
    def from_texts(
        cls,
        texts: Sequence[tuple[Source, str]],
        cache_dir: Path | None = None,
        params: BM25Params | None = None,
        model: AnsweringModel | None = None,
        encode_limit: int = ENCODE_AT_LOAD,
        vectors_dir: Path | None = None,
    ) -> Library:
        """A library of texts already read (a manifest's, a server's uploads, or both); the
        index is cached under a key of every source's description and text, its sentence
        vectors per text in `vectors_dir` (default: `cache_dir/vectors`), so libraries
        sharing a text and a folder share them. Up to `encode_limit` missing sentences are
        encoded now; more are left to `make_vectors`."""
        started = time.perf_counter()
        params = params or BM25Params()
        sources = [source for source, _ in texts]
        if len({s.id for s in sources}) != len(sources):
            raise SourceError("two texts of the library have the same id")
        key, name = _texts_key(texts, params), _library_name(sources)
        passages, index = load_or_build(
            cache_dir,
            name,
            key,
            lambda: cut_passages(sources, [text for _, text in texts]),
            params,
            vectors_dir or (cache_dir / "vectors" if cache_dir else None),
        )
        library = cls(sources, passages, index, model)
        if library.needs_vectors and index.missing_sentences() <= encode_limit:
            library.make_vectors()
        log.info(
            "library ready: %d sources, %d passages in %.0f ms%s",
            len(sources),
            len(passages),
            (time.perf_counter() - started) * 1000,
            ""
            if index.vectors is not None or not library.needs_vectors
            else f" (answering by words until {index.missing_sentences():,} sentences' vectors "
            "are made)",
        )
        return library

    @property
    def model(self) -> AnsweringModel:
        """The fitted answering decisions (the shipped ones unless others were given)."""
        if self._model is None:
            self._model = AnsweringModel.load()
        return self._model

    @property
    def needs_vectors(self) -> bool:
        """Sentence vectors would sharpen its answers and can be made here."""
        return self.index.vectors is None and semantic.encoder() is not None

    def make_vectors(self) -> None:
        """Encode every sentence of the library (a book takes minutes: run it off the event
        loop, in a worker process); cached with the index."""
        started, count = time.perf_counter(), self.index.missing_sentences()
        self.index.add_vectors(self.passages)
        log.info("vectors of %d sentences made in %.0f s", count, time.perf_counter() - started)

    @staticmethod
    def is_cached(
        texts: Sequence[tuple[Source, str]], cache_dir: Path, params: BM25Params | None = None
    ) -> bool:
        """Whether `from_texts(texts, cache_dir)` would open a cached index rather than parse
        and index the texts (a caller that must not spend the CPU here builds elsewhere)."""
        key = _texts_key(texts, params or BM25Params())
        return cache_folder(cache_dir, _library_name([s for s, _ in texts]), key).is_dir()

    # -- passages --------------------------------------------------------------------------

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise UnknownReference(f"no source called {source_id!r} (sources: {known})")

    def passage(self, ref: str) -> Passage:
        """The passage a reference names: "guardians:3.2", or "3.2" with a single source."""
        canonical = self.normalise_ref(ref)
        return self._by_ref[canonical]

    def normalise_ref(self, ref: str) -> str:
        text = (ref or "").strip()
        match = _REF.match(text)
        if not match:
            raise UnknownReference(
                f"{text[:40]!r} is not a passage reference; write it like "
                f"{self.passages[0].ref if self.passages else 'source:1.1'} or 3.2",
                self._suggest(text),
            )
        source_id = (match.group("source") or "").lower()
        local = f"{int(match.group('section'))}.{int(match.group('paragraph'))}"
        if source_id:
            candidates = [f"{source_id}:{local}"]
        else:
            candidates = [f"{s.id}:{local}" for s in self.sources]
        found = [c for c in candidates if c in self._by_ref]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UnknownReference(
                f"{text!r} is in several sources; say which: {', '.join(found)}", tuple(found)
            )
        raise UnknownReference(f"no passage {text!r}", self._suggest(text))

    def _suggest(self, text: str) -> tuple[str, ...]:
        """Close references: "3.99" -> "guardians:3.9"; compared with and without source."""
        typed = text.strip().lower()
        scored = {
            ref: max(fuzz.ratio(typed, ref), fuzz.ratio(typed, passage.short_ref))
            for ref, passage in self._by_ref.items()
        }
        best = sorted(scored, key=lambda ref: (-scored[ref], self._by_ref[ref].position))
        return tuple(ref for ref in best[:3] if scored[ref] >= 50)

    def neighbours(self, ref: str, before: int = 1, after: int = 1) -> list[Passage]:
        """The passage and those around it in the same source, in reading order."""
        passage = self.passage(ref)
        lo = max(0, passage.position - before)
        hi = min(len(self.passages), passage.position + after + 1)
        return [p for p in self.passages[lo:hi] if p.source_id == passage.source_id]

    def next(self, ref: str) -> Passage | None:
        passage = self.passage(ref)
        following = passage.position + 1
        if (
            following < len(self.passages)
            and self.passages[following].source_id == passage.source_id
        ):
            return self.passages[following]
        return None

    def previous(self, ref: str) -> Passage | None:
        passage = self.passage(ref)
        if (
            passage.position > 0
            and self.passages[passage.position - 1].source_id == passage.source_id
        ):
            return self.passages[passage.position - 1]
        return None

    def random_passage(self, rng: random.Random | None = None) -> Passage:
        return (rng or random).choice(self.passages)

    # -- sections --------------------------------------------------------------------------

    def _collect_sections(self) -> list[SectionInfo]:
        counts: dict[tuple[str, int], list[Passage]] = {}
        for p in self.passages:
            counts.setdefault((p.source_id, p.section), []).append(p)
        return [
            SectionInfo(
                source_id=src,
                number=num,
                title=group[0].section_title,
                passage_count=len(group),
                first_ref=group[0].ref,
            )
            for (src, num), group in counts.items()
        ]

    def sections(self, source_id: str | None = None) -> list[SectionInfo]:
        if source_id is not None:
            self.source(source_id)
        return [s for s in self._sections if source_id is None or s.source_id == source_id]

    def find_section(self, source_id: str | None, section: str) -> SectionInfo:
        """A section by number ("3") or by (approximate) title, in one source or all."""
        pool = self.sections(source_id)
        wanted = section.strip()
        if wanted.isascii() and wanted.isdecimal() and len(wanted) <= 6:
            for info in pool:
                if info.number == int(wanted):
                    return info
        titled = {i: info.title for i, info in enumerate(pool) if info.title}
        match = process.extractOne(wanted, titled, scorer=fuzz.WRatio, score_cutoff=70)
        if match is not None:
            return pool[match[2]]
        raise UnknownReference(
            f"no section {wanted[:60]!r}" + (f" in {source_id}" if source_id else "")
        )

    def complete(self, text: str, limit: int = 25) -> list[tuple[str, str]]:
        """Autocomplete for references: (ref, label) pairs matching a prefix or a title."""
        typed = text.strip().lower()
        results: list[tuple[str, str]] = []
        for p in self.passages:
            if not typed or p.ref.startswith(typed) or p.short_ref.startswith(typed):
                results.append((p.ref, _label(p)))
                if len(results) >= limit:
                    return results
        if any(ch.isalpha() for ch in typed.split(":")[-1]):
            sections = {f"{s.source_id} {s.title}": s for s in self._sections if s.title}
            for key, _, _ in process.extract(
                typed, list(sections), scorer=fuzz.WRatio, limit=limit
            ):
                info = sections[key]
                pair = (info.first_ref, f"{info.first_ref} — {info.title}")
                if pair[0] not in {r for r, _ in results}:
                    results.append(pair)
        return results[:limit]

    # -- search ----------------------------------------------------------------------------

    def check_question(self, text: str) -> str:
        """The question as searched: invisible characters and chat markup dropped, spaces
        collapsed. Raises QueryError (one line) for a question that cannot be searched for."""
        cleaned = plain_question(text or "")
        if not cleaned:
            raise QueryError("the question is empty")
        if len(cleaned) > MAX_QUERY_CHARS:
            raise QueryError(
                f"the question is too long ({len(cleaned):,} characters; "
                f"the limit is {MAX_QUERY_CHARS:,})"
            )
        if not any(True for _ in words(cleaned)):
            raise QueryError("the question has no words to search for")
        return cleaned

    def _ranked_hits(self, question: str, limit: int, context: str = ""):
        query = analyse(self.check_question(question), self.index, context=context)
        if query.is_empty:
            raise QueryError(
                "the question has only common words; ask about a person, place or event"
            )
        if self.index.vectors is None and time.monotonic() >= self._next_vector_check:
            self._next_vector_check = time.monotonic() + VECTOR_CHECK_SECONDS
            self.index.pick_up_vectors()
        vector = question_vector(query, self.index)
        decisions = self.model.decisions(with_vectors=vector is not None)
        ranked = rank(query, self.index, decisions, vector)
        hits: list[Hit] = []
        shown: set[int] = set()
        for unit in ranked:  # the best unit of each passage, up to `limit` passages
            passage = int(self.index.corpus.unit_passage[unit.doc_id])
            if passage not in shown and len(hits) < min(limit, MAX_RESULTS):
                shown.add(passage)
                hits.append(self._hit(unit, query, decisions))
        return query, ranked, hits, decisions

    def _hit(self, ranked, query, decisions) -> Hit:
        passage = self.passages[int(self.index.corpus.unit_passage[ranked.doc_id])]
        shown = quote(passage, ranked, decisions)
        wanted = set(query.terms)
        matched = tuple(sorted({t.surface for t in words(passage.text) if t.term in wanted}))
        return Hit(
            passage=passage, score=round(ranked.logit, 4), quote=shown, matched_terms=matched
        )

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        """Passages ranked for a query, each with its best-matching sentences."""
        return self._ranked_hits(text, limit)[2]

    def answer(self, question: str, limit: int = 5, context: str = "") -> Answer:
        """The best passage and its quote, or an abstention with the closest passages.

        `context` is an earlier answer a follow-up question refers to ("what happened to him?").
        """
        query, ranked, hits, decisions = self._ranked_hits(question, limit, context)
        cleaned = query.text
        if not hits:
            return Answer(question=cleaned, answered=False, reason=abstention_reason(query, []))
        sections = self._closest_sections(hits)
        if confidence(query, ranked, decisions) < decisions.threshold:
            reason = abstention_reason(query, ranked)
            return Answer(cleaned, False, tuple(hits), reason, sections)
        return Answer(cleaned, True, tuple(hits), "", sections)

    def _closest_sections(self, hits: Sequence[Hit]) -> tuple[SectionInfo, ...]:
        seen: list[SectionInfo] = []
        for hit in hits:
            for info in self._sections:
                same = (info.source_id, info.number) == (hit.passage.source_id, hit.passage.section)
                if same and info not in seen:
                    seen.append(info)
        return tuple(seen[:3])


def _texts_key(texts: Sequence[tuple[Source, str]], params: BM25Params) -> str:
    """The index cache key: every source's description (its file by name only) and text."""
    described = [repr(dataclasses.replace(s, file=Path(s.file.name))).encode() for s, _ in texts]
    return content_key([*described, *(text.encode() for _, text in texts)], params)


def _library_name(sources: Sequence[Source]) -> str:
    """Which library a cache is of (its texts' ids), whatever their content."""
    return hashlib.sha256(" ".join(sorted(s.id for s in sources)).encode()).hexdigest()[:8]


def _label(passage: Passage) -> str:
    title = passage.section_title or passage.source_title
    label = f"{passage.ref} — {title}: {passage.text[:60]}"
    return label[:100]
