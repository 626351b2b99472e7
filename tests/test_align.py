"""Alignment: row i is the vector of vocabulary word i; reserved, missing and cased rows follow the rules."""

import hashlib

import numpy as np
import pytest

from components.artifacts.embedding_matrix import vocabulary_fingerprint
from components.artifacts.transform_graph import read_token_counts
from components.embeddings import align as align_module
from components.embeddings.align import AlignmentError, Coverage, align
from components.embeddings.options import EmbeddingOptions
from components.embeddings.vector_files import iter_vectors
from components.options import OptionsError
from schemas import features
from tests.conftest import shared_data_file

RESERVED = list(features.RESERVED_TOKENS)
VOCABULARY = [*RESERVED, "the", "movie", "good", "boring", "paris", "meh"]
ROW = {word: row for row, word in enumerate(VOCABULARY)}


def _v(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


FILE = [
    ("the", _v(1, 2)),
    ("unrelated", _v(50, 50)),
    ("Movie", _v(3, 4)),
    ("good", _v(5, 6)),
    ("PARIS", _v(7, 8)),
    ("Paris", _v(9, 10)),
    ("<unk>", _v(99, 99)),
]
COUNTS = {"the": 10, "movie": 5, "good": 3, "boring": 2, "paris": 1, "meh": 4}


def _align(vectors=FILE, token_counts=None, vocabulary=VOCABULARY, **options):
    return align(vocabulary, iter(vectors), EmbeddingOptions(**options), token_counts)


def test_rows_are_the_vectors_of_their_vocabulary_words():
    matrix, coverage = _align(oov_init="zeros")
    assert matrix.dtype == np.float32
    assert matrix.shape == (len(VOCABULARY), 2)
    np.testing.assert_array_equal(matrix[ROW["the"]], _v(1, 2))
    np.testing.assert_array_equal(matrix[ROW["movie"]], _v(3, 4))  # via "Movie"
    np.testing.assert_array_equal(matrix[ROW["good"]], _v(5, 6))
    np.testing.assert_array_equal(matrix[ROW["paris"]], _v(7, 8))  # first case variant wins
    assert coverage.dimension == 2


def test_pad_is_zeros_and_reserved_tokens_never_take_file_vectors():
    for rule in ("zeros", "mean", "random"):
        matrix, _ = _align(oov_init=rule, unk_init=rule)
        np.testing.assert_array_equal(matrix[features.PAD_ID], _v(0, 0))
        assert not np.array_equal(matrix[features.UNK_ID], _v(99, 99))


def test_unk_row_rules():
    found_mean = np.mean([_v(1, 2), _v(3, 4), _v(5, 6), _v(7, 8)], axis=0)
    zeros, _ = _align(unk_init="zeros")
    mean, _ = _align(unk_init="mean")
    np.testing.assert_array_equal(zeros[features.UNK_ID], _v(0, 0))
    np.testing.assert_array_equal(mean[features.UNK_ID], _v(4, 5))
    np.testing.assert_array_equal(found_mean, _v(4, 5))
    random_a, _ = _align(unk_init="random", oov_init="zeros", seed=7)
    random_b, _ = _align(unk_init="random", oov_init="zeros", seed=7)
    np.testing.assert_array_equal(random_a, random_b)
    assert not np.array_equal(random_a[features.UNK_ID], _v(0, 0))


def test_missing_words_zeros_and_mean():
    zeros, _ = _align(oov_init="zeros")
    mean, _ = _align(oov_init="mean")
    for word in ("boring", "meh"):
        np.testing.assert_array_equal(zeros[ROW[word]], _v(0, 0))
        np.testing.assert_array_equal(mean[ROW[word]], _v(4, 5))


def test_missing_words_random_is_seeded_with_the_spread_of_found_vectors():
    words = [f"w{i}" for i in range(4_000)]
    vocabulary = [*RESERVED, *words]
    # 2,000 found vectors: per dimension mean (10, -4), std exactly (3, 0.5).
    found = [
        (word, _v(10 + 3 * sign, -4 + 0.5 * sign))
        for word, sign in zip(words[:2_000], [1, -1] * 1_000, strict=True)
    ]
    first, coverage = align(vocabulary, iter(found), EmbeddingOptions(oov_init="random", seed=1))
    again, _ = align(vocabulary, iter(found), EmbeddingOptions(oov_init="random", seed=1))
    other_seed, _ = align(vocabulary, iter(found), EmbeddingOptions(oov_init="random", seed=2))

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other_seed)
    assert coverage.missing == 2_000
    random_rows = first[vocabulary.index(words[2_000]) :]
    np.testing.assert_allclose(random_rows.std(axis=0), [3.0, 0.5], rtol=0.06)
    np.testing.assert_allclose(random_rows.mean(axis=0), [0.0, 0.0], atol=0.2)
    np.testing.assert_array_equal(first[vocabulary.index("w0")], _v(13, -3.5))
    np.testing.assert_array_equal(first[vocabulary.index("w1")], _v(7, -4.5))


