"""Text normalisation, tokenisation and sentence splitting.

Everything that turns human text into index terms lives here, so the index and the query
side can never disagree about what a word is.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import snowballstemmer

# Typographic quote conventions seen in scanned/typeset texts: doubled single quotes stand
# for double quotes. Display them as proper double quotes.
_DOUBLED_QUOTES = (("‘‘", "“"), ("’’", "”"), ("``", "“"), ("''", "”"))

OPENING_QUOTES = '“‘"«„'
CLOSING_QUOTES = '”’"»'
DASHES = "—–―"

# The Snowball project's English stop word list, plus the question words and auxiliaries
# that carry no topic in a question ("who was", "what did ... say").
STOP_WORDS: frozenset[str] = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing would should could ought i'm you're he's she's it's we're
    they're i've you've we've they've i'd you'd he'd she'd we'd they'd i'll you'll he'll
    she'll we'll they'll isn't aren't wasn't weren't hasn't haven't hadn't doesn't don't
    didn't won't wouldn't shan't shouldn't can't cannot couldn't mustn't let's that's
    who's what's here's there's when's where's why's how's a an the and but if or
    because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other some such
    no nor not only own same so than too very s t can will just don now d ll m o re ve y
    also us upon whose whom tell explain describe said say says according did does
    """.split()
) | frozenset(
    # Light verbs of questions ("how did X get rid of", "what made X"): no topic in them.
    """
    get gets got getting make makes made making become becomes became happen happens
    happened take takes took taken give gives gave given go goes went gone come comes
    came know knew known think thought mean meant
    """.split()
)

_STEMMER = snowballstemmer.stemmer("english")
LEMMAS = Path(__file__).resolve().parent / "data" / "lemmas.tsv"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
FOOTNOTE_MARKS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
# Footnote markers ("in 1926.¹²") are not part of the words they follow: blank them out
# (same length, so positions in the text stay right).
_NO_FOOTNOTE_MARKS = str.maketrans(dict.fromkeys(FOOTNOTE_MARKS, " "))
_FOOTNOTE_MARK = re.compile(f"[{FOOTNOTE_MARKS}]")
_SENTENCE_END = re.compile(rf"(?<=[.!?])[”’\"»)\]{FOOTNOTE_MARKS}]*\s+(?=[“‘\"«(\[]*[A-Z0-9])")
# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr st gen col lt maj capt sgt rev prof sr jr vs etc no vol pp ed eds cf
    e.g i.e a.m p.m jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)


def display_text(raw: str) -> str:
    """Readable form of a source line: curly double quotes, single spaces."""
    text = raw
    for old, new in _DOUBLED_QUOTES:
        text = text.replace(old, new)
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


def fold(text: str) -> str:
    """Lower-case and strip diacritics, so "Lenín" and "lenin" are the same word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=500_000)
def _normalise(surface: str) -> tuple[str, str]:
    """A word's folded form (possessive dropped) and its index term, cached: a library has
    far fewer distinct words than words."""
    folded = fold(surface).replace("’", "'")
    if folded.endswith("'s"):
        folded = folded[:-2]
    folded = folded.replace("'", "")
    return folded, stem(_lemma(folded)) if folded else ""


def _lemma(folded: str) -> str:
    """An irregular form's lemma ("won" -> "win", "fought" -> "fight", "children" -> "child"),
    which stemming cannot find; any other word as it is. Only a word with one reading is
    changed ("left", "found", "rose" can be other words): lemminflect's dictionary, read
    through that rule into knowledge/data/lemmas.tsv (benchmarks/lemma_table.py)."""
    if not folded.isascii() or not folded.isalpha():
        return folded
    return _lemmas().get(folded, folded)


@lru_cache(maxsize=1)
def _lemmas() -> dict[str, str]:
    with LEMMAS.open(encoding="utf-8") as table:
        return dict(line.rstrip("\n").split("\t", 1) for line in table)


def load_lemma_tables() -> None:
    """Load the lemma table now (on first use otherwise)."""
    _lemmas()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


class Token(NamedTuple):
    """A word of the text: its surface form, folded form and index term (a tuple: texts
    have millions of words, and tuples are the cheapest record to make)."""

    surface: str
    folded: str
    term: str
    start: int
    end: int


def words(text: str) -> list[Token]:
    """Split text into word tokens, keeping positions for highlighting.

    Apostrophes inside words are kept only to drop possessives ("Stalin’s" -> "stalin");
    hyphenated words give their parts ("Brest-Litovsk" -> "brest", "litovsk") plus the
    joined form as a separate token from `terms`.
    """
    tokens: list[Token] = []
    for match in _WORD.finditer(blank_footnote_marks(text)):
        surface = match.group(0)
        folded, term = _normalise(surface)
        if folded:
            tokens.append(Token(surface, folded, term, match.start(), match.end()))
    return tokens


def word_surfaces(text: str, *, marks_blanked: bool = False) -> list[str]:
    """The words of a text as printed, in order: what `words` finds, without making tokens
    (building an index reads millions of words). A surface may fold to nothing
    (`word_forms`), and then `words` leaves it out. `marks_blanked`: the text has been
    through `blank_footnote_marks` already (a paragraph once, rather than each sentence)."""
    return _WORD.findall(text if marks_blanked else blank_footnote_marks(text))


def blank_footnote_marks(text: str) -> str:
    """The text with footnote markers turned into spaces (positions stay right)."""
    if text.isascii() or not _FOOTNOTE_MARK.search(text):
        return text  # most text has none, and translate() reads every character in Python
    return text.translate(_NO_FOOTNOTE_MARKS)


def word_forms(surface: str) -> tuple[str, str]:
    """A word's folded form and index term, as its Token from `words` has them."""
    return _normalise(surface)


