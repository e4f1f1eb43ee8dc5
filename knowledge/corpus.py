"""Every passage's sentences and words, analysed once at index time and kept as flat arrays.

Choosing the passage that answers and the sentences to quote looks at the words of a few
dozen candidate passages per question. Tokenising them again for every question is what
made answering slow, so the index build does it once: each passage's sentences (character
spans in its text), each sentence's words (ids into one vocabulary of folded words, and
whether the word was capitalised), and per word its BM25 term and whether the library only
ever writes it as a name. Plain numpy arrays, written with the BM25 index and opened
memory-mapped, so every worker process shares one copy.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.bm25 import IndexCacheError
from knowledge.files import RangeReader, gather, load_mapped, ranges
from knowledge.strings import PREFIX_DTYPE, SortedStrings, StringTable
from knowledge.text import (
    STOP_WORDS,
    blank_footnote_marks,
    sentence_flags,
    sentence_spans,
    terms,
    word_forms,
    word_surfaces,
)

FORMAT_VERSION = 3
UNIT_WORDS = 150
"""Longest run of sentences ranked as one unit (a longer paragraph is cut between its
sentences; an article's paragraph is about 130 words, a book's often several hundred)."""
_FILES = {
    "word_blob": np.uint8,
    "word_offsets": np.int64,
    "word_prefixes": PREFIX_DTYPE,
    "word_term_text": np.uint8,  # the word's index term, UTF-8, concatenated (for term ids)
    "word_term_offsets": np.int64,
    "word_flags": np.uint8,
    "surface_blob": np.uint8,  # every distinct spelling of a word as printed ("Stalin’s")
    "surface_offsets": np.int64,
    "tokens": np.int32,
    "token_surfaces": np.int32,  # per token: its spelling (for showing which words matched)
    "token_flags": np.uint8,
    "sentence_tokens": np.int64,  # sentence s has tokens [st[s], st[s+1])
    "sentence_chars": np.int32,  # (start, end) of sentence s in its passage's text
    "sentence_flags": np.uint8,
    "passage_sentences": np.int64,  # passage p has sentences [ps[p], ps[p+1])
    "heading_tokens": np.int32,  # words of the passage's headings, speaker, attribution
    "passage_headings": np.int64,
    "passage_source": np.int32,  # which text of the library the unit is from
    "unit_passage": np.int32,  # which passage (paragraph) the unit is part of
}

_READ = {"tokens", "token_surfaces", "token_flags"}
"""Per token: read a candidate's range at a time, never mapped (knowledge.files)."""
# word_flags
NAME = 1  # always capitalised where no sentence starts: a name (Beria, NKVD)
STOP = 2  # a stop word: matched for phrases, never a BM25 term
# token_flags
CAPITALISED = 1
SENTENCE_START = 2


@dataclass(frozen=True, slots=True)
class PassageWords:
    """The words of one passage, as a question's features need them."""

    tokens: np.ndarray  # word ids, in reading order
    capitalised: np.ndarray  # bool per token, capitalised and not opening a sentence
    sentence_starts: np.ndarray  # index into tokens where each sentence starts, plus the end
    sentence_chars: np.ndarray  # (start, end) character span of each sentence in the text
    sentence_flags: np.ndarray  # knowledge.text.sentence_flags per sentence
    headings: np.ndarray  # word ids of headings, speaker and attribution
    first_sentence: int  # the library-wide number of its first sentence


@dataclass(frozen=True, slots=True)
class UnitsWords:
    """The words of several units (a question's candidates) end to end, so their features
    are computed with one numpy call each rather than one per candidate. Token and sentence
    numbers below are positions in these arrays; `unit(i)` is the i-th unit's own view."""

    tokens: np.ndarray  # word ids
    capitalised: np.ndarray  # as PassageWords.capitalised
    sentence_starts: np.ndarray  # per sentence: its first token; then the number of tokens
    sentence_chars: np.ndarray  # per sentence: (start, end) in its passage's text
    sentence_flags: np.ndarray
    unit_sentences: np.ndarray  # unit i has sentences [us[i], us[i + 1])
    first_sentences: np.ndarray  # per unit: the library-wide number of its first sentence
    headings: np.ndarray  # word ids of every unit's headings, end to end
    unit_headings: np.ndarray  # unit i's are headings[uh[i]:uh[i + 1]]

    def unit(self, i: int) -> PassageWords:
        s0, s1 = int(self.unit_sentences[i]), int(self.unit_sentences[i + 1])
        starts = self.sentence_starts[s0 : s1 + 1]
        t0, t1 = int(starts[0]), int(starts[-1])
        return PassageWords(
            tokens=self.tokens[t0:t1],
            capitalised=self.capitalised[t0:t1],
            sentence_starts=starts - t0,
            sentence_chars=self.sentence_chars[s0:s1],
            sentence_flags=self.sentence_flags[s0:s1],
            headings=self.headings[int(self.unit_headings[i]) : int(self.unit_headings[i + 1])],
            first_sentence=int(self.first_sentences[i]),
        )


