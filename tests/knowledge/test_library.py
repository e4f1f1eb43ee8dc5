"""The library as a user meets it: answers with quotes, honest abstentions, references, cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import Library, QueryError, SourceError, UnknownReference
from knowledge.sources import read_manifest, read_text
from knowledge.text import split_sentences
from tests.conftest import SEEDS, write_sources

# -- answers on real questions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "ref", "in_quote"),
    [
        ("Who was the first head of the Cheka?", "guardians:3.1", "Felix Dzerzhinsky"),
        ("Who infiltrated Trotsky's compound in Mexico?", "guardians:5.1", "Ramon Mercader"),
        ("When was Andres Nin kidnapped?", "guardians:5.8", "May 1937"),
        ("When did Menzhinsky die?", "guardians:3.8", "1934"),
        ("who was andres nin", "guardians:5.8", "POUM"),
        (
            "what did Khrushchev say Beria did when Stalin lost consciousness",
            "guardians:6.4",
            "spat",
        ),
        (
            "Who spoke of worms crawling out of the upturned soil of the revolution?",
            "guardians:7.3",
            "As Trotsky remarked",  # a quotation's quote says who speaks
        ),
    ],
)
def test_answers_quote_the_sentence_that_answers(
    library: Library, question: str, ref: str, in_quote: str
) -> None:
    answer = library.answer(question)
    assert answer.answered, answer.reason
    assert answer.best is not None
    assert answer.best.ref == ref
    assert in_quote in answer.best.quote
    # The quote is the sentences that answer, in the text's own words, not a wall of text:
    # at most two of the passage's sentences (a quotation adds its introduction).
    passage_sentences = split_sentences(answer.best.passage.text.replace("\n", " "))
    shown = [s for s in passage_sentences if s in answer.best.quote]
    assert 1 <= len(shown) <= 2


def test_quote_of_a_quotation_says_who_speaks(library: Library) -> None:
    answer = library.answer("who said 'their voices were lost in the tundra'")
    best = answer.best
    assert best is not None and best.ref == "guardians:7.7"
    assert "Leopold Trepper" in best.quote and "lost in the tundra" in best.quote
    assert "quoting Leopold Trepper" in best.citation


def test_misspelt_names_are_found(library: Library) -> None:
    for typed, expected in (
        ("dzerzinsky", "Dzerzhinsky"),
        ("yezov", "Yezhov"),
        ("menzinsky", "Menzhinsky"),
    ):
        answer = library.answer(f"who was {typed}")
        assert answer.hits, typed
        assert expected in answer.hits[0].passage.text


def test_alternatives_follow_the_best_passage(library: Library) -> None:
    answer = library.answer("What happened to Trotsky's son?")
    assert answer.answered
    assert 1 <= len(answer.alternatives) <= 4
    assert len({h.ref for h in answer.hits}) == len(answer.hits)
    assert [h.score for h in answer.hits[1:]] == sorted(
        (h.score for h in answer.hits[1:]), reverse=True
    )


@pytest.mark.parametrize(
    "question",
    [
        "How tall was Stalin?",
        "When was the Warsaw Pact signed?",
        "Who won the football world cup?",
        "Who won the 2018 World Cup?",  # "world" is in the text, the cup is not
        "What is the capital of France?",  # France is in the text, its capital is not
        "Who founded the Gestapo?",  # the Gestapo is in the text; who founded it is not
    ],
)
def test_questions_the_texts_do_not_answer_are_declined(library: Library, question: str) -> None:
    answer = library.answer(question)
    assert not answer.answered
    assert answer.best is None
    assert answer.reason


def test_abstention_still_offers_the_closest_sections(library: Library) -> None:
    answer = library.answer("How tall was Stalin?")
    assert answer.closest_sections
    assert all(s.first_ref.startswith("guardians:") for s in answer.closest_sections)


def test_follow_up_uses_the_earlier_answer_as_context(library: Library) -> None:
    earlier = library.answer("Who was Yagoda?").best
    assert earlier is not None
    # The earlier answer as its reader saw it: the question and the quote.
    context = f"Who was Yagoda? {earlier.quote}"
    follow_up = library.answer("what happened to him in the end?", context=context)
    assert follow_up.hits
    assert "Yagoda" in follow_up.hits[0].passage.text


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 20_000, "too long"),
        ("the of and to", "common words"),
        ("🙂🙂🙂", "no words"),
    ],
)
def test_bad_questions_get_a_clear_error(library: Library, question: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        library.answer(question)


def test_another_script_is_searched_not_crashed_on(library: Library) -> None:
    answer = library.answer("Кто такой Берия?")
    assert not answer.answered


def test_markdown_and_mentions_in_questions_are_just_words(library: Library) -> None:
    answer = library.answer("@everyone **who** was <@123> `Yezhov`?")
    assert answer.hits and "Yezhov" in answer.hits[0].passage.text


# -- references -------------------------------------------------------------------------


def test_references_are_typable_with_or_without_source(library: Library) -> None:
    assert library.passage("guardians:3.1") == library.passage("3.1")
    assert library.passage(" GUARDIANS : 3.1 ").ref == "guardians:3.1"
    assert library.next("guardians:3.1").ref == "guardians:3.2"
    assert library.previous("guardians:3.1").ref == "guardians:2.6"
    around = library.neighbours("guardians:3.2", 1, 1)
    assert [p.ref for p in around] == ["guardians:3.1", "guardians:3.2", "guardians:3.3"]


@pytest.mark.parametrize("ref", ["99.1", "guardians:3.99", "nosuch:1.1", "abc", "", "3"])
def test_unknown_references_are_reported(library: Library, ref: str) -> None:
    with pytest.raises(UnknownReference):
        library.passage(ref)


def test_unknown_reference_suggests_close_ones(library: Library) -> None:
    with pytest.raises(UnknownReference) as caught:
        library.passage("guardians:3.99")
    assert caught.value.suggestions


def test_autocomplete_offers_refs_and_section_titles(library: Library) -> None:
    by_prefix = library.complete("3.")
    assert by_prefix and all(ref.startswith("guardians:3.") for ref, _ in by_prefix)
    by_title = library.complete("jewish doctors")
    assert by_title[0][0] == "guardians:6.1"
    assert len(library.complete("")) == 25
    assert all(len(label) <= 100 for _, label in library.complete(""))


def test_sections_by_number_or_title(library: Library) -> None:
    assert library.find_section("guardians", "3").title == "Dzerzhinsky and the Cheka"
    assert library.find_section("guardians", "kirov assassination").number == 4
    with pytest.raises(UnknownReference):
        library.find_section("guardians", "Napoleon in Egypt")


# -- more texts, cache, broken sources ----------------------------------------------------

SECOND = """\
    The Fall of the Bastille
    Morning
    On 14 July 1789 a crowd gathered before the fortress. The governor, Bernard-René de Launay, refused to hand over the powder.
    Afternoon
    After hours of fighting, de Launay surrendered. He was killed by the crowd on his way to the Hôtel de Ville.
