"""Text within Discord's limits: cut at sentences, escaped, bold terms, pages, choices."""

from __future__ import annotations

import pytest

from bot.rendering.text import (
    PASSAGE_PAGE_LIMIT,
    bold_terms,
    choices,
    clean,
    error_text,
    fit,
    paginate,
    render_quote,
    truncate,
)
from tests.bot.rendering.helpers import LONG_SENTENCES

THREE = "First sentence here. Second sentence is longer than that. Third one."

# -- truncation -------------------------------------------------------------------------------


def test_short_text_is_unchanged() -> None:
    assert truncate("One. Two.", 100) == "One. Two."


def test_truncate_ends_at_a_sentence_boundary_with_ellipsis() -> None:
    cut = truncate(THREE, 40)
    assert cut == "First sentence here. …"
    assert len(cut) <= 40


def test_truncate_falls_back_to_a_word_boundary() -> None:
    long = "one enormous sentence without any full stop " * 10
    cut = truncate(long, 50)
    assert len(cut) <= 50 and cut.endswith("…")
    assert not cut[:-1].endswith(" ") and long.startswith(cut[:-1])


def test_truncate_from_end_keeps_the_last_sentences() -> None:
    assert truncate(THREE, 30, from_end=True) == "… Third one."


def test_fit_respects_the_limit_after_escaping() -> None:
    shown = fit("*a* " * 600 + "end.", 100)
    assert len(shown) <= 100
    assert "\\*" in shown


@pytest.mark.parametrize("limit", [50, 1024, 4096])
def test_quote_fits_and_ends_with_ellipsis(limit: int) -> None:
    shown = render_quote(LONG_SENTENCES, ("purge",), limit)
    assert len(shown) <= limit
    assert shown.endswith("…")
    assert shown.startswith("> ")


# -- escaping ---------------------------------------------------------------------------------


def test_markdown_in_sources_is_escaped() -> None:
    shown = clean("The *Third Period* and __the__ `Popular Front` ~~x~~ ||y||\n> q\n# h")
    assert "\\*Third Period\\*" in shown
    assert "\\_\\_the\\_\\_" in shown
    assert "\\`Popular Front\\`" in shown
    assert "\\> q" in shown and "\\# h" in shown


def test_mentions_are_neutralised() -> None:
    shown = clean("hey @everyone and @here, <@123456789012345678> <@&123456789012345678>")
    assert "@everyone" not in shown and "@here" not in shown
    assert "<@123456789012345678>" not in shown and "<@&123456789012345678>" not in shown
    assert "@\u200beveryone" in shown


# -- bold -------------------------------------------------------------------------------------


def test_matched_terms_are_bold_as_whole_words() -> None:
    shown = bold_terms(clean("Yagoda and Yagoda’s men; not Yagodas."), ["Yagoda"])
    assert shown == "**Yagoda** and **Yagoda**’s men; not Yagodas."


def test_bold_never_breaks_escaped_markdown() -> None:
    assert bold_terms(clean("*Stalin* said"), ["Stalin"]) == "\\***Stalin**\\* said"


# -- pages, choices, errors -------------------------------------------------------------------


def test_long_passage_is_paginated_at_sentences() -> None:
    pages = paginate(LONG_SENTENCES)
    assert len(pages) > 1
    assert " ".join(pages) == LONG_SENTENCES
    assert all(len(clean(p)) <= PASSAGE_PAGE_LIMIT for p in pages)
    assert all(p.endswith(".") for p in pages)


def test_choices_are_limited_to_25_of_100_chars() -> None:
    pairs = [(f"guardians:{i}.1", "x" * 300) for i in range(60)]
    pairs.append(("y" * 101, "too long a value"))
    out = choices(pairs)
    assert len(out) == 25
    assert all(len(name) <= 100 and len(value) <= 100 for name, value in out)
    assert out[0][0].endswith("…")


def test_error_text_lists_suggestions() -> None:
    shown = error_text("no passage '3.99'", ("guardians:3.9", "guardians:3.1"))
    assert shown.startswith("No passage")
    assert "`guardians:3.9`" in shown
