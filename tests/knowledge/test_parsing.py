"""The structure a reader sees: sections, paragraphs, quotations and who they quote."""

from __future__ import annotations

import textwrap
from pathlib import Path

from knowledge import Library, PassageKind
from knowledge.parsing import parse_text
from knowledge.text import split_sentences, terms
from tests.conftest import write_sources


def test_seed_sections_are_the_article_headings(library: Library) -> None:
    titles = [s.title for s in library.sections("guardians")]
    assert titles == [
        "",
        "Bolsheviks Confront Counterrevolution",
        "Dzerzhinsky and the Cheka",
        "The Kirov Assasination and the Great Purge Trials",
        "The GPU’s International Terrorism",
        "The Jewish Doctors’ Plot",
        "Personal Courage and Political Program",
    ]
    assert library.sources[0].subtitle == "The Degeneration of the Soviet Secret Police"
    # Title and subtitle are the source's, not a paragraph of it.
    assert not any(p.text == "Degeneration of the Soviet Secret Police" for p in library.passages)


def test_doubled_quote_marks_display_as_curly_quotes(library: Library) -> None:
    text = " ".join(p.text for p in library.passages)
    assert "‘‘" not in text and "’’" not in text
    assert "“socialism in one country.”" in library.passage("1.2").text


def test_paragraph_broken_by_a_page_break_is_joined(library: Library) -> None:
    joined = [p for p in library.passages if "Eitingon" in p.text]
    assert len(joined) == 1
    assert "partisan operations behind the lines of the German army after Hitler’s invasion" in (
        joined[0].text
    )


def test_attribution_lines_belong_to_the_quotation_above(library: Library) -> None:
    assert not any(p.text.startswith("—") for p in library.passages)
    fomin = next(p for p in library.passages if p.text.startswith("“An old messenger"))
    assert fomin.kind is PassageKind.QUOTATION
    assert fomin.quotation is not None
    assert fomin.quotation.speaker == "Fyodor Fomin"
    assert fomin.quotation.attribution.startswith("quoted in KGB: The Inside Story")
    assert "quoting Fyodor Fomin, quoted in KGB: The Inside Story, Christopher Andrew" in (
        fomin.citation
    )


def test_multi_paragraph_quotation_is_one_passage(library: Library) -> None:
    decree = next(p for p in library.passages if "(5) The workers" in p.text)
    assert "(6) These battalions" in decree.text and "(8) Enemy agents" in decree.text
    assert decree.quotation is not None
    assert decree.quotation.attribution == "First Decrees of Soviet Power"
    trepper = next(p for p in library.passages if "lost in the tundra" in p.text)
    assert "Today, the Trotskyites have a right" in trepper.text


def test_speakers_are_read_from_the_introducing_sentence(library: Library) -> None:
    speakers = {
        p.text[:25]: p.quotation.speaker
        for p in library.passages
        if p.quotation is not None and p.quotation.speaker
    }
    assert sorted(speakers.values()) == sorted(
        [
            "Fyodor Fomin",
            "Margarete Buber-Neumann",  # "Later she bitterly recalled…" refers back to her
            "Comintern",
            "Khrushchev",
            "Trotsky",
            "Leopold Trepper",  # "Leopold Trepper, the organizer of …, noted that"
        ]
    )


def test_citation_names_source_section_and_paragraph(library: Library) -> None:
    passage = library.passage("guardians:3.1")
    assert passage.citation == (
        "From Guardians to Executioners, section 3 “Dzerzhinsky and the Cheka”, paragraph 1"
    )


def test_plain_wrapped_text_without_headings_and_straight_quotes() -> None:
    raw = textwrap.dedent(
        """\
        The town council met in the spring of 1848. Its members were
        merchants and lawyers, and few of them had
        seen a barricade.

        The mayor opened the session with a warning:

        "Gentlemen, the hour is late, and the people are at the gates.
        We must decide today."
        -- Minutes of the Council, 1848

        Nobody answered him. The vote was taken at noon.
        """
    )
    parsed = parse_text(raw)
    assert len(parsed.sections) == 1 and parsed.sections[0].title == ""
    blocks = parsed.sections[0].blocks
    assert [b.is_quotation for b in blocks] == [False, False, True, False]
    assert blocks[0].text.startswith("The town council met") and "few of them had seen" in (
        blocks[0].text
    )
    assert blocks[2].attribution == "Minutes of the Council, 1848"
    assert blocks[2].introduction == "The mayor opened the session with a warning:"


def test_markdown_headings_and_block_quotes() -> None:
    raw = "# The Siege\nThe city held for a year.\n> Bread ran out in March.\n## Aftermath\nIt fell.\n"
    parsed = parse_text(raw)
    assert [s.title for s in parsed.sections] == ["The Siege", "Aftermath"]
    assert parsed.sections[0].blocks[1].is_quotation


