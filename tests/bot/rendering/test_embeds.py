"""The embeds users see: answers, "not found", passages, searches, sources — within limits."""

from __future__ import annotations

from bot.inputs import ref_from_embed
from bot.rendering.buttons import answer_buttons
from bot.rendering.embeds import (
    answer_embed,
    context_embed,
    embed_length,
    passage_embed,
    search_embed,
    search_pages,
    sources_embeds,
)
from bot.rendering.text import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    paginate,
)
from knowledge import Answer, Hit, Library, Quotation, SectionInfo
from tests.bot.rendering.helpers import LONG_SENTENCES, make_answer, make_passage


def test_answer_embed_neutralises_question_and_quote() -> None:
    passage = make_passage("Ping @everyone now. And <@&123456789012345678> too.")
    answer = Answer(
        "@everyone <@123456789012345678> who?",
        True,
        (Hit(passage, 1.0, passage.text, ("Ping",)),),
    )
    shown = str(answer_embed(answer).to_dict())
    assert "@everyone" not in shown
    assert "<@123456789012345678>" not in shown and "<@&123456789012345678>" not in shown


def test_answer_embed_has_quote_citation_reference() -> None:
    passage = make_passage("With Menzhinsky gone, control passed to Henrikh Yagoda. More.")
    other = Hit(make_passage("x.", ref="guardians:4.2", paragraph=2), 1.0, "x.")
    answer = make_answer(passage, "control passed to Henrikh Yagoda.", ["Yagoda"], others=(other,))
    embed = answer_embed(answer)
    assert embed.title == "who was Yagoda?"
    assert embed.description == "> control passed to Henrikh **Yagoda**."
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Citation"] == (
        "From Guardians to Executioners, section 3 “Dzerzhinsky and the Cheka”, paragraph 9"
    )
    assert "`guardians:3.9`" in fields["Reference"] and "/passage" in fields["Reference"]
    assert ref_from_embed(embed) == "guardians:3.9"
    labels = [s.label for s in answer_buttons(answer)]
    assert labels == ["Full passage", "Context", "Other matches"]


def test_quotation_citation_says_whom_it_quotes() -> None:
    passage = make_passage(
        "We must act.",
        quotation=Quotation(speaker="Khrushchev", attribution="Khrushchev Remembers"),
    )
    embed = answer_embed(make_answer(passage, "We must act."))
    citation = next(f.value for f in embed.fields if f.name == "Citation")
    assert "quoting Khrushchev" in citation


def test_long_quote_and_citation_fit_their_limits() -> None:
    passage = make_passage(LONG_SENTENCES, section_title="T" * 3000)
    embed = answer_embed(make_answer(passage, LONG_SENTENCES, ["purge"]))
    assert len(embed.title or "") <= TITLE_LIMIT
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert all(len(f.value) <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert len(embed) <= EMBED_TOTAL_LIMIT
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
    embed = answer_embed(answer)
    assert embed.title == "Not found in the texts"
    assert "not an answer" in embed.description
    names = [f.name for f in embed.fields]
    assert names == ["Closest sections", "Closest passages (not answers)"]
    assert "Section 3 “Dzerzhinsky and the Cheka” — 9 passages" in embed.fields[0].value
    assert ref_from_embed(embed) is None
    assert [s.label for s in answer_buttons(answer)] == ["Open 3.9"]


def test_a_long_passage_is_shown_a_page_at_a_time() -> None:
    passage = make_passage(LONG_SENTENCES)
    embed, count = passage_embed(passage, 1)
    assert count == len(paginate(LONG_SENTENCES)) > 1
    assert f"page 2/{count}" in embed.footer.text
    assert len(embed.description) <= DESCRIPTION_LIMIT


def test_passage_embeds_of_the_seeds_fit(library: Library) -> None:
    for passage in library.passages:
        embed, _ = passage_embed(passage)
        assert len(embed) <= EMBED_TOTAL_LIMIT
        assert len(embed.description) <= DESCRIPTION_LIMIT
        assert ref_from_embed(embed) == passage.ref
        previous, following = library.previous(passage.ref), library.next(passage.ref)
        assert len(context_embed(passage, previous, following)) <= EMBED_TOTAL_LIMIT


def test_search_pages_hold_five_results(library: Library) -> None:
    hits = library.search("Stalin", 25)
    assert len(hits) > 5
    first = search_embed("Stalin", hits, 0)
    assert [n for n in range(1, 8) if f"**{n}.**" in first.description] == [1, 2, 3, 4, 5]
    second = search_embed("Stalin", hits, 1)
    assert second.description.startswith("**6.**")
    assert f"page 2/{search_pages(hits)}" in second.footer.text
    assert len(first.description) <= DESCRIPTION_LIMIT


def test_sources_list_sections_and_counts(library: Library) -> None:
    shown = sources_embeds(library.sources, library.sections())
    assert shown[0].title == "From Guardians to Executioners"
    assert "Dzerzhinsky and the Cheka" in shown[0].description
    assert embed_length(shown) <= EMBED_TOTAL_LIMIT
