"""Unit tests of bot.rendering: what users see, within Discord's limits."""

from __future__ import annotations

import re
from dataclasses import replace

import discord
import pytest

from bot import rendering as r
from knowledge import Answer, Hit, Library, Passage, Quotation, SectionInfo

LONG_SENTENCES = " ".join(f"Sentence number {i} tells of the purge of {i} men." for i in range(400))


def make_passage(text: str, **changes: object) -> Passage:
    base = Passage(
        ref="guardians:3.9",
        source_id="guardians",
        source_title="From Guardians to Executioners",
        section=3,
        section_title="Dzerzhinsky and the Cheka",
        paragraph=9,
        text=text,
        position=20,
    )
    return replace(base, **changes)


def make_answer(passage: Passage, quote: str, terms=(), *, answered=True, others=()) -> Answer:
    hits = (Hit(passage, 3.0, quote, tuple(terms)), *others)
    return Answer("who was Yagoda?", answered, hits, "" if answered else "not covered", ())


# -- truncation -------------------------------------------------------------------------------


def test_short_text_is_unchanged() -> None:
    assert r.truncate("One. Two.", 100) == "One. Two."


def test_truncate_ends_at_a_sentence_boundary_with_ellipsis() -> None:
    text = "First sentence here. Second sentence is longer than that. Third one."
    cut = r.truncate(text, 40)
    assert cut == "First sentence here. …"
    assert len(cut) <= 40


def test_truncate_falls_back_to_a_word_boundary() -> None:
    text = "one enormous sentence without any full stop " * 10
    cut = r.truncate(text, 50)
    assert len(cut) <= 50 and cut.endswith("…")
    assert not cut[:-1].endswith(" ") and text.startswith(cut[:-1])


def test_truncate_from_end_keeps_the_last_sentences() -> None:
    text = "First sentence here. Second sentence is longer than that. Third one."
    cut = r.truncate(text, 30, from_end=True)
    assert cut == "… Third one."


def test_fit_respects_the_limit_after_escaping() -> None:
    text = "*a* " * 600 + "end."
    shown = r.fit(text, 100)
    assert len(shown) <= 100
    assert "\\*" in shown


@pytest.mark.parametrize("limit", [50, 1024, 4096])
def test_quote_fits_and_ends_with_ellipsis(limit: int) -> None:
    shown = r.render_quote(LONG_SENTENCES, ("purge",), limit)
    assert len(shown) <= limit
    assert shown.endswith("…")
    assert shown.startswith("> ")


# -- escaping ---------------------------------------------------------------------------------


def test_markdown_in_sources_is_escaped() -> None:
    shown = r.clean("The *Third Period* and __the__ `Popular Front` ~~x~~ ||y||\n> q\n# h")
    assert "\\*Third Period\\*" in shown
    assert "\\_\\_the\\_\\_" in shown
    assert "\\`Popular Front\\`" in shown
    assert "\\> q" in shown and "\\# h" in shown


def test_mentions_are_neutralised() -> None:
    shown = r.clean("hey @everyone and @here, <@123456789012345678> <@&123456789012345678>")
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@123456789012345678>" not in shown and "<@&123456789012345678>" not in shown
    assert "@\u200beveryone" in shown


def test_answer_embed_neutralises_question_and_quote() -> None:
    passage = make_passage("Ping @everyone now. And <@&123456789012345678> too.")
    answer = Answer(
        "@everyone <@123456789012345678> who?",
        True,
        (Hit(passage, 1.0, passage.text, ("Ping",)),),
    )
    embed = r.answer_embed(answer)
    text = str(embed.to_dict())
    assert "@everyone" not in text
    assert "<@123456789012345678>" not in text and "<@&123456789012345678>" not in text


# -- bold -------------------------------------------------------------------------------------


def test_matched_terms_are_bold_as_whole_words() -> None:
    shown = r.bold_terms(r.clean("Yagoda and Yagoda’s men; not Yagodas."), ["Yagoda"])
    assert shown == "**Yagoda** and **Yagoda**’s men; not Yagodas."