"""


def test_a_second_text_needs_only_a_file_and_a_manifest_entry(
    tmp_path: Path, index_cache: Path
) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "guardians.txt").write_bytes(
        (SEEDS / "from-guardians-to-executioners.txt").read_bytes()
    )
    write_sources(folder, {"bastille": ("The Fall of the Bastille", SECOND)})
    manifest = (SEEDS / "sources.toml").read_text() + "\n" + (folder / "sources.toml").read_text()
    (folder / "sources.toml").write_text(
        manifest.replace("from-guardians-to-executioners.txt", "guardians.txt"), encoding="utf-8"
    )
    # The run's vectors folder: the shipped text's sentence vectors are reused, by text.
    library = Library.load(
        folder, cache_dir=tmp_path / "cache", vectors_dir=index_cache / "vectors"
    )
    assert [s.id for s in library.sources] == ["guardians", "bastille"]
    answer = library.answer("Who refused to hand over the powder?")
    assert answer.best is not None and answer.best.ref == "bastille:1.1"
    assert "Launay" in answer.best.quote
    assert answer.best.citation == "The Fall of the Bastille, section 1 “Morning”, paragraph 1"
    # Refs that exist in both texts need the source; the error says which.
    with pytest.raises(UnknownReference, match="several sources"):
        library.passage("1.1")


def test_index_is_cached_and_rebuilt_when_a_text_changes(tmp_path: Path) -> None:
    folder = write_sources(tmp_path / "seeds", {"bastille": ("The Fall of the Bastille", SECOND)})
    cache = tmp_path / "cache"
    Library.load(folder, cache_dir=cache)
    indexes = list(cache.glob("index-*"))
    assert len(indexes) == 1
    again = Library.load(folder, cache_dir=cache)
    assert list(cache.glob("index-*")) == indexes
    assert again.index.folder == indexes[0]  # opened, not rebuilt
    assert again.answer("Who refused to hand over the powder?").answered

    text = folder / "bastille.txt"
    text.write_text(text.read_text() + "Evening\nThe prisoners, seven in all, were freed.\n")
    changed = Library.load(folder, cache_dir=cache)
    assert changed.passage("bastille:3.1").text.startswith("The prisoners")
    assert len(list(cache.glob("index-*"))) == 1 and list(cache.glob("index-*")) != indexes


def test_a_warm_start_only_hashes_the_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the index cached, loading reads no text into memory (a library of books would
    be hundreds of megabytes in every worker); a changed text is still noticed."""
    import knowledge.library as module

    folder = write_sources(tmp_path / "seeds", {"bastille": ("The Fall of the Bastille", SECOND)})
    cache = tmp_path / "cache"
    Library.load(folder, cache_dir=cache)
    texts = [(source, read_text(source)) for source in read_manifest(folder)]
    assert Library.is_cached(texts, cache)  # a text's file and the text give one key
    with monkeypatch.context() as patch:
        patch.setattr(module, "read_text", lambda source: pytest.fail(f"read {source.file}"))
        warm = Library.load(folder, cache_dir=cache)
    assert warm.answer("Who refused to hand over the powder?").answered
    text = folder / "bastille.txt"
    text.write_text(text.read_text() + "Evening\nThe prisoners, seven in all, were freed.\n")
    assert Library.load(folder, cache_dir=cache).passage("bastille:3.1").text.startswith("The")


