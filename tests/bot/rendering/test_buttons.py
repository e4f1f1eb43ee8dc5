"""Buttons as data: custom ids that fit and match their templates, packed references."""

from __future__ import annotations

import re

from bot.rendering.buttons import (
    CONTEXT_TEMPLATE,
    FULL_TEMPLATE,
    NAV_TEMPLATE,
    OFF_TEMPLATE,
    OTHERS_TEMPLATE,
    PAGE_TEMPLATE,
    answer_buttons,
    context_id,
    full_id,
    nav_id,
    off_id,
    others_id,
    pack_refs,
    page_buttons,
    passage_buttons,
    unpack_refs,
)
from bot.rendering.embeds import passage_embed
from bot.rendering.text import BUTTON_LABEL_LIMIT, CUSTOM_ID_LIMIT
from knowledge import Library
from tests.bot.rendering.helpers import LONG_SENTENCES, make_passage


def test_custom_ids_match_templates_and_fit() -> None:
    long_ref = "a-very-long-source-identifier-name:123.456"
    many = [long_ref] * 2 + [f"other:{i}.{i}" for i in range(40)]
    for custom_id, template in [
        (full_id(long_ref, 3), FULL_TEMPLATE),
        (nav_id(long_ref, 1), NAV_TEMPLATE),
        (context_id(long_ref), CONTEXT_TEMPLATE),
        (others_id(many), OTHERS_TEMPLATE),
        (off_id(2), OFF_TEMPLATE),
        *((spec.custom_id, PAGE_TEMPLATE) for spec in page_buttons(10**19, 3, 5)),
    ]:
        assert len(custom_id) <= CUSTOM_ID_LIMIT
        assert re.fullmatch(template, custom_id), custom_id


def test_packed_refs_round_trip() -> None:
    refs = ["guardians:3.1", "guardians:3.3", "other:1.2", "other:1.3", "guardians:7.8"]
    packed = pack_refs(refs)
    assert packed == "guardians:3.1,3.3,other:1.2,1.3,guardians:7.8"
    assert unpack_refs(packed) == refs


def test_every_button_of_real_answers_fits(library: Library) -> None:
    for question in ["who succeeded Dzerzhinsky?", "Kirov assassination", "show trials"]:
        answer = library.answer(question)
        for spec in answer_buttons(answer):
            assert len(spec.custom_id) <= CUSTOM_ID_LIMIT
            assert len(spec.label) <= BUTTON_LABEL_LIMIT


def test_a_long_passage_has_page_buttons() -> None:
    passage = make_passage(LONG_SENTENCES)
    _, count = passage_embed(passage, 1)
    specs = passage_buttons(passage, 1, count, None, None)
    assert [s.kind for s in specs] == ["off", "off", "nav", "nav"]
    assert specs[2].custom_id == nav_id(passage.ref, 0)


def test_search_page_buttons_are_greyed_out_at_the_ends() -> None:
    first = page_buttons(1, 0, 3)
    assert [(s.label, s.disabled) for s in first] == [("◀ Previous", True), ("Next ▶", False)]
    last = page_buttons(1, 2, 3)
    assert [s.disabled for s in last] == [False, True]
