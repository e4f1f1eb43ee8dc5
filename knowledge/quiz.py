"""Quiz questions from the passages a study group has read: a cloze sentence and four choices.

    question = make_quiz(read_passages, pool=library.passages, rng=random.Random(seed))
    question.cloze    # the sentence with the key term replaced by a blank
    question.choices  # four distinct terms of the same kind, the answer among them

Distractors come from a vocabulary of the whole pool, which takes a read of every passage
(seconds for ten thousand, a minute for a hundred thousand). `QuizMaker(pool)` holds it;
`Library.quiz_maker()` keeps a library's with its index cache (`to_json`), so it is built
once per library; `quiz_maker(pool)` keeps one per pool tuple.

A *key term* is found by general typographic heuristics, nothing tuned to one text:

* dates — "21 February 1918", "February 1918", "March 5, 1953";
* years — "1917", "1930s";
* numbers — "35,000", "139" (not list markers such as "(5)");
* acronyms — "GPU", "NKVD" (two to six capitals, Roman numerals excluded);
* names — runs of capitalised words ("Felix Dzerzhinsky", "Treaty of Brest-Litovsk"),
  or a single capitalised word that is not the first word of its sentence (or that the
  texts also capitalise mid-sentence); names with an organisation word ("Party",
  "Committee", "Army"...) are their own kind, so people are not offered as organisations.

Distractors are terms of the same kind drawn from the whole library (`pool`), never a term
the question's own sentence contains, and never one that overlaps the answer ("Dzerzhinsky"
is not a distractor for "Felix Dzerzhinsky"). Everything is deterministic for a given RNG.
"""

from __future__ import annotations

import random
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from knowledge.models import Passage
from knowledge.text import FIGURE, FULL_DATE, MONTHS, STOP_WORDS, YEAR, fold, split_sentences

BLANK = "_____"
CHOICES = 4
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_CHARS = 400


class TermKind(StrEnum):
    DATE = "date"
    YEAR = "year"
    NUMBER = "number"
    ACRONYM = "acronym"
    NAME = "name"
    ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    kind: TermKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class QuizQuestion:
    """One multiple-choice cloze question, plain data (stored as is by the bot)."""

    ref: str
    citation: str
    sentence: str
    """The sentence exactly as printed: the quote shown when the answer is revealed."""
    cloze: str
    """The sentence with every occurrence of the answer replaced by `BLANK`."""
    answer: str
    choices: tuple[str, ...]
    kind: TermKind

    @property
    def answer_index(self) -> int:
        return self.choices.index(self.answer)


_MONTH_SET = frozenset(fold(m) for m in MONTHS.split("|"))
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_ROMAN = re.compile(r"^[IVXLCDM]+$")
_CAP_WORD = r"[A-Z][\w’'\-]*[\w]"
_CONNECTOR = r"(?:of(?:\s+the)?|de|du|da|di|del|der|van|von|la|le|bin|ibn|al)"
_NAME = re.compile(rf"(?<![\w’'-]){_CAP_WORD}(?:\s+(?:{_CONNECTOR}\s+)?{_CAP_WORD})*")
_POSSESSIVE = re.compile(r"[’']s$")
_ADJECTIVE = re.compile(
    r"(?:ian|ians|ese|ish|ist|ists|ic|ics)$|^(?:german|american|european|african|korean|"
    r"mexican|cuban|roman|greek|czech|swiss|dutch|french|irish|scots|arab|thai|serb|croat)s?$"
)
_ORGANISATION_WORDS = frozenset(
    """
    party parties committee commission council congress army navy bureau ministry
    department union government police court league federation international
    organisation organization association society institute agency academy school
    university church company corporation bank office assembly parliament senate soviet
    commissariat administration directorate front movement opposition guard guards
    """.split()
)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _sentence_initial(sentence: str, start: int) -> bool:
    return not sentence[:start].strip(" “‘\"'([—–-")


