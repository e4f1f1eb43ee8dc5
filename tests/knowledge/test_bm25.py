"""knowledge.bm25: rank-bm25's BM25+ scores exactly, from memory or from a mapped folder, and
a cache folder that is unusable is refused with one line, never half-read."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from knowledge.bm25 import FORMAT_VERSION, BM25Index, BM25Params, IndexCacheError
from knowledge.text import terms

REPO = Path(__file__).resolve().parents[2]
PARAMS = BM25Params(k1=1.5, b=0.9, delta=0.5)
# Words with shared 8-byte beginnings, short and non-ASCII ones: the vocabulary's lookup
# narrows by the first 8 UTF-8 bytes, so these are its edge cases.
WORDS = [
    *"constant constantin constantine constantinopl constantinopl_emperor ab a abc".split(),
    *"kyiv kÿiv żółkiewski żółkiew 日本書紀 日本書 tsar tsarina 1917 0".split(),
    *("x" * 40, "x" * 41),
    *(f"w{i}" for i in range(60)),
]
ABSENT = ["constantinople", "abd", "zzz", "żółk", "", "日本"]


def random_corpus(rng: random.Random) -> list[list[str]]:
    """A corpus with skewed frequencies, repeated terms and (sometimes) empty documents."""
    vocabulary = rng.sample(WORDS, rng.randint(1, len(WORDS)))
    skew = [1 / (rank + 1) for rank in range(len(vocabulary))]
    size = rng.choice([1, 2, 3, rng.randint(4, 60)])
    return [
        rng.choices(vocabulary, skew, k=rng.choice([0, 1, rng.randint(2, 40)])) for _ in range(size)
    ]


def random_query(rng: random.Random, corpus: list[list[str]]) -> list[str]:
    held = sorted({t for doc in corpus for t in doc})
    pool = held * 3 + ABSENT + rng.sample(WORDS, 5)
    return rng.choices(pool, k=rng.randint(1, 8))  # repeats = weight, as rank-bm25 sees them


def build(corpus: list[list[str]], tmp_path: Path | None) -> BM25Index:
    folder = None if tmp_path is None else tmp_path / "index"
    return BM25Index.build(iter(corpus), PARAMS, folder=folder)  # one pass: an iterator


@pytest.fixture(params=["in memory", "memory-mapped"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return None if request.param == "in memory" else tmp_path


def test_scores_equal_rank_bm25_on_random_corpora(where: Path | None) -> None:
    rng = random.Random(12)
    for case in range(150):
        corpus = random_corpus(rng)
        if not any(corpus):
            continue  # rank-bm25 divides by an average length of 0 there: see the next test
        index = build(corpus, where and where / str(case))
        reference = BM25Plus(corpus, k1=PARAMS.k1, b=PARAMS.b, delta=PARAMS.delta)
        for _ in range(5):
            query = random_query(rng, corpus)
            expected = reference.get_scores(query)
            np.testing.assert_allclose(index.scores(Counter(query)), expected, rtol=1e-9, atol=0)
            k = rng.randint(0, 2 * len(corpus))
            ids = np.array(rng.choices(range(len(corpus)), k=k), dtype=np.int64)
            np.testing.assert_allclose(
                index.scores(Counter(query), ids), expected[ids], rtol=1e-9, atol=0
            )


def test_an_index_made_from_occurrences_scores_as_rank_bm25(where: Path | None) -> None:
    """The library's index is made from its corpus's token arrays, not lists of terms: the
    same scores, the same arrays as `build` gives."""
    rng = random.Random(21)
    for case in range(60):
        corpus = random_corpus(rng)
        if not any(corpus):
            continue
        vocabulary = sorted({t for doc in corpus for t in doc})
        row = {t: i for i, t in enumerate(vocabulary)}
        occurrences = [(row[t], d) for d, doc in enumerate(corpus) for t in doc]
        rng.shuffle(occurrences)  # in any order
        rows, docs = (np.array(column, dtype=np.int32) for column in zip(*occurrences, strict=True))
        folder = where and where / str(case)
        index = BM25Index.from_occurrences(
            vocabulary, rows, docs, len(corpus), PARAMS, folder=folder
        )
        built = BM25Index.build(corpus, PARAMS)
        for name in ("_indptr", "_doc_ids", "_tf", "_weights"):
            assert np.array_equal(getattr(index, name), getattr(built, name)), name
        reference = BM25Plus(corpus, k1=PARAMS.k1, b=PARAMS.b, delta=PARAMS.delta)
        query = random_query(rng, corpus)
        np.testing.assert_allclose(
            index.scores(Counter(query)), reference.get_scores(query), rtol=1e-9, atol=0
        )
    with pytest.raises(ValueError, match="sorted"):
        BM25Index.from_occurrences(["tsar", "duma"], np.zeros(1), np.zeros(1), 1, PARAMS)


def test_scores_equal_rank_bm25_on_the_seed_paragraphs() -> None:
    # The seed prints one paragraph a line (no blank lines between them).
    paragraphs = [
        line
        for path in sorted((REPO / "seeds").glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    corpus = [terms(p) for p in paragraphs]
    index = BM25Index.build(corpus, PARAMS)
    reference = BM25Plus(corpus, k1=PARAMS.k1, b=PARAMS.b, delta=PARAMS.delta)
    assert index.size == len(corpus) > 40
    rng = random.Random(3)
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.?!])\s+", p)]
    questions = [terms(s) for s in rng.sample(sentences, 60)]
    questions += [[*rng.sample(doc, min(len(doc), 4)), "notaword"] for doc in corpus if doc]
    for query in questions:
        np.testing.assert_allclose(
            index.scores(Counter(query)), reference.get_scores(query), rtol=1e-9, atol=0
        )


def test_fractional_weights_scale_each_terms_score() -> None:
    corpus = random_corpus(random.Random(5))
    index = BM25Index.build(corpus, PARAMS)
    reference = BM25Plus(corpus, k1=PARAMS.k1, b=PARAMS.b, delta=PARAMS.delta)
    weights = {"w1": 0.25, "constant": 2.5, "zzz": 7.0, "w2": 0.0}
    expected = sum(w * reference.get_scores([t]) for t, w in weights.items())
    np.testing.assert_allclose(index.scores(weights), expected, rtol=1e-9, atol=0)


def test_documents_without_terms_score_zero_where_rank_bm25_gives_nan() -> None:
    index = BM25Index.build([[], []], PARAMS)
    assert index.size == 2
    assert index.scores({"tsar": 1.0}).tolist() == [0.0, 0.0]
    assert index.top({"tsar": 1.0}, 5)[0].tolist() == [0, 1]


def test_an_empty_library_answers_nothing(tmp_path: Path) -> None:
    index = BM25Index.build([], PARAMS, folder=tmp_path / "empty")
    assert index.size == 0
    assert index.scores({"tsar": 1.0}).shape == (0,)
    ids, scores = index.top({"tsar": 1.0}, 30)
    assert ids.shape == scores.shape == (0,)
    assert index.term_id("tsar") is None


def test_vocabulary_statistics_equal_rank_bm25s(where: Path | None) -> None:
    rng = random.Random(8)
    corpus = [doc for _ in range(4) for doc in random_corpus(rng)] + [WORDS]
    index = build(corpus, where)
    reference = BM25Plus(corpus, k1=PARAMS.k1, b=PARAMS.b, delta=PARAMS.delta)
    ids = {term: index.term_id(term) for term in WORDS}
    assert sorted(ids.values()) == list(range(len(WORDS)))  # one row per distinct term
    assert [t for t, _ in sorted(ids.items(), key=lambda item: item[1])] == sorted(WORDS)
    for term in WORDS:
        holding = [d for d, doc in enumerate(corpus) if term in doc]
        assert index.doc_freq(term) == len(holding)
        assert index.idf(term) == pytest.approx(reference.idf[term], rel=1e-12)
        assert index.postings(term).tolist() == holding
        docs, counts = index.term_frequencies(term)
        assert docs.tolist() == holding
        assert counts.tolist() == [reference.doc_freqs[d][term] for d in holding]
    for term in ABSENT:
        assert index.term_id(term) is None
        assert index.idf(term) is None
        assert index.doc_freq(term) == 0
        assert index.postings(term).size == 0
        assert [a.size for a in index.term_frequencies(term)] == [0, 0]


def test_top_is_best_first_with_ties_to_the_lower_id(where: Path | None) -> None:
    rng = random.Random(21)
    for case in range(60):
        corpus = random_corpus(rng)
        corpus += [list(doc) for doc in corpus]  # every score at least twice: ties everywhere
        index = build(corpus, where and where / str(case))
        query = Counter(random_query(rng, corpus))
        scores = index.scores(query)
        for k in (0, 1, 2, 5, len(corpus) - 1, len(corpus), len(corpus) + 10):
            ids, best = index.top(query, k)
            expected = sorted(range(len(corpus)), key=lambda d: (-scores[d], d))[:k]
            assert ids.tolist() == expected
            assert best.tolist() == scores[expected].tolist()


def test_top_agrees_with_a_full_sort_on_a_larger_library() -> None:
    """Large enough (against k) that top narrows the documents to candidates first."""
    rng = random.Random(4)
    vocabulary = WORDS[:12]  # few words: many equal scores, ties at every cut
    corpus = [rng.choices(vocabulary, k=rng.randint(0, 6)) for _ in range(5000)]
    index = BM25Index.build(corpus, PARAMS)
    for _ in range(30):
        query = Counter(rng.choices(vocabulary + ABSENT, k=rng.randint(1, 4)))
        scores = index.scores(query)
        ranked = sorted(range(len(corpus)), key=lambda d: (-scores[d], d))
        for k in (1, 2, 7, 30, 200):
            ids, best = index.top(query, k)
            assert ids.tolist() == ranked[:k]
            assert best.tolist() == scores[ranked[:k]].tolist()


def test_bad_input_is_refused() -> None:
    index = BM25Index.build([["tsar", "duma"], ["tsar"]], PARAMS)
    with pytest.raises(ValueError, match="finite"):
        index.scores({"tsar": float("nan")})
    with pytest.raises(IndexError):
        index.scores({"tsar": 1.0}, np.array([0, 2]))
    with pytest.raises(TypeError, match="string"):
        BM25Index.build(["tsar duma"], PARAMS)
    with pytest.raises(ValueError):
        BM25Params(b=1.5)


def test_a_rebuilt_folder_replaces_the_old_one_while_open_readers_keep_theirs(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "cache" / "index"
    old = BM25Index.build([["tsar"], ["duma", "tsar"]], PARAMS, folder=folder)
    old_scores = old.scores({"duma": 1.0})
    new = BM25Index.build([["duma"], ["duma"], ["soviet"]], PARAMS, folder=folder)
    assert new.size == 3 and BM25Index.open(folder).size == 3
    assert old.scores({"duma": 1.0}).tolist() == old_scores.tolist()  # its mapping is intact
    assert [p.name for p in folder.parent.iterdir()] == ["index"]  # no staging left behind
    assert BM25Index.open(folder).params == PARAMS


def _damage_missing_meta(folder: Path) -> None:
    (folder / "meta.json").unlink()


def _damage_missing_array(folder: Path) -> None:
    (folder / "weights.npy").unlink()


def _damage_truncated_array(folder: Path) -> None:
    path = folder / "doc_ids.npy"
    path.write_bytes(path.read_bytes()[:-12])


def _damage_truncated_meta(folder: Path) -> None:
    path = folder / "meta.json"
    path.write_bytes(path.read_bytes()[:20])


def _damage_other_version(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta["version"] = FORMAT_VERSION + 1
    (folder / "meta.json").write_text(json.dumps(meta))


def _damage_foreign_meta(folder: Path) -> None:
    (folder / "meta.json").write_text('["not", "an", "index"]')


def _damage_counts_disagree(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta["postings"] += 1
    (folder / "meta.json").write_text(json.dumps(meta))


def _damage_wrong_dtype(folder: Path) -> None:
    weights = np.load(folder / "weights.npy")
    np.save(folder / "weights.npy", weights.astype(np.float32))


def _damage_inconsistent_pointers(folder: Path) -> None:
    indptr = np.load(folder / "indptr.npy")
    indptr[-1] -= 1
    np.save(folder / "indptr.npy", indptr)


def _damage_pickled_array(folder: Path) -> None:
    np.save(folder / "tf.npy", np.array([object()] * 3), allow_pickle=True)


def _damage_not_npy(folder: Path) -> None:
    (folder / "vocabulary.npy").write_text("hello")


DAMAGES = [
    _damage_missing_meta,
    _damage_missing_array,
    _damage_truncated_array,
    _damage_truncated_meta,
    _damage_other_version,
    _damage_foreign_meta,
    _damage_counts_disagree,
    _damage_wrong_dtype,
    _damage_inconsistent_pointers,
    _damage_pickled_array,
    _damage_not_npy,
]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__.removeprefix("_damage_"))
def test_an_unusable_cache_folder_is_refused_in_one_line(damage, tmp_path: Path) -> None:
    folder = tmp_path / "index"
    corpus = [["tsar", "duma", "tsar"], ["soviet"], [], ["duma", "kyiv"]]
    BM25Index.build(corpus, PARAMS, folder=folder)
    damage(folder)
    with pytest.raises(IndexCacheError) as raised:
        BM25Index.open(folder)
    message = str(raised.value)
    assert "\n" not in message and str(folder) in message


def test_a_missing_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(IndexCacheError, match="nowhere"):
        BM25Index.open(tmp_path / "nowhere")
