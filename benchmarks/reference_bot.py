"""The reference bot `benchmarks/load.py` measures histbot against: the smallest /ask bot.

It registers /ask, defers the interaction, scores the question with plain
``rank_bm25.BM25Okapi`` over the paragraphs of the texts (lower-cased ``str.split()``
tokens) in a thread, and sends the best paragraph as the follow-up. Nothing else: no
answer selection or refusal, no citation, no storage, no worker processes.

    python benchmarks/reference_bot.py     # configured by the environment, as load.py does

``DISCORD_TOKEN``; ``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL`` (where discord.py's REST
routes and gateway go, e.g. the stand-in's); ``REFERENCE_GUILD_ID`` (the guild /ask is
synced to); ``REFERENCE_SOURCES_DIR`` (the folder of ``*.txt`` texts, default ``seeds/``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path

import discord
import discord.gateway
import discord.http
import yarl
from discord import app_commands
from rank_bm25 import BM25Okapi

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
MESSAGE_LIMIT = 2000  # Discord's limit on a message's content
BLANK_LINE = re.compile(r"\n\s*\n")


def read_paragraphs(folder: Path) -> list[str]:
    """Paragraphs split on blank lines; a text with no blank lines has one paragraph a line."""
    paragraphs: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        blocks = BLANK_LINE.split(text) if BLANK_LINE.search(text) else text.splitlines()
        paragraphs += [" ".join(block.split()) for block in blocks if block.strip()]
    if not paragraphs:
        raise SystemExit(f"no paragraphs in {folder}/*.txt")
    return paragraphs


class ReferenceBot(discord.Client):
    def __init__(self, paragraphs: list[str], guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default())
        self.paragraphs = paragraphs
        self.index = BM25Okapi([p.lower().split() for p in paragraphs])
        self.guild = discord.Object(guild_id)
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ask", description="Ask a question about the texts")
        @app_commands.describe(question="What you want to know")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            best = await asyncio.to_thread(self.best_paragraph, question)
            await interaction.followup.send(best[:MESSAGE_LIMIT])

    async def setup_hook(self) -> None:
        self.tree.copy_global_to(guild=self.guild)
        await self.tree.sync(guild=self.guild)

    def best_paragraph(self, question: str) -> str:
        scores = self.index.get_scores(question.lower().split())
        return self.paragraphs[int(scores.argmax())]


def main() -> None:
    discord.http.Route.BASE = os.environ.get("DISCORD_API_BASE", discord.http.Route.BASE)
    if gateway := os.environ.get("DISCORD_GATEWAY_URL"):
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    sources = Path(os.environ.get("REFERENCE_SOURCES_DIR") or SEEDS)
    bot = ReferenceBot(read_paragraphs(sources), int(os.environ["REFERENCE_GUILD_ID"]))
    bot.run(os.environ["DISCORD_TOKEN"], log_level=logging.WARNING)


if __name__ == "__main__":
    main()
