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
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from rapidfuzz import fuzz, process

from knowledge import semantic
from knowledge.answering import abstention_reason, confidence, question_vector, quote, rank
from knowledge.bm25 import BM25Params
from knowledge.errors import QueryError, SourceError, UnknownReference
from knowledge.index import (
    SearchIndex,
    cache_folder,
    content_key,
    load_or_build,
    read_beside,
    write_beside,
)
from knowledge.model import AnsweringModel
from knowledge.models import Answer, Hit, Passage, SectionInfo, Source
from knowledge.passages import PassageStore
from knowledge.query import analyse, typo_candidates
from knowledge.quiz import QuizMaker
from knowledge.sources import iter_passages, read_manifest, read_text
from knowledge.text import load_lemma_tables, plain_question, words

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
MAX_RESULTS = 25
ENCODE_AT_LOAD = 3_000
"""Sentences whose vectors are made while a library loads (about a minute's work at most);
a larger library answers by its words until `make_vectors` has run (`histbot index`, or the
bot in the background), and picks the vectors up as soon as they are written."""
VECTOR_CHECK_SECONDS = 10.0
QUIZ_FILE, QUIZ_FORMAT = "quiz-vocabulary.json", 1
"""The quiz vocabulary kept in the index folder; bump the format when knowledge.quiz changes
what it extracts."""


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
        store = (
            passages if isinstance(passages, PassageStore) else PassageStore.from_passages(passages)
        )
        self.passages: Sequence[Passage] = store
        """In reading order; memory-mapped from the index cache, each made when asked for."""
        self._store = store
        self.index = index
        self._model = model
        self._sections = self._collect_sections()
        self._section_of = {(info.source_id, info.number): info for info in self._sections}
        self._next_vector_check = 0.0
        self._quiz: QuizMaker | None = None
        self._quiz_lock = threading.Lock()

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
        """Read the manifest and texts; reuse the cached index when the texts are unchanged
        (then the texts' files are only hashed, never held in memory).

        Raises SourceError (one-line message) for a missing folder, manifest or text.
        """
        sources = read_manifest(Path(sources_dir))
        params = params or BM25Params()
        try:
            key = _files_key(sources, params)
        except OSError:  # read_text says what is wrong with the file, in one line
            key = None
        if cache_dir is None or key is None:
            texts = [(source, read_text(source)) for source in sources]
            return cls.from_texts(texts, cache_dir, params, model, encode_limit, vectors_dir)
        return cls._made(
            sources,
            key,
            lambda: iter_passages(sources, [read_text(source) for source in sources]),
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
        params = params or BM25Params()
        sources = [source for source, _ in texts]
        return cls._made(
            sources,
            _texts_key(texts, params),
            lambda: iter_passages(sources, [text for _, text in texts]),
            cache_dir,
            params,
            model,
            encode_limit,
            vectors_dir,
        )

    @classmethod
    def _made(
        cls,
        sources: Sequence[Source],
        key: str,
        passages_of: Callable[[], Iterable[Passage]],
        cache_dir: Path | None,
        params: BM25Params,
        model: AnsweringModel | None,
        encode_limit: int,
        vectors_dir: Path | None,
    ) -> Library:
        """The library of `sources`: its index opened from the cache under `key`, or built
        from `passages_of()` (and cached)."""
        started = time.perf_counter()
        if len({s.id for s in sources}) != len(sources):
            raise SourceError("two texts of the library have the same id")
        passages, index = load_or_build(
            cache_dir,
            _library_name(sources),
            key,
            passages_of,
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

    def warm_up(self) -> None:
        """Load now what answering loads on first use (the answering model, the lemma tables,
        the words typos are matched against, the question encoder when there are vectors),
        so a process's first answer is as quick as the rest. Processes that answer call it
        once, after loading (the bot's search workers do)."""
        self.model.decisions(with_vectors=self.index.vectors is not None)
        self.index.typical_idf  # noqa: B018 - computed once, then cached
        typo_candidates(self.index)
        load_lemma_tables()
        if self.index.vectors is not None:
            semantic.encoder()

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

    # -- quizzes ---------------------------------------------------------------------------

    def quiz_maker(self, *, keep: bool = True) -> QuizMaker:
        """The library's quiz maker (knowledge.quiz). Its vocabulary takes a read of every
        passage (about a minute for 100,000): it is read from the index cache when it was
        made before, else built and kept there. Run it off the event loop; with `keep`
        False it is not kept in this process (a worker making it for others)."""
        with self._quiz_lock:
            if self._quiz is not None:
                return self._quiz
            folder = self.index.folder
            maker, data = None, read_beside(folder, QUIZ_FILE, QUIZ_FORMAT)
            if data is not None:
                try:
                    maker = QuizMaker.from_json(data)
                except (KeyError, TypeError, ValueError, AttributeError) as error:
                    log.warning("rebuilding %s: %r", folder / QUIZ_FILE, error)  # type: ignore[operator]
            if maker is None:
                maker = QuizMaker(self.passages)
                write_beside(folder, QUIZ_FILE, QUIZ_FORMAT, maker.to_json())
            if keep:
                self._quiz = maker
            return maker

    @property
    def has_quiz_maker(self) -> bool:
        """Whether `quiz_maker()` is quick here: made already, or cached with the index."""
        folder = self.index.folder
        return self._quiz is not None or (folder is not None and (folder / QUIZ_FILE).is_file())

    # -- passages --------------------------------------------------------------------------

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise UnknownReference(f"no source called {source_id!r} (sources: {known})")

    def passage(self, ref: str) -> Passage:
        """The passage a reference names: "guardians:3.2", or "3.2" with a single source."""
        return self._store[self._store.position_of(ref)]

    def normalise_ref(self, ref: str) -> str:
        """The canonical form ("source:3.2") of a typed reference; UnknownReference if none."""
        return self.passage(ref).ref

    def neighbours(self, ref: str, before: int = 1, after: int = 1) -> list[Passage]:
        """The passage and those around it in the same source, in reading order."""
        found = self._store.around(self._store.position_of(ref), before, after)
        return [self._store[i] for i in found]

    def next(self, ref: str) -> Passage | None:
        position = self._store.position_of(ref)
        found = self._store.around(position, 0, 1)
        return self._store[found[-1]] if found[-1] != position else None

    def previous(self, ref: str) -> Passage | None:
        position = self._store.position_of(ref)
        found = self._store.around(position, 1, 0)
        return self._store[found[0]] if found[0] != position else None

    def random_passage(self, rng: random.Random | None = None) -> Passage:
        return (rng or random).choice(self.passages)

    # -- sections --------------------------------------------------------------------------

    def _collect_sections(self) -> list[SectionInfo]:
        """Every section with passages, in reading order (no passage is made)."""
        return [
            SectionInfo(source_id, number, title, count, first_ref)
            for source_id, number, title, count, first_ref in self._store.section_summaries()
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
        results = [
            (p.ref, _label(p))
            for p in map(self.passages.__getitem__, self._store.starting(typed, limit))
        ]
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

    def _ranked_hits(self, question: str, limit: int, context: str = "", by_words: bool = False):
        query = analyse(self.check_question(question), self.index, context=context)
        if query.is_empty:
            raise QueryError(
                "the question has only common words; ask about a person, place or event"
            )
        if self.index.vectors is None and time.monotonic() >= self._next_vector_check:
            self._next_vector_check = time.monotonic() + VECTOR_CHECK_SECONDS
            self.index.pick_up_vectors()
        vector = None if by_words else question_vector(query, self.index)
        decisions = self.model.decisions(with_vectors=vector is not None)
        ranked = rank(query, self.index, decisions, vector)
        hits: list[Hit] = []
        shown: set[int] = set()
        rows = self.index.term_rows(query.terms)
        owners = self.index.corpus.unit_passage[[unit.doc_id for unit in ranked]].tolist()
        for unit, passage in zip(ranked, owners, strict=True):
            # The best unit of each passage, up to `limit` passages.
            if passage not in shown and len(hits) < min(limit, MAX_RESULTS):
                shown.add(passage)
                hits.append(self._hit(passage, unit, rows, decisions))
        return query, ranked, hits, decisions

    def _hit(self, number: int, ranked, rows, decisions) -> Hit:
        passage = self.passages[number]
        shown = quote(passage, ranked, decisions)
        matched = self.index.matched_words(number, rows)
        return Hit(
            passage=passage, score=round(ranked.logit, 4), quote=shown, matched_terms=matched
        )

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        """Passages ranked for a query, each with its best-matching sentences."""
        return self._ranked_hits(text, limit)[2]

    def answer(
        self, question: str, limit: int = 5, context: str = "", by_words: bool = False
    ) -> Answer:
        """The best passage and its quote, or an abstention with the closest passages.

        `context` is an earlier answer a follow-up question refers to ("what happened to him?").
        `by_words` answers with the word-only decisions even where the library has sentence
        vectors: a tenth of the CPU (encoding the question is most of an answer's cost), for
        when questions queue up; those decisions are fitted and calibrated on their own.
        """
        query, ranked, hits, decisions = self._ranked_hits(question, limit, context, by_words)
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
            info = self._section_of.get((hit.passage.source_id, hit.passage.section))
            if info is not None and info not in seen:
                seen.append(info)
        return tuple(seen[:3])


def _texts_key(texts: Sequence[tuple[Source, str]], params: BM25Params) -> str:
    """The index cache key: every source's description (its file by name only) and text."""
    described = [_described(source) for source, _ in texts]
    return content_key([*described, *(text.encode() for _, text in texts)], params)


def _files_key(sources: Sequence[Source], params: BM25Params) -> str:
    """The index cache key of sources not read yet: their files' bytes stand for their
    texts (for a plain text file, the same key as `_texts_key`'s). OSError if one cannot
    be read."""
    return content_key([*map(_described, sources), *(s.file for s in sources)], params)


def _described(source: Source) -> bytes:
    return repr(dataclasses.replace(source, file=Path(source.file.name))).encode()


def _library_name(sources: Sequence[Source]) -> str:
    """Which library a cache is of (its texts' ids), whatever their content."""
    return hashlib.sha256(" ".join(sorted(s.id for s in sources)).encode()).hexdigest()[:8]


def _label(passage: Passage) -> str:
    title = passage.section_title or passage.source_title
    label = f"{passage.ref} — {title}: {passage.text[:60]}"
    return label[:100]
