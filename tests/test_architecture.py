"""The shape of the code, checked from its import graph (grimp): no import circles, layers
that only import downwards, features that do not import each other, modules that fit in a
head, and a knowledge library that never imports discord."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 500


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports made only for type checking count too: a circle through them is still one.
    return grimp.build_graph("bot", "knowledge", include_external_packages=True, cache_dir=None)


def circles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The import circles among `package`'s modules (strongly connected components of more
    than one module), by Tarjan's algorithm."""
    modules = sorted(graph.find_descendants(package) | {package})
    inside = set(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module) & inside):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize(
    "package",
    [
        "bot",
        "knowledge",
    ],
)
def test_no_import_circles(graph: grimp.ImportGraph, package: str) -> None:
    assert circles(graph, package) == []


def test_the_circle_finder_finds_circles() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert circles(graph, "pkg") == [["pkg.a", "pkg.b"]]


def test_the_bot_imports_only_downwards(graph: grimp.ImportGraph) -> None:
    """From the command line down to the settings; `bot.bot` (the client) never imports the
    extensions or the UI built on it, so a command's path never returns to it; what stops
    and watches the bot sits above it, where interactions come in and are answered below."""
    layers = [
        "cli",
        "startup",
        grimp.Layer("shutdown", "health", independent=True),
        "exts",
        "ui",
        "bot",
        "intake",
        "replies",
        grimp.Layer("checks", "searching", "storage", "datadir", independent=True),
        grimp.Layer("inputs", "worker", independent=True),
        "libraries",
        "uploads",
        "rendering",
        "settings",
    ]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"bot"})
    assert [f"{d.importer} -> {d.imported}" for d in illegal] == []


def test_no_extension_imports_another(graph: grimp.ImportGraph) -> None:
    def extension(module: str) -> str:
        return ".".join(module.split(".")[:3])  # bot.exts.<name>

    crossing = [
        f"{module} -> {imported}"
        for module in sorted(graph.find_descendants("bot.exts"))
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("bot.exts.") and extension(imported) != extension(module)
    ]
    assert crossing == []


def test_knowledge_never_imports_discord(graph: grimp.ImportGraph) -> None:
    assert not graph.chain_exists(importer="knowledge", imported="discord", as_packages=True)


def test_modules_fit_in_a_head() -> None:
    too_long = {
        str(path.relative_to(REPO)): lines
        for folder in ("bot", "knowledge")
        for path in sorted((REPO / folder).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_search_workers_start_without_discord(graph: grimp.ImportGraph) -> None:
    """A worker process imports `bot.worker` (and so `bot`) only: it loads no Discord code."""
    for module in ("bot", "bot.worker"):
        assert not graph.chain_exists(importer=module, imported="discord"), module
