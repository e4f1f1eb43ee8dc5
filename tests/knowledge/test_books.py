"""Real books: e-text boilerplate, front and back matter, footnotes, outline and citations.

Each rule is shown on a small text written here, laid out the way printed books and e-texts
lay it out; the last tests parse the two Project Gutenberg books in benchmarks/data/books/.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from knowledge import Library, PassageKind
from knowledge.parsing import parse_text
from tests.conftest import write_sources

BOOKS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "books"

PROSE = (
    "The legions marched north in the spring, and the frontier was quiet for a season while\n"
    "the governors collected the tribute of the provinces and repaired the roads.\n"
)


def book(body: str) -> str:
    return textwrap.dedent(body).lstrip()


def paragraphs(raw: str) -> list[str]:
    return [block.text for section in parse_text(raw).sections for block in section.blocks]


def test_gutenberg_header_licence_and_footer_are_dropped() -> None:
    raw = (
        book(
            """\
        The Project Gutenberg EBook of A Short History, by A. Writer

        This eBook is for the use of anyone anywhere at no cost and with
        almost no restrictions whatsoever.

        Title: A Short History

        Character set encoding: ASCII

        *** START OF THIS PROJECT GUTENBERG EBOOK A SHORT HISTORY ***

        Produced by A. Volunteer

        """
        )
        + PROSE
        + "\n"
        + PROSE
        + book(
            """\

        End of the Project Gutenberg EBook of A Short History

        *** END OF THIS PROJECT GUTENBERG EBOOK A SHORT HISTORY ***

        Updated editions will replace the previous one. Project Gutenberg is a
        registered trademark.
        """
        )
    )
    assert paragraphs(raw) == [" ".join(PROSE.split())] * 2


def test_old_style_small_print_header_and_a_licence_without_markers() -> None:
    body = (PROSE + "\n") * 6
    raw = (
        "The Project Gutenberg Etext of Old Times\n\n"
        "**Welcome To The World of Free Plain Vanilla Electronic Texts**\n\n"
        "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
        + body
        + "\nThis and all associated files of various formats will be found in the\n"
        "Project Gutenberg archive, with its full license.\n\n"
        "THE FULL PROJECT GUTENBERG LICENSE\n"
        "PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK\n"
    )
    texts = paragraphs(raw)
    assert len(texts) == 6 and all(t.startswith("The legions marched") for t in texts)
    no_markers = (
        "The Project Gutenberg EBook of Old Times, by A. Writer\n\n"
        + body
        + (
            "\nEnd of Project Gutenberg's Old Times, by A. Writer\n\n"
            "Section 1. General Terms of Use and Redistributing Project Gutenberg-tm works.\n"
        )
    )
    assert paragraphs(no_markers) == texts


def test_a_text_about_project_gutenberg_is_no_e_text() -> None:
    body = (PROSE + "\n") * 4
    raw = body + "\nProject Gutenberg has put many of these histories online for free.\n\n" + body
    assert len(paragraphs(raw)) == 9


def test_title_page_contents_and_list_of_illustrations_are_not_text() -> None:
    raw = (
        book(
            """\
        *** START OF THE PROJECT GUTENBERG EBOOK THE WARS ***

        THE WARS

        By A. Writer

        In Two Volumes

        VOLUME ONE

        "Arms and the man I sing."--Virgil.

        CONTENTS

        CHAPTER I. The Frontier
        CHAPTER II. The Roads

        LIST OF ILLUSTRATIONS

        The Wall at Sunset
        A Roman Road

        TRANSCRIBER'S NOTE

        Obvious printing errors have been corrected without comment in this e-text.

        CHAPTER I. The Frontier

        """
        )
        + PROSE
        + "\n[Illustration: The Wall at Sunset]\n\nCHAPTER II. The Roads\n\n"
        + PROSE
    )
    sections = parse_text(raw).sections
    assert [(s.divisions, len(s.blocks)) for s in sections] == [
        (("vol. 1", "ch. I"), 1),
        (("vol. 1", "ch. II"), 1),
    ]
    assert all(b.text.startswith("The legions") for s in sections for b in s.blocks)


def test_a_back_of_book_index_is_not_text() -> None:
    entries = "\n".join(
        f"{name}, {i}, {i + 40}-{i + 42}"
        for i, name in enumerate(
            "Aurelian Carus Decius Gallienus Julian Maximin Nerva Otho Pertinax Probus "
            "Severus Tacitus Trajan Valerian Zenobia Antoninus Caracalla Commodus Elagabalus "
            "Hadrian".split(),
            start=3,
        )
    )
    body = "".join(f"CHAPTER {n}\n\n{PROSE}\n{PROSE}\n" for n in ("I", "II", "III"))
    with_heading = parse_text(body + "INDEX\n\n" + entries + "\n")
    without_heading = parse_text(body + entries + "\n")
    for parsed in (with_heading, without_heading):
        assert [s.divisions for s in parsed.sections] == [("ch. I",), ("ch. II",), ("ch. III",)]
        assert all(len(s.blocks) == 2 for s in parsed.sections)


def test_bracketed_footnotes_go_with_the_paragraph_citing_them() -> None:
    raw = book(
        """\
        Chapter I: The Frontier

        Augustus recovered the standards lost by Crassus, [1] and his successors
        kept the frontier where nature had placed it. [2]

        [Footnote 1: Dion Cassius, l. liv. p. 736.]

        [Footnote 2: Tacit. Annal. l. ii.

        Note: The editor adds a second paragraph to this note.--M.]

        The northern countries of Europe scarcely deserved the expense and labor
        of conquest. [3]
        [Footnote 3: Placed right under its paragraph, with no blank line.]

        Chapter II: The Army

        The legions were recruited from the provinces, and the auxiliaries from
        the allied kingdoms beyond them. [1]

        [Footnote 1: The numbering starts again in each chapter.]
        """
    )
    sections = parse_text(raw).sections
    first, second = sections[0].blocks
    assert first.text == (
        "Augustus recovered the standards lost by Crassus, and his successors kept the "
        "frontier where nature had placed it."
    )
    assert first.notes == [
        "Dion Cassius, l. liv. p. 736.",
        "Tacit. Annal. l. ii.\nNote: The editor adds a second paragraph to this note.--M.",
    ]
    assert second.notes == ["Placed right under its paragraph, with no blank line."]
    assert sections[1].blocks[0].notes == ["The numbering starts again in each chapter."]
    assert sections[1].blocks[0].text.endswith("from the allied kingdoms beyond them.")


def test_notes_gathered_at_the_end_of_a_book_and_bare_number_markers() -> None:
    raw = book(
        """\
        BOOK I. THE FIRST BOOK

        1. The Scythians had ruled over Upper Asia 1 for eight-and-twenty years,
        and they deposed 2 the Medes, who had 3 ruled before them for 128 years.

        2. In the year 480 the king marched with 3 armies; 4 so the story goes,
        and the priests of the temple told it to me in this manner.

        ----------

        NOTES TO BOOK I

        1 [ Or "the upper country."]

        2 [ {katapausantes}.]

        3 [ Some manuscripts omit "had".]

        4 [ Cp. ch. 1.
        A second line of the same note.]

        BOOK II. THE SECOND BOOK

        1. When Cyrus died, Cambyses received the royal power, being the son
        of Cyrus and of Cassandane the daughter of Pharnaspes. 1

        NOTES TO BOOK II

        1 [ The notes of each book are numbered from one.]
        """
    )
    sections = parse_text(raw).sections
    assert [s.divisions for s in sections] == [("book I",), ("book II",)]
    first, second = sections[0].blocks
    assert first.text == (
        "1. The Scythians had ruled over Upper Asia for eight-and-twenty years, and they "
        "deposed the Medes, who had ruled before them for 128 years."
    )
    assert first.notes == [
        'Or "the upper country."',
        "{katapausantes}.",
        'Some manuscripts omit "had".',
    ]
    # Real numbers stay: the 480 and the 3 armies are no notes (3 was taken, out of order).
    assert second.text == (
        "2. In the year 480 the king marched with 3 armies; so the story goes, and the "
        "priests of the temple told it to me in this manner."
    )
    assert second.notes == ["Cp. ch. 1. A second line of the same note."]
    assert sections[1].blocks[0].notes == ["The notes of each book are numbered from one."]
    assert not any(b.text.startswith(("NOTES", "1 [")) for s in sections for b in s.blocks)


def test_numbered_and_superscript_notes() -> None:
    raw = (
        "The purges began in 1936.¹ The army lost 35,000 officers,² and an area of 3 km² was "
        "fenced off. [3]\n"
        "[1] Conquest, The Great Terror.\n"
        "[2] Figures from the 1956 report.\n"
        "[3] A third note.\n"
    )
    (block,) = parse_text(raw).sections[0].blocks
    assert block.text == (
        "The purges began in 1936. The army lost 35,000 officers, and an area of 3 km² was "
        "fenced off."
    )
    assert block.notes == [
        "Conquest, The Great Terror.",
        "Figures from the 1956 report.",
        "A third note.",
    ]


def test_indentation_alone_makes_no_quotation() -> None:
    raw = book(
        """\
        CHAPTER I

             The Extent And Military Force Of The Empire In The Age Of
             The Antonines.

        The poet describes the scene in lines that every schoolboy knew by heart
        and that the historian quotes without comment in this place:

             Of arms and the man I sing, who first from the coasts of Troy
             came to Italy and the Lavinian shores, driven by fate.

        "Quoted in quote marks, this is a quotation of the Emperor himself,
        and it stays one."

        > A Markdown quotation, too, stays a quotation of its own kind.
        """
    )
    blocks = parse_text(raw).sections[0].blocks
    assert [(b.text[:12], b.is_quotation) for b in blocks] == [
        ("The poet des", False),
        ("Of arms and ", False),
        ('"Quoted in q', True),
        ("A Markdown q", True),
    ]  # the chapter's argument in title case, under its heading, is no passage


def test_transcribers_codes_bom_and_crlf() -> None:
    raw = "\ufeffCHAPTER I\r\n\r\nThe battle of Act[)i]um was fought in the year 31, near\r\nthe gulf of Ambracia.\r\n"
    (section,) = parse_text(raw).sections
    assert section.title == "CHAPTER I"
    assert section.blocks[0].text == (
        "The battle of Actĭum was fought in the year 31, near the gulf of Ambracia."
    )


def test_volume_chapter_and_parts_of_a_chapter_make_the_citation(tmp_path: Path) -> None:
    text = book(
        """\
        VOLUME ONE

        Preface By The Editor.

        The great work is indispensable to the student of history, and this edition
        adds the notes of later scholars.

        Bentinck Street, February 1, 1776.

        Chapter I: The Extent Of The Empire--Part I.

        Introduction.

        The empire comprehended the fairest part of the earth and the most civilized
        portion of mankind.

        PART II.

        The terror of the Roman arms added weight and dignity to the moderation of
        the emperors.

        Chapter I: The Extent Of The Empire.--Part III.

        The military establishment of the empire deserves our attention next.

        Chapter II: The Internal Prosperity--Part I.

        It is not alone by the rapidity of conquest that we should estimate Rome.
        """
    )
    library = Library.load(write_sources(tmp_path, {"decline": ("Decline and Fall", text)}))
    sections = library.sections("decline")
    assert [(s.title, s.passage_count) for s in sections] == [
        ("Preface By The Editor.", 2),
        ("Chapter I: The Extent Of The Empire", 3),
        ("Chapter II: The Internal Prosperity--Part I.", 1),
    ]
    assert library.passage("decline:2.3").citation == "Decline and Fall, vol. 1, ch. I, para. 3"
    assert library.passage("decline:1.2").text == "Bentinck Street, February 1, 1776."
    assert library.passage("decline:1.1").citation == (
        "Decline and Fall, vol. 1, “Preface By The Editor”, para. 1"
    )


def test_two_works_in_one_volume_stay_apart() -> None:
    def work(title: str, books: int) -> str:
        return f"{title}\n\n" + "".join(
            f"BOOK {numeral}\n\n{PROSE}\n" for numeral in ("I", "II", "III", "IV")[:books]
        )

    sections = parse_text(work("THE GALLIC WAR", 3) + work("THE CIVIL WAR", 2)).sections
    assert [s.divisions for s in sections] == [
        ("The Gallic War", "book I"),
        ("The Gallic War", "book II"),
        ("The Gallic War", "book III"),
        ("The Civil War", "book I"),
        ("The Civil War", "book II"),
    ]


def test_chapters_numbered_without_the_word() -> None:
    raw = f"XXIX.--Of The Huns\n\n{PROSE}\nXXX.--Of The Goths\n\n{PROSE}"
    assert [s.divisions for s in parse_text(raw).sections] == [("ch. XXIX",), ("ch. XXX",)]


def test_an_article_is_cited_as_before(library: Library) -> None:
    assert all(p.divisions == () and p.notes == () for p in library.passages)


# -- the shared Gutenberg books ----------------------------------------------------------------


@pytest.fixture(scope="module")
def books() -> Library:
    return Library.load(BOOKS)


def test_books_have_no_licence_header_index_or_footnote_passages(books: Library) -> None:
    boilerplate = re.compile(
        r"project gutenberg|gutenberg\.org|e-?book|full license|trademark|^produced by|"
        r"\[footnote|^\d+ \[|^notes to",
        re.IGNORECASE,
    )
    assert not [p.ref for p in books.passages if boilerplate.search(p.text)]
    marker = re.compile(r"\[\d+\]|\{\d+\}|[¹²³⁴⁵⁶⁷⁸⁹⁰]")
    assert not [p.ref for p in books.passages if marker.search(p.text)]
    assert not [
        p.ref for p in books.passages if p.kind is PassageKind.QUOTATION and p.source_id == "gibbon"
    ]


def test_books_outline(books: Library) -> None:
    gibbon = books.sections("gibbon")
    chapters = [s for s in gibbon if s.title.startswith("Chapter")]
    assert len(chapters) == 15  # I-XV, each one section whatever its Gutenberg "parts"
    assert 15 <= len(gibbon) <= 25  # and the prefaces
    assert [s.title.split(".")[0] for s in books.sections("herodotus")] == [
        "PREFACE",
        "BOOK I",
        "BOOK II",
        "BOOK III",
        "BOOK IV",
    ]
    first = books.passage(chapters[3].first_ref)
    assert first.citation == (
        "The History of the Decline and Fall of the Roman Empire, vol. 1, ch. IV, para. 1"
    )


def test_books_notes_are_attached_and_every_evidence_is_found(books: Library) -> None:
    assert sum(len(p.notes) for p in books.passages if p.source_id == "gibbon") >= 1650
    assert sum(len(p.notes) for p in books.passages if p.source_id == "herodotus") >= 700
    by_text = " ".join(" ".join([p.text, *p.notes]) for p in books.passages)
    by_text = " ".join(by_text.split())
    missing = []
    for path in sorted(BOOKS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for evidence in json.loads(line)["evidence"]:
                if " ".join(evidence.split()) not in by_text:
                    missing.append(evidence)
    assert not missing
    # "said, 2 had ruled over Upper Asia 3 for eight-and-twenty years": both notes' markers go.
    (asia,) = [p for p in books.passages if "had ruled over Upper Asia for eight" in p.text]
    assert "as I have before said, had ruled over Upper Asia for eight-and-twenty years" in (
        asia.text
    )
    assert len(asia.notes) >= 2