def test_bold_never_breaks_escaped_markdown() -> None:
    shown = r.bold_terms(r.clean("*Stalin* said"), ["Stalin"])
    assert shown == "\\***Stalin**\\* said"


# -- answer embeds and buttons ----------------------------------------------------------------


def test_answer_embed_has_quote_citation_reference() -> None:
    passage = make_passage("With Menzhinsky gone, control passed to Henrikh Yagoda. More.")
    other = Hit(make_passage("x.", ref="guardians:4.2", paragraph=2), 1.0, "x.")
    answer = make_answer(passage, "control passed to Henrikh Yagoda.", ["Yagoda"], others=(other,))
    embed = r.answer_embed(answer)
    assert embed.title == "who was Yagoda?"
    assert embed.description == "> control passed to Henrikh **Yagoda**."
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Citation"] == (
        "From Guardians to Executioners, section 3 “Dzerzhinsky and the Cheka”, paragraph 9"
    )
    assert "`guardians:3.9`" in fields["Reference"] and "/passage" in fields["Reference"]
    assert r.ref_from_embed(embed) == "guardians:3.9"
    labels = [s.label for s in r.answer_buttons(answer)]
    assert labels == ["Full passage", "Context", "Other matches"]


def test_quotation_citation_says_whom_it_quotes() -> None:
    passage = make_passage(
        "We must act.",
        quotation=Quotation(speaker="Khrushchev", attribution="Khrushchev Remembers"),
    )
    embed = r.answer_embed(make_answer(passage, "We must act."))
    citation = next(f.value for f in embed.fields if f.name == "Citation")
    assert "quoting Khrushchev" in citation


def test_long_quote_and_citation_fit_their_limits() -> None:
    passage = make_passage(LONG_SENTENCES, section_title="T" * 3000)
    embed = r.answer_embed(make_answer(passage, LONG_SENTENCES, ["purge"]))
    assert len(embed.title or "") <= r.TITLE_LIMIT
    assert len(embed.description or "") <= r.DESCRIPTION_LIMIT
    assert all(len(f.value) <= r.FIELD_VALUE_LIMIT for f in embed.fields)
    assert len(embed) <= r.EMBED_TOTAL_LIMIT
    assert embed.description.endswith("…")


def test_not_answered_embed_offers_closest_places_not_as_answer() -> None:
    passage = make_passage("Something else entirely.")
    answer = Answer(
        "what is the capital of France?",
        False,
        (Hit(passage, 1.0, passage.text),),
        "the texts do not seem to cover this question",
        (SectionInfo("guardians", 3, "Dzerzhinsky and the Cheka", 9, "guardians:3.1"),),
    )
    embed = r.answer_embed(answer)
    assert embed.title == "Not found in the texts"
    assert "not an answer" in embed.description
    names = [f.name for f in embed.fields]
    assert names == ["Closest sections", "Closest passages (not answers)"]
    assert "Section 3 “Dzerzhinsky and the Cheka” — 9 passages" in embed.fields[0].value
    assert r.ref_from_embed(embed) is None
    assert [s.label for s in r.answer_buttons(answer)] == ["Open 3.9"]


# -- custom ids -------------------------------------------------------------------------------


def test_custom_ids_match_templates_and_fit() -> None:
    long_ref = "a-very-long-source-identifier-name:123.456"
    for custom_id, template in [
        (r.full_id(long_ref, 3), r.FULL_TEMPLATE),
        (r.nav_id(long_ref, 1), r.NAV_TEMPLATE),
        (r.context_id(long_ref), r.CONTEXT_TEMPLATE),
        (r.others_id([long_ref] * 2 + [f"other:{i}.{i}" for i in range(40)]), r.OTHERS_TEMPLATE),
        (r.off_id(2), r.OFF_TEMPLATE),
    ]:
        assert len(custom_id) <= r.CUSTOM_ID_LIMIT
        assert re.fullmatch(template, custom_id), custom_id


def test_packed_refs_round_trip() -> None:
    refs = ["guardians:3.1", "guardians:3.3", "other:1.2", "other:1.3", "guardians:7.8"]
    packed = r.pack_refs(refs)
    assert packed == "guardians:3.1,3.3,other:1.2,1.3,guardians:7.8"
    assert r.unpack_refs(packed) == refs


