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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.bm25 import IndexCacheError
from knowledge.strings import PREFIX_DTYPE, SortedStrings, StringTable
from knowledge.text import STOP_WORDS, sentence_flags, sentence_spans, words

FORMAT_VERSION = 2
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
    "tokens": np.int32,
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
                loaded = np.load(folder / f"corpus-{name}.npy", mmap_mode="r", allow_pickle=False)
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


class CorpusBuilder:
    """Analyses passages one by one (streaming: only typed arrays grow), yielding each one's
    BM25 terms, and finishes into a Corpus."""

    def __init__(self) -> None:
        self._word_ids: dict[str, int] = {}
        self._word_terms: list[str] = []
        self._lower: set[int] = set()  # words seen in lower case: not names
        self._capitalised: set[int] = set()  # words seen capitalised mid-sentence
        self._tokens, self._token_flags = array("i"), array("B")
        self._sentence_tokens, self._sentence_chars = array("q", [0]), array("i")
        self._sentence_flags = array("B")
        self._passage_sentences, self._passage_headings = array("q", [0]), array("q", [0])
        self._heading_tokens = array("i")
        self._passage_source = array("i")
        self._texts: list[tuple[hashlib._Hash, int]] = []  # per source: hash, sentences
        self._unit_passage = array("i")

    def _word(self, folded: str, term: str) -> int:
        word_id = self._word_ids.get(folded)
        if word_id is None:
            word_id = self._word_ids[folded] = len(self._word_terms)
            self._word_terms.append("" if folded in STOP_WORDS else term)
        return word_id

    def add(self, passage: int, text: str, headings: str, source: int) -> Iterator[list[str]]:
        """Analyse one passage (the `passage`-th, of the `source`-th text), unit by unit:
        yields each unit's BM25 terms (body, then the passage's headings).

        A unit is the passage, or for a long one a run of whole sentences of up to
        UNIT_WORDS words: books' paragraphs run to hundreds of words, and ranking, quoting
        and the answer model all work on pieces the size of an article's paragraph."""
        if len(self._texts) <= source:
            self._texts.append((hashlib.sha256(), 0))
        digest, _ = self._texts[source]
        heading_words = words(headings)
        heading_terms = [t.term for t in heading_words if t.folded not in STOP_WORDS]
        heading_ids = [self._word(t.folded, t.term) for t in heading_words]
        unit: list[str] = []
        unit_words = 0
        for start, end in sentence_spans(text):
            sentence = text[start:end]
            tokens = words(sentence)
            if unit_words and unit_words + len(tokens) > UNIT_WORDS:
                yield self._close_unit(passage, source, unit, heading_ids, heading_terms)
                unit, unit_words = [], 0
            unit_words += len(tokens)
            digest.update(sentence.encode("utf-8", "surrogatepass") + b"\0")
            self._texts[source] = (digest, self._texts[source][1] + 1)
            for position, token in enumerate(tokens):
                word_id = self._word(token.folded, token.term)
                capitalised = token.surface[:1].isupper()
                self._tokens.append(word_id)
                self._token_flags.append(
                    (CAPITALISED if capitalised else 0) | (SENTENCE_START if position == 0 else 0)
                )
                if not capitalised:
                    self._lower.add(word_id)
                elif position > 0:
                    self._capitalised.add(word_id)
                if token.folded not in STOP_WORDS:
                    unit.append(token.term)
            self._sentence_tokens.append(len(self._tokens))
            self._sentence_chars.extend((start, end))
            self._sentence_flags.append(sentence_flags(sentence))
        yield self._close_unit(passage, source, unit, heading_ids, heading_terms)

    def _close_unit(
        self, passage: int, source: int, terms: list[str], heading_ids: list[int], heading_terms
    ) -> list[str]:
        self._passage_sentences.append(len(self._sentence_flags))
        self._heading_tokens.extend(heading_ids)
        self._passage_headings.append(len(self._heading_tokens))
        self._passage_source.append(source)
        self._unit_passage.append(passage)
        return terms + heading_terms

    def finish(self) -> Corpus:
        """Sort the vocabulary (ids become positions in it) and freeze the arrays."""
        ordered = sorted(self._word_ids)
        rank = np.empty(len(ordered), np.int32)
        rank[[self._word_ids[w] for w in ordered]] = np.arange(len(ordered), dtype=np.int32)
        names = np.zeros(len(ordered), np.uint8)
        for word_id in self._capitalised - self._lower:
            names[rank[word_id]] |= NAME
        stops = np.array([w in STOP_WORDS for w in ordered], dtype=bool)
        names[stops] |= STOP
        blob, offsets, prefixes = SortedStrings.encode_sorted(ordered)
        term_blob, term_offsets = StringTable.encode(
            [self._word_terms[self._word_ids[w]] for w in ordered]
        )

        def frozen(values: array, dtype: type) -> np.ndarray:
            return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.zeros(0, dtype)

        tokens = frozen(self._tokens, np.int32)
        heading_tokens = frozen(self._heading_tokens, np.int32)
        arrays = {
            "word_blob": blob,
            "word_offsets": offsets,
            "word_prefixes": prefixes,
            "word_term_text": term_blob,
            "word_term_offsets": term_offsets,
            "word_flags": names,
            "tokens": rank[tokens] if tokens.size else tokens,
            "token_flags": frozen(self._token_flags, np.uint8),
            "sentence_tokens": frozen(self._sentence_tokens, np.int64),
            "sentence_chars": frozen(self._sentence_chars, np.int32).reshape(-1, 2),
            "sentence_flags": frozen(self._sentence_flags, np.uint8),
            "passage_sentences": frozen(self._passage_sentences, np.int64),
            "heading_tokens": rank[heading_tokens] if heading_tokens.size else heading_tokens,
            "passage_headings": frozen(self._passage_headings, np.int64),
            "passage_source": frozen(self._passage_source, np.int32),
            "unit_passage": frozen(self._unit_passage, np.int32),
        }
        return Corpus(arrays, [(d.hexdigest()[:32], n) for d, n in self._texts])
