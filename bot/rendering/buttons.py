"""Buttons as data: the custom-id formats, and the buttons under answers and passages.

A button's custom_id carries everything a click needs (a passage reference, a page), so
buttons hold no state and keep working after a restart. A `ButtonSpec` names the kind of
button; the extension that handles that kind turns it into a component (`bot.ui.make_view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.rendering.text import CUSTOM_ID_LIMIT
from knowledge import Answer, Hit, Passage

REF_PATTERN = r"[a-z0-9][a-z0-9_-]*:\d+\.\d+"
"""A canonical passage reference, as the library writes it ("guardians:3.2")."""

FULL_TEMPLATE = rf"histbot:full:(?P<ref>{REF_PATTERN}):(?P<page>\d+)"
"""Open a passage (page) in a new private message."""
NAV_TEMPLATE = rf"histbot:nav:(?P<ref>{REF_PATTERN}):(?P<page>\d+)"
"""Show a passage (page) in place of the current message (or privately for onlookers)."""
CONTEXT_TEMPLATE = rf"histbot:ctx:(?P<ref>{REF_PATTERN})"
"""Show the paragraphs before and after a passage."""
OTHERS_TEMPLATE = r"histbot:others:(?P<refs>[a-z0-9_:.,-]+)"
"""Show an answer's other matches; refs are packed by `pack_refs`."""
PAGE_TEMPLATE = r"histbot:page:(?P<owner>\d+):(?P<page>\d+):(?P<slot>prev|next)"
"""Turn a /search message to another page (only its invoker may)."""
OFF_TEMPLATE = r"histbot:off:(?P<slot>\d+)"
"""A disabled placeholder button (nothing to go to)."""


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button to show: `kind` names the component class that handles `custom_id`."""

    kind: str
    label: str
    custom_id: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary
    disabled: bool = False
    row: int | None = None


def short(ref: str) -> str:
    """ "guardians:3.2" -> "3.2" (for button labels)."""
    return ref.split(":", 1)[-1]


def full_id(ref: str, page: int = 0) -> str:
    return f"histbot:full:{ref}:{page}"


def nav_id(ref: str, page: int = 0) -> str:
    return f"histbot:nav:{ref}:{page}"


def context_id(ref: str) -> str:
    return f"histbot:ctx:{ref}"


def off_id(slot: int) -> str:
    return f"histbot:off:{slot}"


def page_id(owner_id: int, page: int, slot: str) -> str:
    return f"histbot:page:{owner_id}:{page}:{slot}"


def pack_refs(refs: Sequence[str], limit: int = CUSTOM_ID_LIMIT - len("histbot:others:")) -> str:
    """Refs packed into as few characters as possible, as many as fit in `limit`.

    "guardians:3.1,3.3,other:1.2": a ref without a source has the previous ref's source.
    """
    packed = ""
    source = None
    for ref in refs:
        src, local = ref.split(":", 1)
        piece = local if src == source else ref
        candidate = f"{packed},{piece}" if packed else piece
        if len(candidate) > limit:
            break
        packed, source = candidate, src
    return packed


def unpack_refs(packed: str) -> list[str]:
    refs: list[str] = []
    source = ""
    for piece in filter(None, packed.split(",")):
        if ":" in piece:
            source = piece.split(":", 1)[0]
            refs.append(piece)
        elif source:
            refs.append(f"{source}:{piece}")
    return refs


def others_id(refs: Sequence[str]) -> str:
    return f"histbot:others:{pack_refs(refs)}"


def answer_buttons(answer: Answer) -> list[ButtonSpec]:
    """Under an answer: the full passage, its context and the other matches; under "not
    found", the closest passages to open."""
    best = answer.best
    if best is None:
        return [
            ButtonSpec("full", f"Open {short(hit.ref)}", full_id(hit.ref))
            for hit in unique_hits(answer.hits)[:3]
        ]
    specs = [
        ButtonSpec("full", "Full passage", full_id(best.ref), discord.ButtonStyle.primary),
        ButtonSpec("context", "Context", context_id(best.ref)),
    ]
    if answer.alternatives:
        refs = [h.ref for h in unique_hits(answer.alternatives) if h.ref != best.ref]
        if refs:
            specs.append(ButtonSpec("others", "Other matches", others_id(refs)))
    return specs


def unique_hits(hits: Sequence[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.ref not in seen:
            seen.add(hit.ref)
            out.append(hit)
    return out


def passage_buttons(
    passage: Passage,
    page: int,
    pages: int,
    previous: Passage | None,
    following: Passage | None,
) -> list[ButtonSpec]:
    """Previous/next paragraph, and previous/next page for a passage longer than one embed."""
    specs = [
        ButtonSpec("nav", f"◀ {short(previous.ref)}", nav_id(previous.ref))
        if previous
        else ButtonSpec("off", "◀ Previous", off_id(1), disabled=True),
        ButtonSpec("nav", f"{short(following.ref)} ▶", nav_id(following.ref))
        if following
        else ButtonSpec("off", "Next ▶", off_id(2), disabled=True),
    ]
    if pages > 1:
        specs += [
            ButtonSpec("nav", "◀ Page", nav_id(passage.ref, page - 1), row=1)
            if page > 0
            else ButtonSpec("off", "◀ Page", off_id(3), disabled=True, row=1),
            ButtonSpec("nav", "Page ▶", nav_id(passage.ref, page + 1), row=1)
            if page + 1 < pages
            else ButtonSpec("off", "Page ▶", off_id(4), disabled=True, row=1),
        ]
    return specs


def context_buttons(
    passage: Passage, previous: Passage | None, following: Passage | None
) -> list[ButtonSpec]:
    specs = []
    if previous is not None:
        specs.append(ButtonSpec("nav", f"Open {short(previous.ref)}", nav_id(previous.ref)))
    specs.append(ButtonSpec("nav", f"Open {short(passage.ref)}", nav_id(passage.ref)))
    if following is not None:
        specs.append(ButtonSpec("nav", f"Open {short(following.ref)}", nav_id(following.ref)))
    return specs


def page_buttons(owner_id: int, page: int, pages: int) -> list[ButtonSpec]:
    """Previous/Next of a /search message (only `owner_id` may turn its pages)."""
    return [
        ButtonSpec(
            "page", "◀ Previous", page_id(owner_id, max(page - 1, 0), "prev"), disabled=page <= 0
        ),
        ButtonSpec(
            "page",
            "Next ▶",
            page_id(owner_id, min(page + 1, pages - 1), "next"),
            disabled=page >= pages - 1,
        ),
    ]