class Corpus:
    """The analysed words of every passage, in reading order (memory-mapped when opened)."""

    def __init__(self, arrays: dict[str, np.ndarray], texts: list[tuple[str, int]]) -> None:
        self._a = arrays
        self.texts = texts
        """Per source text, in order: a hash of its sentences and how many there are. Their
        vectors are cached under that hash, so every library holding the text (a server's
        uploads beside the shipped texts) and every rebuild of its index shares them."""
        self.words = SortedStrings(
            arrays["word_blob"], arrays["word_offsets"], arrays["word_prefixes"]
        )
        self.word_flags = arrays["word_flags"]
        self._terms = StringTable(arrays["word_term_text"], arrays["word_term_offsets"])
        self.surfaces = StringTable(arrays["surface_blob"], arrays["surface_offsets"])
        """Every spelling of a word as printed; `token_surfaces` numbers them."""
        self.size = len(arrays["passage_sentences"]) - 1
        self.passage_source = arrays["passage_source"]
        self.unit_passage = arrays["unit_passage"]
        """Per unit: its passage. The arrays above are per unit (named for passages, which
        most units are)."""

    def word_id(self, folded: str) -> int | None:
        return self.words.find([folded])[0]

    def word_ids(self, folded: Sequence[str]) -> list[int | None]:
        return self.words.find(list(folded))

    def word(self, word_id: int) -> str:
        return self.words.text(word_id)

    def term_of(self, word_id: int) -> str:
        """The index term of a word ("" for a stop word)."""
        return self._terms.text(word_id)

    def is_name(self, word_id: int) -> bool:
        return bool(self.word_flags[word_id] & NAME)

    def passage(self, index: int) -> PassageWords:
        a = self._a
        s0, s1 = int(a["passage_sentences"][index]), int(a["passage_sentences"][index + 1])
        starts = np.asarray(a["sentence_tokens"][s0 : s1 + 1])
        t0, t1 = int(starts[0]), int(starts[-1])
        flags = np.asarray(a["token_flags"][t0:t1])
        h0, h1 = int(a["passage_headings"][index]), int(a["passage_headings"][index + 1])
        return PassageWords(
            tokens=np.asarray(a["tokens"][t0:t1]),
            capitalised=(flags & CAPITALISED).astype(bool) & ~(flags & SENTENCE_START).astype(bool),
            sentence_starts=starts - t0,
            sentence_chars=np.asarray(a["sentence_chars"][s0:s1]),
            sentence_flags=np.asarray(a["sentence_flags"][s0:s1]),
            headings=np.asarray(a["heading_tokens"][h0:h1]),
            first_sentence=s0,
        )

    def passage_tokens(self, passage: int) -> tuple[np.ndarray, np.ndarray]:
        """(word ids, spelling ids) of every token of the passage numbered `passage` (all its
        units: the `passage`-th paragraph of the library, not a unit)."""
        a = self._a
        lo, hi = np.searchsorted(self.unit_passage, [passage, passage + 1]).tolist()
        ps = a["passage_sentences"]
        t0 = int(a["sentence_tokens"][int(ps[lo])])
        t1 = int(a["sentence_tokens"][int(ps[hi])])
        return np.asarray(a["tokens"][t0:t1]), np.asarray(a["token_surfaces"][t0:t1])

    def units(self, indexes: np.ndarray) -> UnitsWords:
        """The words of the units `indexes`, end to end (a few gathers, whatever their number)."""
        a = self._a
        units = np.asarray(indexes, dtype=np.int64)
        ps, st, ph = a["passage_sentences"], a["sentence_tokens"], a["passage_headings"]
        s_lo, s_hi = ps[units], ps[units + 1]
        sentences = ranges(s_lo, s_hi - s_lo)
        t_lo, t_hi = st[s_lo], st[s_hi]
        n_tokens = t_hi - t_lo
        flags = gather(a["token_flags"], t_lo, n_tokens)
        shift = np.cumsum(n_tokens) - n_tokens - t_lo  # library token number -> position here
        starts = st[sentences] + np.repeat(shift, s_hi - s_lo)
        h_lo, h_hi = ph[units], ph[units + 1]
        return UnitsWords(
            tokens=gather(a["tokens"], t_lo, n_tokens),
            capitalised=(flags & CAPITALISED).astype(bool) & ~(flags & SENTENCE_START).astype(bool),
            sentence_starts=np.append(starts, int(n_tokens.sum())),
            sentence_chars=a["sentence_chars"][sentences],
            sentence_flags=a["sentence_flags"][sentences],
            unit_sentences=np.concatenate(([0], np.cumsum(s_hi - s_lo))),
            first_sentences=s_lo,
            headings=a["heading_tokens"][ranges(h_lo, h_hi - h_lo)],
            unit_headings=np.concatenate(([0], np.cumsum(h_hi - h_lo))),
        )

    @property
    def sentence_count(self) -> int:
        return len(self._a["sentence_flags"])

    def sentence_spans(self, index: int) -> np.ndarray:
        """(start, end) of each sentence of passage `index` in its text."""
        ps = self._a["passage_sentences"]
        return np.asarray(self._a["sentence_chars"][int(ps[index]) : int(ps[index + 1])])

    # -- building and storing ---------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the arrays into `folder` (the caller makes the folder's appearance atomic)."""
        for name, values in self._a.items():
            np.save(folder / f"corpus-{name}.npy", values, allow_pickle=False)
        meta = {"version": FORMAT_VERSION, "passages": self.size, "texts": self.texts}
        (folder / "corpus.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def open(cls, folder: Path) -> Corpus:
        try:
            meta = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
            if meta.get("version") != FORMAT_VERSION:
                raise IndexCacheError(f"{folder}: corpus format {meta.get('version')!r}")
            arrays = {}
            for name, dtype in _FILES.items():
                path = folder / f"corpus-{name}.npy"
                loaded = RangeReader(path) if name in _READ else load_mapped(path)
                if loaded.dtype != np.dtype(dtype):
                    raise IndexCacheError(f"{folder}: corpus-{name}.npy is {loaded.dtype}")
                arrays[name] = loaded
        except IndexCacheError:
            raise
        except (OSError, ValueError, KeyError) as error:
            raise IndexCacheError(f"{folder}: unreadable corpus ({error})") from error
        corpus = cls(arrays, [(str(k), int(n)) for k, n in meta.get("texts", [])])
        ends_agree = (
            corpus.size == meta.get("passages")
            and arrays["sentence_tokens"][-1] == len(arrays["tokens"])
            and len(arrays["token_surfaces"]) == len(arrays["tokens"])
            and arrays["surface_offsets"][-1] == len(arrays["surface_blob"])
            and arrays["word_offsets"][-1] == len(arrays["word_blob"])
            and arrays["word_term_offsets"][-1] == len(arrays["word_term_text"])
            and arrays["passage_sentences"][-1] == len(arrays["sentence_flags"])
            and len(arrays["sentence_chars"]) == len(arrays["sentence_flags"])
            and arrays["passage_headings"][-1] == len(arrays["heading_tokens"])
            and len(arrays["passage_source"]) == corpus.size
            and len(arrays["unit_passage"]) == corpus.size
            and sum(n for _, n in corpus.texts) == len(arrays["sentence_flags"])
        )
        if not ends_agree:
            raise IndexCacheError(f"{folder}: corpus arrays disagree with corpus.json")
        return corpus


@dataclass(frozen=True, slots=True)
class Postings:
    """Every occurrence of a BM25 term in a unit, for `BM25Index.from_occurrences`."""

    vocabulary: list[str]  # the terms, sorted: a term's row is its position
    rows: np.ndarray  # per occurrence: the term's row
    units: np.ndarray  # per occurrence: the unit


@dataclass(frozen=True, slots=True)
class Built:
    """What one pass over the passages gives: the corpus, the occurrences the text and notes
    BM25 indexes are made of, and each word's row in the text index."""

    corpus: Corpus
    text: Postings
    notes: Postings
    word_terms: np.ndarray  # per word: its term's row, or -1 (stop words)
    word_rows: np.ndarray  # per word: its term's row, stop words included (-1: none)


class CorpusBuilder:
    """Analyses passages one by one (streaming: only typed arrays grow) and finishes into a
    Corpus and the BM25 indexes' occurrences, all made from the same tokens.

    Each distinct surface form of a word ("Stalin’s", "stalin") is normalised once; a token
    costs one dictionary look-up, and everything per token (its word, its flags, its BM25
    term) is worked out with numpy at the end."""

    def __init__(self) -> None:
        self._surface_ids: dict[str, int] = {}  # -1: a surface that folds to no word
        self._surfaces: list[str] = []
        self._surface_word, self._surface_capitalised = array("i"), array("B")
        self._word_ids: dict[str, int] = {}
        self._word_terms: list[str] = []  # its term (every word, stop words too)
        self._tokens = array("i")  # surface ids
        self._sentence_tokens, self._sentence_chars = array("q", [0]), array("i")
        self._sentence_flags = array("B")
        self._passage_sentences, self._passage_headings = array("q", [0]), array("q", [0])
        self._heading_tokens = array("i")  # surface ids
        self._passage_source = array("i")
        self._texts: list[tuple[hashlib._Hash, int]] = []  # per source: hash, sentences
        self._unit_passage = array("i")
        self._note_terms: dict[str, int] = {}
        self._note_tokens, self._passage_notes = array("i"), array("q", [0])  # per passage

    def _surface_list(self, text: str) -> list[int]:
        """The surface ids of a text's words (footnote marks blanked), as `words` finds them."""
        found = word_surfaces(text, marks_blanked=True)
        get = self._surface_ids.get
        ids = [get(w, -2) for w in found]
        if -2 in ids:
            ids = [self._new_surface(w) if i == -2 else i for w, i in zip(found, ids, strict=True)]
        return [i for i in ids if i >= 0] if -1 in ids else ids

    def _new_surface(self, surface: str) -> int:
        folded, term = word_forms(surface)
        if not folded:
            self._surface_ids[surface] = -1
            return -1
        word_id = self._word_ids.setdefault(folded, len(self._word_terms))
        if word_id == len(self._word_terms):
            self._word_terms.append(term)
        surface_id = self._surface_ids[surface] = len(self._surfaces)
        self._surfaces.append(surface)
        self._surface_word.append(word_id)
        self._surface_capitalised.append(surface[:1].isupper())
        return surface_id

    def add(self, passage: int, text: str, headings: str, source: int, notes: str = "") -> None:
        """Analyse one passage (the `passage`-th, of the `source`-th text), unit by unit.

        A unit is the passage, or for a long one a run of whole sentences of up to
        UNIT_WORDS words: books' paragraphs run to hundreds of words, and ranking, quoting
        and the answer model all work on pieces the size of an article's paragraph. Every
        unit is found by its words, its passage's headings (`headings`) and, in the notes
        index, its passage's footnotes (`notes`)."""
        if len(self._texts) <= source:
            self._texts.append((hashlib.sha256(), 0))
        digest, sentences = self._texts[source]
        heading_ids = self._surface_list(blank_footnote_marks(headings))
        note_terms = self._note_terms
        self._note_tokens.extend(note_terms.setdefault(t, len(note_terms)) for t in terms(notes))
        self._passage_notes.append(len(self._note_tokens))
        unit_words = 0
        blanked = blank_footnote_marks(text)
        for start, end in sentence_spans(text):
            sentence = text[start:end]
            tokens = self._surface_list(blanked[start:end])
            if unit_words and unit_words + len(tokens) > UNIT_WORDS:
                self._close_unit(passage, source, heading_ids)
                unit_words = 0
            unit_words += len(tokens)
            digest.update(sentence.encode("utf-8", "surrogatepass") + b"\0")
            sentences += 1
            self._tokens.extend(tokens)
            self._sentence_tokens.append(len(self._tokens))
            self._sentence_chars.extend((start, end))
            self._sentence_flags.append(sentence_flags(sentence))
        self._texts[source] = (digest, sentences)
        self._close_unit(passage, source, heading_ids)

    def _close_unit(self, passage: int, source: int, heading_ids: list[int]) -> None:
        self._passage_sentences.append(len(self._sentence_flags))
        self._heading_tokens.extend(heading_ids)
        self._passage_headings.append(len(self._heading_tokens))
        self._passage_source.append(source)
        self._unit_passage.append(passage)

    def finish(self) -> Built:
        """Sort the vocabulary (ids become positions in it), work out every token's word and
        flags, and freeze the arrays."""
        surface_word = _frozen(self._surface_word, np.int32)
        surface_capitalised = _frozen(self._surface_capitalised, np.uint8).astype(bool)
        token_surfaces = _frozen(self._tokens, np.int32)
        sentence_tokens = _frozen(self._sentence_tokens, np.int64)
        words = surface_word[token_surfaces]
        capitalised = surface_capitalised[token_surfaces]
        first = np.zeros(len(words), dtype=bool)
        starts = sentence_tokens[:-1]
        first[starts[starts < len(words)]] = True
        ordered = sorted(self._word_ids)
        rank = np.empty(len(ordered), np.int32)
        rank[[self._word_ids[w] for w in ordered]] = np.arange(len(ordered), dtype=np.int32)
        flags = np.zeros(len(ordered), np.uint8)
        lower = np.zeros(len(ordered), dtype=bool)
        lower[rank[words[~capitalised]]] = True
        named = np.zeros(len(ordered), dtype=bool)
        named[rank[words[capitalised & ~first]]] = True
        flags[named & ~lower] |= NAME
        stop = np.array([w in STOP_WORDS for w in ordered], dtype=bool)
        flags[stop] |= STOP
        terms_by_rank = [self._word_terms[self._word_ids[w]] for w in ordered]
        blob, offsets, prefixes = SortedStrings.encode_sorted(ordered)
        term_blob, term_offsets = StringTable.encode(
            ["" if s else t for s, t in zip(stop.tolist(), terms_by_rank, strict=True)]
        )
        surface_blob, surface_offsets = StringTable.encode(self._surfaces)
        heading_surfaces = _frozen(self._heading_tokens, np.int32)
        heading_words = rank[surface_word[heading_surfaces]]
        arrays = {
            "word_blob": blob,
            "word_offsets": offsets,
            "word_prefixes": prefixes,
            "word_term_text": term_blob,
            "word_term_offsets": term_offsets,
            "word_flags": flags,
            "surface_blob": surface_blob,
            "surface_offsets": surface_offsets,
            "tokens": rank[words],
            "token_surfaces": token_surfaces,
            "token_flags": (capitalised * CAPITALISED | first * SENTENCE_START).astype(np.uint8),
            "sentence_tokens": sentence_tokens,
            "sentence_chars": _frozen(self._sentence_chars, np.int32).reshape(-1, 2),
            "sentence_flags": _frozen(self._sentence_flags, np.uint8),
            "passage_sentences": _frozen(self._passage_sentences, np.int64),
            "heading_tokens": heading_words,
            "passage_headings": _frozen(self._passage_headings, np.int64),
            "passage_source": _frozen(self._passage_source, np.int32),
            "unit_passage": _frozen(self._unit_passage, np.int32),
        }
        corpus = Corpus(arrays, [(d.hexdigest()[:32], n) for d, n in self._texts])
        vocabulary = sorted({t for t, s in zip(terms_by_rank, stop.tolist(), strict=True) if not s})
        row_of = {t: row for row, t in enumerate(vocabulary)}
        word_rows = np.array([row_of.get(t, -1) for t in terms_by_rank], dtype=np.int32)
        word_terms = np.where(stop, -1, word_rows).astype(np.int32)
        return Built(
            corpus,
            _text_postings(corpus, vocabulary, word_terms),
            self._notes_postings(corpus.unit_passage),
            word_terms,
            word_rows,
        )

    def _notes_postings(self, unit_passage: np.ndarray) -> Postings:
        """Each unit holds its passage's notes' terms."""
        vocabulary = sorted(self._note_terms)
        rank = np.empty(len(vocabulary), np.int32)
        rank[[self._note_terms[t] for t in vocabulary]] = np.arange(len(vocabulary))
        starts = _frozen(self._passage_notes, np.int64)
        tokens = rank[_frozen(self._note_tokens, np.int32)]
        counts = (starts[1:] - starts[:-1])[unit_passage]
        return Postings(
            vocabulary, tokens[ranges(starts[:-1][unit_passage], counts)], _repeat_units(counts)
        )


def _text_postings(corpus: Corpus, vocabulary: list[str], word_terms: np.ndarray) -> Postings:
    """A unit's terms: its words' and its passage's headings', stop words left out."""
    a = corpus._a
    unit_tokens = a["sentence_tokens"][a["passage_sentences"]]
    rows = np.concatenate([word_terms[a["tokens"]], word_terms[a["heading_tokens"]]])
    units = np.concatenate(
        [_repeat_units(np.diff(unit_tokens)), _repeat_units(np.diff(a["passage_headings"]))]
    )
    held = rows >= 0
    return Postings(vocabulary, rows[held], units[held])


def _repeat_units(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int32), counts)


def _frozen(values: array, dtype: type) -> np.ndarray:
    return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.zeros(0, dtype)