def test_tokens_survive_real_typography() -> None:
    assert terms("Stalin’s") == terms("stalins") == ["stalin"]
    assert "brest" in terms("Brest-Litovsk") and "brestlitovsk" in terms("Brest-Litovsk")
    assert terms("Lenín") == terms("lenin")
    assert terms("in 1926") == ["1926"]
    assert terms("the of and") == []


def test_sentences_do_not_split_at_initials_or_abbreviations() -> None:
    text = "It was edited by A. Read and Gen. Zhukov agreed. Then it ended."
    assert split_sentences(text) == [
        "It was edited by A. Read and Gen. Zhukov agreed.",
        "Then it ended.",
    ]


def test_parenthesised_source_after_a_quotation_and_citation_without_headings(
    tmp_path: Path,
) -> None:
    text = """\
        The Crimean War

        William Howard Russell, the correspondent of The Times, described the
        charge of the Light Brigade at Balaclava on 25 October 1854:

        "They swept proudly past, glittering in the morning sun in all the
        pride and splendour of war."
        (The Times, 14 November 1854)

        The war ended with the Treaty of Paris in 1856.
    """
    library = Library.load(write_sources(tmp_path, {"crimea": ("The Crimean War", text)}))
    quote = library.passage("crimea:1.2")
    assert quote.text.startswith('"They swept proudly past')
    assert quote.quotation is not None
    assert quote.quotation.speaker == "William Howard Russell"
    assert quote.quotation.attribution == "The Times, 14 November 1854"
    assert quote.citation == (
        "The Crimean War, paragraph 2; quoting William Howard Russell, "
        "from The Times, 14 November 1854"
    )
    assert library.passage("crimea:1.3").text == "The war ended with the Treaty of Paris in 1856."


def test_footnote_marks_and_two_line_headings() -> None:
    raw = (
        "CHAPTER IV\n"
        "THE PURGES\n"
        "The purges began in 1936.¹² Within two years the party leadership had been destroyed.³\n"
    )
    parsed = parse_text(raw)
    assert [s.title for s in parsed.sections] == ["CHAPTER IV: THE PURGES"]
    text = parsed.sections[0].blocks[0].text
    assert terms(text)[:3] == ["purg", "begin", "1936"]  # not "193612"
    assert split_sentences(text)[0] == "The purges began in 1936."  # the marks are gone


def test_other_ways_of_naming_a_quotations_source() -> None:
    raw = (
        "The paper printed an appeal that left no doubt about what was coming next:\n"
        '"We must act now, comrades, before it is too late."\n'
        "Source: Pravda, 12 March 1937\n"
        "A week later another paper answered in the same tone, and with the same threats.\n"
        '"Another quotation that stands by itself in this text."\n'
        "[Izvestia, 1938]\n"
    )
    blocks = parse_text(raw).sections[0].blocks
    assert [(b.is_quotation, b.attribution) for b in blocks] == [
        (False, ""),
        (True, "Pravda, 12 March 1937"),
        (False, ""),
        (True, "Izvestia, 1938"),
    ]


def test_numbered_headings_footnoted_paragraph_ends_and_a_table_of_contents() -> None:
    raw = (
        "Contents\n"
        "Chapter 1 The Revolution\n"
        "Chapter 2 The Purges\n"
        "1. Introduction\n"
        "The first chapter tells of the revolution and of the men who made it in Russia.¹\n"
        "The next paragraph is a paragraph of its own, not the rest of the one above it.\n"
        "II. THE PURGES\n"
        "The second chapter tells of the purges, which destroyed the old party leadership.\n"
    )
    sections = parse_text(raw).sections
    assert [(s.title, len(s.blocks)) for s in sections] == [
        ("1. Introduction", 2),
        ("II. THE PURGES", 1),
    ]
    assert sections[0].blocks[0].text.endswith("in Russia.")  # the mark is gone


def test_headings_printed_right_above_wrapped_paragraphs() -> None:
    raw = (
        "CHAPTER ONE\n"
        "The siege began in September 1941, when German and Finnish forces\n"
        "closed the last land routes into the city.\n"
        "\n"
        "## The Road of Life\n"
        "In the winter the only supply route ran across the frozen surface of\n"
        "Lake Ladoga.\n"
        "\n"
        "Short first line\n"
        "of a paragraph that goes on a bit longer than that first line does here.\n"
    )
    sections = parse_text(raw).sections
    assert [s.title for s in sections] == ["CHAPTER ONE", "The Road of Life"]
    assert sections[0].blocks[0].text.startswith("The siege began in September 1941")
    assert sections[1].blocks[1].text.startswith("Short first line of a paragraph")