def test_corrupt_cache_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    folder = write_sources(tmp_path / "seeds", {"bastille": ("The Fall of the Bastille", SECOND)})
    cache = tmp_path / "cache"
    Library.load(folder, cache_dir=cache)
    for file in cache.glob("index-*/*"):
        if file.is_file():
            file.write_bytes(b"damaged")
    library = Library.load(folder, cache_dir=cache)
    assert library.answer("Who refused to hand over the powder?").answered


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no-folder", "sources folder not found"),
        ("no-manifest", "no sources.toml"),
        ("bad-toml", "cannot read"),
        ("missing-text", "not found"),
        ("binary-text", "not UTF-8"),
        ("empty-text", "empty"),
        ("no-title", "required"),
    ],
)
def test_broken_sources_fail_loudly_with_one_line(
    tmp_path: Path, breakage: str, message: str
) -> None:
    folder = write_sources(tmp_path / "seeds", {"bastille": ("The Fall of the Bastille", SECOND)})
    if breakage == "no-folder":
        folder = tmp_path / "nowhere"
    elif breakage == "no-manifest":
        (folder / "sources.toml").unlink()
    elif breakage == "bad-toml":
        (folder / "sources.toml").write_text("[[sources]\nid=", encoding="utf-8")
    elif breakage == "missing-text":
        (folder / "bastille.txt").unlink()
    elif breakage == "binary-text":
        (folder / "bastille.txt").write_bytes(b"\xff\xfe\x00\x01 broken")
    elif breakage == "empty-text":
        (folder / "bastille.txt").write_text("  \n", encoding="utf-8")
    elif breakage == "no-title":
        (folder / "sources.toml").write_text('[[sources]]\nid = "x"\nfile = "bastille.txt"\n')
    with pytest.raises(SourceError, match=message) as caught:
        Library.load(folder)
    assert "\n" not in str(caught.value)