def _clean_name(sentence: str, start: int, end: int, lexicon: Lexicon) -> tuple[int, int] | None:
    """Trim function words ("The", "In", "of") off both ends of a name run, and a possessive.

    A sentence-initial word the texts write in lower case elsewhere, or one never capitalised
    elsewhere that precedes a connector or a known name ("Seventeen of Yagoda's ...",
    "Eventually Yezhov ..."), is dropped too.
    """
    spans = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", sentence[start:end])]

    def word(span: tuple[int, int]) -> str:
        return fold(_POSSESSIVE.sub("", sentence[span[0] : span[1]]))

    if (
        len(spans) > 1
        and _sentence_initial(sentence, spans[0][0])
        and (
            word(spans[0]) in lexicon.common
            or (
                word(spans[0]) not in lexicon.proper
                and (word(spans[1]) in STOP_WORDS or word(spans[1]) in lexicon.proper)
            )
        )
    ):
        spans = spans[1:]
    while spans and (word(spans[0]) in STOP_WORDS or word(spans[0]) in _MONTH_SET):
        spans = spans[1:]
    while spans and (word(spans[-1]) in STOP_WORDS or word(spans[-1]) in _MONTH_SET):
        spans = spans[:-1]
    if not spans:
        return None
    start, end = spans[0][0], spans[-1][1]
    possessive = _POSSESSIVE.search(sentence[start:end])
    if possessive:
        end = start + possessive.start()
    return start, end


@dataclass(frozen=True, slots=True)
class Lexicon:
    """What the texts tell about single words (folded): how they are capitalised."""

    proper: frozenset[str] = frozenset()
    """Words capitalised somewhere other than at a sentence start."""
    common: frozenset[str] = frozenset()
    """Words also written in lower case ("revolution"): not names on their own."""

    @classmethod
    def of(cls, passages: Iterable[Passage]) -> Lexicon:
        proper: set[str] = set()
        common: set[str] = set()
        for passage in passages:
            for sentence in split_sentences(passage.text):
                for match in re.finditer(r"(?<![\w’'-])[^\W\d_][\w’'\-]*", sentence):
                    word = fold(_POSSESSIVE.sub("", match.group(0)))
                    if match.group(0)[0].islower():
                        common.add(word)
                    elif not _sentence_initial(sentence, match.start()):
                        proper.add(word)
        return cls(frozenset(proper - STOP_WORDS), frozenset(common))


def extract_terms(sentence: str, lexicon: Lexicon | None = None) -> list[Term]:
    """The key terms of one sentence, in order, without overlaps (most specific kind wins).

    With a `lexicon` of the texts, a single capitalised word is a name only when the texts
    never write it in lower case, and a sentence-initial one only when the texts capitalise
    it elsewhere too. Demonyms and -ist/-ic adjectives ("German", "Stalinist") are not names.
    """
    lexicon = lexicon or Lexicon()
    found: list[Term] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, kind: TermKind) -> None:
        if start < end and not _overlaps((start, end), taken):
            taken.append((start, end))
            found.append(Term(sentence[start:end], kind, start, end))

    for match in FULL_DATE.finditer(sentence):
        add(match.start(), match.end(), TermKind.DATE)
    for match in YEAR.finditer(sentence):
        end = match.end() - (2 if match.group(0).endswith(("’s", "'s")) else 0)
        add(match.start(), end, TermKind.YEAR)
    for match in FIGURE.finditer(sentence):
        add(match.start(), match.end(), TermKind.NUMBER)
    for match in _ACRONYM.finditer(sentence):
        if not _ROMAN.match(match.group(0)):
            add(match.start(), match.end(), TermKind.ACRONYM)
    for match in _NAME.finditer(sentence):
        span = _clean_name(sentence, match.start(), match.end(), lexicon)
        if span is None:
            continue
        start, end = span
        text = sentence[start:end]
        words = text.split()
        folded = [fold(w) for w in words]
        if len(words) == 1:
            word = folded[0]
            if (
                len(word) < 3
                or word in STOP_WORDS
                or word in _MONTH_SET
                or word in _WEEKDAYS
                or sum(ch.isupper() for ch in text) > 1  # "GPU", "SRs", "SDKPiL"
                or word in lexicon.common
                or _ADJECTIVE.search(word)
                or (_sentence_initial(sentence, start) and word not in lexicon.proper)
            ):
                continue
        kind = (
            TermKind.ORGANISATION
            if any(w in _ORGANISATION_WORDS for w in folded)
            else TermKind.NAME
        )
        add(start, end, kind)
    found.sort(key=lambda t: t.start)
    return found


def _key(text: str) -> str:
    return " ".join(fold(text).replace("’", "'").split())