def test_every_button_of_real_answers_fits(library: Library) -> None:
    for question in ["who succeeded Dzerzhinsky?", "Kirov assassination", "show trials"]:
        answer = library.answer(question)
        for spec in r.answer_buttons(answer):
            assert len(spec.custom_id) <= r.CUSTOM_ID_LIMIT
            assert len(spec.label) <= r.BUTTON_LABEL_LIMIT


# -- passages, pages, search, sources ---------------------------------------------------------


def test_long_passage_is_paginated_at_sentences() -> None:
    pages = r.paginate(LONG_SENTENCES)
    assert len(pages) > 1
    assert " ".join(pages) == LONG_SENTENCES
    assert all(len(r.clean(p)) <= r.PASSAGE_PAGE_LIMIT for p in pages)
    assert all(p.endswith(".") for p in pages)
    passage = make_passage(LONG_SENTENCES)
    embed, count = r.passage_embed(passage, 1)
    assert count == len(pages)
    assert "page 2/" in embed.footer.text
    specs = r.passage_buttons(passage, 1, count, None, None)
    assert [s.kind for s in specs] == ["off", "off", "nav", "nav"]
    assert specs[2].custom_id == r.nav_id(passage.ref, 0)


def test_passage_embeds_of_the_seeds_fit(library: Library) -> None:
    for passage in library.passages:
        embed, _ = r.passage_embed(passage)
        assert len(embed) <= r.EMBED_TOTAL_LIMIT
        assert len(embed.description) <= r.DESCRIPTION_LIMIT
        assert r.ref_from_embed(embed) == passage.ref
        previous, following = library.previous(passage.ref), library.next(passage.ref)
        context = r.context_embed(passage, previous, following)
        assert len(context) <= r.EMBED_TOTAL_LIMIT


def test_search_pages_hold_five_results(library: Library) -> None:
    hits = library.search("Stalin", 25)
    assert len(hits) > 5
    first = r.search_embed("Stalin", hits, 0)
    assert [n for n in range(1, 8) if f"**{n}.**" in first.description] == [1, 2, 3, 4, 5]
    second = r.search_embed("Stalin", hits, 1)
    assert second.description.startswith("**6.**")
    assert f"page 2/{r.search_pages(hits)}" in second.footer.text
    assert len(first.description) <= r.DESCRIPTION_LIMIT


def test_sources_list_sections_and_counts(library: Library) -> None:
    embeds = r.sources_embeds(library.sources, library.sections())
    assert embeds[0].title == "From Guardians to Executioners"
    assert "Dzerzhinsky and the Cheka" in embeds[0].description
    assert r.embed_length(embeds) <= r.EMBED_TOTAL_LIMIT


# -- autocomplete, errors, mentions -----------------------------------------------------------


def test_choices_are_limited_to_25_of_100_chars() -> None:
    pairs = [(f"guardians:{i}.1", "x" * 300) for i in range(60)]
    pairs.append(("y" * 101, "too long a value"))
    out = r.choices(pairs)
    assert len(out) == 25
    assert all(len(name) <= 100 and len(value) <= 100 for name, value in out)
    assert out[0][0].endswith("…")


def test_error_text_lists_suggestions() -> None:
    text = r.error_text("no passage '3.99'", ("guardians:3.9", "guardians:3.1"))
    assert text.startswith("No passage")
    assert "`guardians:3.9`" in text


def test_strip_bot_mentions_keeps_others() -> None:
    content = "<@42> who was <@!42> Yagoda <@7>?"
    assert r.strip_bot_mentions(content, 42) == "who was Yagoda <@7>?"


def test_question_from_title_undoes_escaping() -> None:
    title = r.fit("who wrote *Stalin* @everyone?", r.TITLE_LIMIT)
    assert r.question_from_title(title) == "who wrote *Stalin* @everyone?"


def test_embed_colours_are_discord_colours() -> None:
    assert isinstance(r.ANSWER_COLOUR, discord.Colour)