@pytest.mark.parametrize("found", [[("w0", _v(0.3, -0.2))], [("w0", _v(0.3, -0.2)), ("w1", _v(0.3, -0.2))]])
def test_random_rows_from_one_distinct_vector_take_the_fallback_spread(found):
    """One distinct vector has no spread: random rows are drawn with FALLBACK_SPREAD, never all zeros."""
    vocabulary = [*RESERVED, "w0", "w1", "w2", "w3"]
    matrix, _ = align(vocabulary, iter(found), EmbeddingOptions(oov_init="random", seed=5))
    missing = list(range(len(RESERVED) + len(found), len(vocabulary)))
    expected = np.random.default_rng(5).standard_normal((len(missing), 2)) * align_module.FALLBACK_SPREAD
    np.testing.assert_array_equal(matrix[missing], expected.astype(np.float32))
    assert align_module.FALLBACK_SPREAD == 0.05


def test_a_dimension_the_found_vectors_share_takes_the_fallback_spread_the_others_their_own():
    # Per dimension std (1, 0): the second dimension, the same in both vectors, falls back.
    vocabulary = [*RESERVED, "w0", "w1", "w2"]
    found = [("w0", _v(1, 7)), ("w1", _v(-1, 7))]
    matrix, _ = align(vocabulary, iter(found), EmbeddingOptions(oov_init="random", seed=9))
    expected = np.random.default_rng(9).standard_normal((1, 2)) * [1.0, align_module.FALLBACK_SPREAD]
    np.testing.assert_array_equal(matrix[[vocabulary.index("w2")]], expected.astype(np.float32))


def test_without_pretrained_every_word_row_is_the_seeded_random_init():
    matrix, coverage = _align(pretrained=False, unk_init="mean", seed=3)
    # Every word row, found or missing, is drawn as oov_init random draws missing rows: standard
    # normal from the seed, in row order, times the per-dimension spread of the found vectors
    # (1, 3, 5, 7 and 2, 4, 6, 8: sqrt(5) each).
    words = [ROW[word] for word in VOCABULARY if word not in RESERVED]
    expected = np.random.default_rng(3).standard_normal((len(words), 2)) * np.sqrt(5.0)
    np.testing.assert_array_equal(matrix[words], expected.astype(np.float32))
    np.testing.assert_array_equal(matrix[features.PAD_ID], _v(0, 0))
    # <unk> follows unk_init, from the file's vectors, not the random rows.
    np.testing.assert_array_equal(matrix[features.UNK_ID], _v(4, 5))
    # The coverage is still the file's: what the vectors would have given.
    assert (coverage.exact, coverage.lowercase, coverage.missing) == (2, 2, 2)


def test_lowercase_fallback_can_be_switched_off():
    matrix, coverage = _align(oov_init="zeros", lowercase_fallback=False)
    np.testing.assert_array_equal(matrix[ROW["movie"]], _v(0, 0))
    np.testing.assert_array_equal(matrix[ROW["paris"]], _v(0, 0))
    assert (coverage.exact, coverage.lowercase, coverage.missing) == (2, 0, 4)


@pytest.mark.parametrize(
    "order",
    [
        [("Paris", _v(9, 10)), ("paris", _v(1, 1)), ("PARIS", _v(7, 8))],
        [("paris", _v(1, 1)), ("Paris", _v(9, 10)), ("PARIS", _v(7, 8))],
        [("PARIS", _v(7, 8)), ("Paris", _v(9, 10)), ("paris", _v(1, 1))],
    ],
)
def test_exact_match_wins_over_lowercase_whatever_the_file_order(order):
    vocabulary = [*RESERVED, "paris"]
    matrix, coverage = _align(vectors=order, vocabulary=vocabulary)
    np.testing.assert_array_equal(matrix[vocabulary.index("paris")], _v(1, 1))
    assert (coverage.exact, coverage.lowercase) == (1, 0)