_HYPHENATED = re.compile(r"[^\W_]+(?:-[^\W_]+)+", re.UNICODE)


def terms(text: str, *, keep_stop_words: bool = False) -> list[str]:
    """Index terms of a text: folded, stop words removed, Snowball-stemmed."""
    result = [
        token.term for token in words(text) if keep_stop_words or token.folded not in STOP_WORDS
    ]
    # Also index hyphenated compounds joined ("anti-semitic" matches "antisemitic").
    for match in _HYPHENATED.finditer(text):
        joined = fold(match.group(0)).replace("-", "")
        if joined.isalpha() or joined.isalnum():
            result.append(stem(joined))
    return result


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a paragraph, whitespace excluded: text[start:end] is
    the sentence exactly as printed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last_word = candidate.rsplit(None, 1)[-1] if candidate.split() else ""
        stripped = last_word.rstrip(".").lower()
        # "Gen. Zhukov", "A. Read": an abbreviation or an initial does not end a sentence.
        if stripped in _ABBREVIATIONS or (len(stripped) == 1 and stripped.isalpha()):
            continue
        spans.append(_trimmed(text, start, match.end()))  # closing quotes belong to it
        start = match.end()
    spans.append(_trimmed(text, start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, keeping the text of each exactly as printed."""
    return [text[start:end] for start, end in sentence_spans(text)]


# -- what a sentence states: the answer types of "when" and "how many" ------------------------

# One set of patterns for dates and numbers: detection here (does a sentence hold what "when"
# or "how many" asks for?), and the exact spans quizzes blank out.
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
DATE = re.compile(
    rf"\b(1[0-9]{{3}}|20[0-9]{{2}})s?\b|\b[0-9]{{1,4}} ?(BC|BCE|AD|CE|B\.C\.|A\.D\.)(?!\w)"
    rf"|\b({MONTHS})\b|\b(century|centuries|decade)\b",
)
"""A year, a month, a century: what a "when" question wants."""
NUMBER = re.compile(
    r"\b[0-9][0-9,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|dozens?|half|"
    r"several|score)\b",
    re.IGNORECASE,
)
"""A count or an amount: what a "how many" or "how much" question wants."""
FULL_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})(?:,?\s+\d{{3,4}})?"
    rf"|(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{3,4}}"
    rf"|(?:{MONTHS})\s+\d{{4}})\b"
)
"""A whole date as printed: "21 February 1918", "May 1937"."""
YEAR = re.compile(r"(?<![\d,.])\b(?:1[0-9]{3}|20[0-9]{2})(?:s|’s|'s)?\b(?![\d,.]\d)")
"""A year as printed, "1918", "1930s", not part of a longer figure."""
FIGURE = re.compile(
    r"(?<![\w(.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,.]\d)|(?<![\w(.,])\d+(?:\.\d+)?(?![\w)])(?![,.]\d)"
)
"""A number in figures as printed: "19,000", "7.5", not a footnote mark or part of a word."""
HAS_DATE = 1
HAS_NUMBER = 2


def sentence_flags(sentence: str) -> int:
    """HAS_DATE | HAS_NUMBER, as they apply to the sentence."""
    date = HAS_DATE if DATE.search(sentence) else 0
    return date | (HAS_NUMBER if NUMBER.search(sentence) else 0)


# -- questions as typed -------------------------------------------------------------------------

# Bidirectional controls (an RTL override turns a line around) and zero-width characters (they
# cut a word in two) are never part of what a question means, nor of what is shown back.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u061c"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    None,
)


def visible(text: str) -> str:
    """The text without bidirectional controls and zero-width characters."""
    return text.translate(_INVISIBLE)


# Chat markup around a question is never part of it: mention and channel tags, @everyone,
# custom emoji, and the characters of bold, italics, code, strike-through and spoilers.
_MARKUP = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>|@(?:everyone|here)\b|[*_`~|]+")


def plain_question(text: str) -> str:
    """What a person asked, without invisible characters, chat markup or extra spaces."""
    return " ".join(_MARKUP.sub(" ", visible(text)).split())