def _word_keys(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", _key(text)) if w not in STOP_WORDS}


@dataclass(frozen=True, slots=True)
class _Candidate:
    passage: Passage
    sentence: str
    term: Term


class _Option(NamedTuple):
    key: str
    text: str
    words: frozenset[str]
    the: bool
    """Usually written after "the"."""
    place: bool
    """Often after a place preposition."""


@dataclass(slots=True)
class _Vocabulary:
    """Every key term of the texts by kind (folded key -> first spelling seen), and what
    usually precedes it — general cues for plausible distractors:

    * "the": "the Cheka", "the GPU" (institutions) against "Trotsky", "Lithuania";
    * a place preposition ("in", "at", "from"...): "in Spain", "from Moscow" (places)
      against "Stalin", "Zinoviev" (people).
    """

    terms: dict[TermKind, dict[str, str]]
    contexts: dict[str, list[int]]
    """key -> [occurrences after "the", after a place preposition, all occurrences]"""
    options: dict[TermKind, tuple[_Option, ...]] = field(default_factory=dict)
    """Per kind, every term as a distractor option, sorted by key."""

    def freeze(self) -> _Vocabulary:
        """Work out each term's option data once, for every later question."""
        self.options = {
            kind: tuple(
                _Option(key, text, frozenset(_word_keys(text)), *self.usage(text))
                for key, text in sorted(terms.items())
            )
            for kind, terms in self.terms.items()
        }
        return self

    def usage(self, text: str) -> tuple[bool, bool]:
        the, place, total = self.contexts.get(_key(text), [0, 0, 0])
        if not total:
            return False, False
        return the / total >= 0.5, place / total >= 0.34


_THE_BEFORE = re.compile(r"\bthe\s*[“‘\"']?\s*$", re.I)
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|from|into|across|throughout|near|outside|inside|within|towards?)\s*$", re.I
)


def _vocabulary(passages: Iterable[Passage], lexicon: Lexicon) -> _Vocabulary:
    vocabulary = _Vocabulary({kind: {} for kind in TermKind}, {})
    for passage in passages:
        for sentence in split_sentences(passage.text):
            for term in extract_terms(sentence, lexicon):
                key = _key(term.text)
                vocabulary.terms[term.kind].setdefault(key, term.text)
                counts = vocabulary.contexts.setdefault(key, [0, 0, 0])
                before = sentence[: term.start]
                counts[0] += bool(_THE_BEFORE.search(before))
                counts[1] += bool(_PLACE_BEFORE.search(before))
                counts[2] += 1
    return vocabulary.freeze()


def _distractors(
    candidate: _Candidate,
    vocabulary: _Vocabulary,
    rng: random.Random,
) -> list[str] | None:
    answer = candidate.term.text
    answer_words = _word_keys(answer)
    sentence_key = _key(candidate.sentence)
    answer_key = _key(answer)
    options = [
        option
        for option in vocabulary.options.get(candidate.term.kind, ())
        if option.key != answer_key
        and option.key not in sentence_key
        and answer_words.isdisjoint(option.words)
    ]
    if len(options) < CHOICES - 1:
        return None
    # Prefer terms used like the answer (with or without "the", as a place or not), then
    # shaped like it (same number of words, similar length), so the odd one out does not
    # give the answer away; break ties at random.
    words = len(answer.split())
    the, place = vocabulary.usage(answer)
    rng.shuffle(options)
    options.sort(
        key=lambda o: (
            o.the != the,
            o.place != place,
            abs(len(o.text.split()) - words),
            abs(len(o.text) - len(answer)) // 6,
        )
    )
    chosen: list[_Option] = []
    for option in options:
        if all(option.words.isdisjoint(c.words) or option.text == c.text for c in chosen):
            chosen.append(option)
        if len(chosen) == CHOICES - 1:
            return [c.text for c in chosen]
    return None


def _candidates(passages: Sequence[Passage], lexicon: Lexicon) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    for passage in passages:
        for sentence in split_sentences(passage.text):
            if len(sentence.split()) < MIN_SENTENCE_WORDS or len(sentence) > MAX_SENTENCE_CHARS:
                continue
            for term in extract_terms(sentence, lexicon):
                candidates.append(_Candidate(passage, sentence, term))
    return candidates


def _cloze(sentence: str, answer: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(answer)}(?!\w)", BLANK, sentence)