def test_coverage_counts_and_token_share():
    _, coverage = _align(token_counts=COUNTS)
    assert coverage == Coverage(
        vocabulary_words=6,
        exact=2,
        lowercase=2,
        missing=2,
        token_share=(10 + 5 + 3 + 1) / 25,
        top_missing=(("meh", 4), ("boring", 2)),
        dimension=2,
        vectors_read=7,
        duplicates=0,
    )
    assert coverage.word_share == 4 / 6
    assert coverage.summary() == (
        "coverage: 4 of 6 words (66.7%: 2 exact, 2 lower-cased), 76.0% of token occurrences; "
        "2 missing; 7 vectors read; most frequent missing: meh (4), boring (2)"
    )
    assert coverage.to_dict()["top_missing"] == [{"word": "meh", "count": 4}, {"word": "boring", "count": 2}]
    assert coverage.to_dict()["found"] == 4


def test_coverage_without_counts():
    _, coverage = _align()
    assert (coverage.token_share, coverage.top_missing) == (None, ())
    assert coverage.summary() == (
        "coverage: 4 of 6 words (66.7%: 2 exact, 2 lower-cased); 2 missing; 7 vectors read"
    )


def test_a_repeated_word_keeps_its_first_vector_and_is_counted():
    vectors = [("the", _v(1, 2)), ("movie", _v(3, 4)), ("the", _v(5, 6)), ("The", _v(7, 8))]
    matrix, coverage = _align(vectors=vectors, vocabulary=[*RESERVED, "the", "movie"], oov_init="zeros")
    np.testing.assert_array_equal(matrix[2], _v(1, 2))
    np.testing.assert_array_equal(matrix[3], _v(3, 4))
    assert (coverage.exact, coverage.lowercase, coverage.vectors_read, coverage.duplicates) == (2, 0, 4, 1)
    assert "4 vectors read (1 repeat of vocabulary words ignored)" in coverage.summary()


def test_fallback_normalises_file_words_as_the_transform_normalises_text():
    vocabulary = [*RESERVED, "'s", "café", "hello", "do", "n't", "the"]
    vectors = [
        ("\u2019s", _v(1, 1)),  # typographic apostrophe, made ASCII by the Transform
        ("CAFÉ", _v(2, 2)),  # non-ASCII upper case
        ("'Hello'", _v(3, 3)),  # quotes around a word are dropped
        ("Don't", _v(4, 4)),  # two Transform tokens: matches neither "do" nor "n't"
        ("THE", _v(5, 5)),
        ("the", _v(6, 6)),  # exact, after a lower-cased match: wins
    ]
    matrix, coverage = _align(vectors=vectors, vocabulary=vocabulary, oov_init="zeros")
    expected = {"'s": (1, 1), "café": (2, 2), "hello": (3, 3), "do": (0, 0), "n't": (0, 0), "the": (6, 6)}
    for word, values in expected.items():
        np.testing.assert_array_equal(matrix[vocabulary.index(word)], _v(*values), err_msg=word)
    assert (coverage.exact, coverage.lowercase, coverage.missing) == (1, 3, 2)


def test_matching_rules_hold_across_batches(monkeypatch):
    monkeypatch.setattr(align_module, "_BATCH_SIZE", 2)
    vocabulary = [*RESERVED, "paris", "rome"]
    vectors = [
        ("Rome", _v(1, 1)),
        ("x", _v(0, 0)),
        ("ROME", _v(2, 2)),  # a later case variant, in the next batch: the first one stays
        ("PARIS", _v(3, 3)),
        ("y", _v(0, 0)),
        ("paris", _v(4, 4)),  # exact, in a later batch than PARIS: wins
    ]
    matrix, coverage = _align(vectors=vectors, vocabulary=vocabulary)
    np.testing.assert_array_equal(matrix[vocabulary.index("rome")], _v(1, 1))
    np.testing.assert_array_equal(matrix[vocabulary.index("paris")], _v(4, 4))
    assert (coverage.exact, coverage.lowercase, coverage.vectors_read) == (1, 1, 6)


def test_the_normaliser_is_a_parameter():
    calls = []

    def upper_to_lower(words):
        calls.append(list(words))
        return [word.lower() for word in words]

    matrix, _ = align(
        [*RESERVED, "the"], iter([("THE", _v(1, 2))]), EmbeddingOptions(), normalize=upper_to_lower
    )
    np.testing.assert_array_equal(matrix[2], _v(1, 2))
    assert calls == [["THE"]]


def test_summary_lists_the_twenty_most_frequent_missing_words():
    words = [f"w{i:02d}" for i in range(30)]
    counts = {word: 100 - i for i, word in enumerate(words)}
    _, coverage = _align(vectors=[("w00", _v(1, 1))], vocabulary=[*RESERVED, *words], token_counts=counts)
    assert coverage.top_missing == tuple((word, counts[word]) for word in words[1:21])
    assert coverage.summary().endswith(
        "most frequent missing: " + ", ".join(f"{word} ({counts[word]})" for word in words[1:21])
    )


def test_summary_quotes_invisible_missing_words():
    vocabulary = [*RESERVED, "the", "\x96"]
    _, coverage = _align(vocabulary=vocabulary, token_counts={"the": 3, "\x96": 2})
    assert coverage.summary().endswith("most frequent missing: '\\x96' (2)")


def test_no_vocabulary_word_found_is_a_clear_error():
    with pytest.raises(AlignmentError, match=r"none of the 6 vocabulary words has a vector.*tokenisation"):
        _align(vectors=[("The", _v(1, 2)), ("<unk>", _v(3, 4))], lowercase_fallback=False)
    with pytest.raises(AlignmentError, match="holds no vectors"):
        _align(vectors=[])


@pytest.mark.parametrize(
    ("vocabulary", "message"),
    [
        (["the", "movie"], "vocabulary line 0 must be '<pad>'"),
        ([features.PAD_TOKEN, "the"], "vocabulary line 1 must be '<unk>'"),
        ([*RESERVED, "the", "the"], "repeats words"),
        (RESERVED, "no words besides the reserved tokens"),
    ],
)
def test_vocabulary_must_be_a_transform_vocabulary(vocabulary, message):
    with pytest.raises(AlignmentError, match=message):
        _align(vocabulary=vocabulary)


def test_vectors_of_different_lengths_are_rejected():
    with pytest.raises(AlignmentError, match=r"vector of 'good' has 3 values, earlier ones have 2"):
        _align(vectors=[("the", _v(1, 2)), ("good", _v(1, 2, 3))])


def test_a_configured_dimension_is_checked_on_the_first_vector():
    assert _align(dimension=2)[0].shape == (len(VOCABULARY), 2)
    with pytest.raises(OptionsError) as error:
        align(VOCABULARY, iter(FILE), EmbeddingOptions(dimension=3), vectors_source="glove.txt")
    assert str(error.value) == (
        "embedding.dimension is 3, but glove.txt has 2-dimensional vectors; "
        "set embedding.dimension to 2, or to 0 to take the vectors' dimension"
    )


def test_read_token_counts(tmp_path):
    path = tmp_path / "token_counts"
    path.write_text("10 the\n5 movie\n2 n't\n", encoding="utf-8")
    assert read_token_counts(str(path)) == {"the": 10, "movie": 5, "n't": 2}
    path.write_text("10 the\nmovie\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: expected '<count> <token>'"):
        read_token_counts(str(path))


def test_vocabulary_fingerprint():
    expected = hashlib.sha256(b"<pad>\n<unk>\nthe\nmovie").hexdigest()
    assert vocabulary_fingerprint([*RESERVED, "the", "movie"]) == expected
    assert vocabulary_fingerprint([*RESERVED, "movie", "the"]) != expected


def test_align_real_glove_subset_against_a_20k_vocabulary():
    """Optional: alignment over the real GloVe subset (the figures are measured separately)."""
    glove = shared_data_file("glove.6B.50d.top10k.txt")
    file_words = [word for word, _ in iter_vectors(str(glove))]
    # 20k words: every other GloVe word, then words GloVe cannot have.
    words = file_words[::2] + [f"zz-missing-{i}" for i in range(20_000 - len(file_words[::2]))]
    vocabulary = [*RESERVED, *words]
    matrix, coverage = align(vocabulary, iter_vectors(str(glove)), EmbeddingOptions())
    assert matrix.shape == (20_002, 50)
    assert (coverage.exact, coverage.lowercase, coverage.missing) == (5_000, 0, 15_000)
    the_vector = next(vector for word, vector in iter_vectors(str(glove)) if word == "the")
    np.testing.assert_array_equal(matrix[vocabulary.index("the")], the_vector)