class QuizMaker:
    """Makes questions whose distractors come from one pool of passages (a library's).

    Building it reads the whole pool (seconds for a large library): build it once per pool,
    off the event loop, and reuse it (`quiz_maker` does). Thread-safe once built.
    """

    def __init__(self, pool: Sequence[Passage]) -> None:
        self.pool = pool
        self.lexicon = Lexicon.of(pool)
        self.vocabulary = _vocabulary(pool, self.lexicon)

    def to_json(self) -> dict:
        """What the maker learnt of its pool, as JSON (cached with a library's index)."""
        v = self.vocabulary
        return {
            "proper": sorted(self.lexicon.proper),
            "common": sorted(self.lexicon.common),
            "terms": {kind.value: terms for kind, terms in v.terms.items()},
            "contexts": v.contexts,
        }

    @classmethod
    def from_json(cls, data: dict) -> QuizMaker:
        """A maker as `to_json` saved it (its pool is not kept: only `make`'s passages are
        read). KeyError, TypeError or ValueError for anything else."""
        maker = cls.__new__(cls)
        maker.pool = ()
        maker.lexicon = Lexicon(frozenset(data["proper"]), frozenset(data["common"]))
        terms = {TermKind(kind): dict(found) for kind, found in data["terms"].items()}
        contexts = {str(key): [int(n) for n in counts] for key, counts in data["contexts"].items()}
        maker.vocabulary = _Vocabulary(terms, contexts).freeze()
        return maker

    def make(
        self,
        passages: Sequence[Passage],
        rng: random.Random | None = None,
        exclude: Iterable[tuple[str, str]] = (),
    ) -> QuizQuestion | None:
        """A cloze question about one of `passages`, or None when they hold no usable term.

        `exclude` holds (ref, answer) pairs already asked, so a session's quizzes differ
        while that is possible.
        """
        rng = rng or random.Random()
        candidates = _candidates(passages, self.lexicon)
        asked = {(ref, _key(answer)) for ref, answer in exclude}
        fresh = [c for c in candidates if (c.passage.ref, _key(c.term.text)) not in asked]
        rng.shuffle(fresh)
        rng.shuffle(candidates)
        for candidate in [*fresh, *candidates] if fresh else candidates:
            distractors = _distractors(candidate, self.vocabulary, rng)
            if distractors is None:
                continue
            answer = candidate.term.text
            choices = [answer, *distractors]
            rng.shuffle(choices)
            return QuizQuestion(
                ref=candidate.passage.ref,
                citation=candidate.passage.citation,
                sentence=candidate.sentence,
                cloze=_cloze(candidate.sentence, answer),
                answer=answer,
                choices=tuple(choices),
                kind=candidate.term.kind,
            )
        return None


_MAKERS: OrderedDict[int, QuizMaker] = OrderedDict()
_MAKERS_KEPT = 2  # the library, and the one it replaced during a reload
_MAKERS_LOCK = threading.Lock()


def quiz_maker(pool: Sequence[Passage]) -> QuizMaker:
    """The `QuizMaker` for `pool`, built on first use and kept while `pool` is among the few
    most recently used. Only tuples (immutable, like `Library.passages`) are kept, by
    identity: the maker holds the tuple, so its id cannot be reused while it is kept."""
    if not isinstance(pool, tuple):
        return QuizMaker(pool)
    with _MAKERS_LOCK:  # one build per pool even when two quizzes start at once
        maker = _MAKERS.get(id(pool))
        if maker is None or maker.pool is not pool:
            maker = _MAKERS[id(pool)] = QuizMaker(pool)
        _MAKERS.move_to_end(id(pool))
        while len(_MAKERS) > _MAKERS_KEPT:
            _MAKERS.popitem(last=False)
        return maker


def make_quiz(
    passages: Sequence[Passage],
    pool: Sequence[Passage] | None = None,
    rng: random.Random | None = None,
    exclude: Iterable[tuple[str, str]] = (),
) -> QuizQuestion | None:
    """A cloze question about one of `passages`, or None when they hold no usable term.

    `pool` is where distractors come from (the whole library; default `passages`); its
    vocabulary is built once per pool tuple (see `quiz_maker`).
    `exclude` holds (ref, answer) pairs already asked, so a session's quizzes differ while
    that is possible.
    """
    return quiz_maker(passages if pool is None else pool).make(passages, rng, exclude)
