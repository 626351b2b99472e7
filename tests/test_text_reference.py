"""The faster tokeniser gives exactly what the former one gave, and the served model serves its features.

A model's vocabulary and weights were made from the former tokens, so the
tokeniser's speed-ups must not change a single token. The former tokeniser is
kept here, verbatim, as the reference. The served signatures must also give,
bit for bit, the exported model's output on features built here without the
transform graph: the former tokens, their n-grams, the n-grams' hash buckets,
each review's distinct ids in order of first occurrence (the wide branch sums
its n-grams' scores in that order, so the order shows in the last bits).
"""

from __future__ import annotations

import itertools
import re
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from components import text
from components.text import normalize, tokenize
from components.trainer import export, model, naive_bayes
from components.trainer.options import TrainerOptions
from components.transform import preprocessing
from components.transform.options import TransformOptions
from schemas import features
from tests.conftest import shared_data_file
from tests.test_naive_bayes import _matrix
from tests.test_text_properties import DEFAULT_IGNORABLE, PROPERTY_SETTINGS, any_text

# --- the former tokeniser, as it was -----------------------------------------------------------------

_SPACE = r"[\pZ\x{0B}]"
_LINE_BREAK = r"<br\s*/?\s*>"
_CHARACTER_MAP = (
    (r"[\x{2018}\x{2019}\x{91}\x{92}]", "'"),
    (r"[\x{201C}\x{201D}\x{93}\x{94}]", '"'),
    (r"[\x{2013}\x{2014}\x{96}\x{97}]", "-"),
    (r"[\x{2026}\x{85}]", "..."),
)
_PUNCTUATION = r"([^\pL\pM\pN\s'])"
# RE2 knows no Default_Ignorable_Code_Point: the regex module's set as RE2 ranges of consecutive code points.
_INVISIBLE = (
    "[\\p{Cf}"
    + "".join(
        f"\\x{{{ord(run[0][1]):X}}}-\\x{{{ord(run[-1][1]):X}}}"
        for run in (
            list(group)
            for _, group in itertools.groupby(
                enumerate(DEFAULT_IGNORABLE), lambda pair: ord(pair[1]) - pair[0]
            )
        )
    )
    + "]"
)
_CLITIC = r"n't|'(?:s|re|ve|ll|d|m)"
_CLITICS = rf"(?:{_CLITIC})+"
_STEM_AND_CLITICS = rf"^(.*?\pL)({_CLITICS})$"
_EDGE_APOSTROPHES = r"^'+|'+$"


def reference_normalize(text: tf.Tensor) -> tf.Tensor:
    # One change since: a NUL is a space (tf.strings.lower ended the text at it, dropping the rest).
    text = tf.strings.regex_replace(text, r"\x00", " ")
    text = tf.strings.lower(text, encoding="utf-8")
    # A second: format characters (a BOM inside a text, a zero-width space, a soft hyphen) are removed;
    # a third: so is every Default_Ignorable_Code_Point (variation selectors, Hangul fillers, U+034F).
    text = tf.strings.regex_replace(text, _INVISIBLE, "")
    text = tf.strings.regex_replace(text, _SPACE, " ")
    text = tf.strings.regex_replace(text, _LINE_BREAK, " ")
    for pattern, replacement in _CHARACTER_MAP:
        text = tf.strings.regex_replace(text, pattern, replacement)
    return tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")


def _reference_split_clitics(words: tf.Tensor) -> tf.Tensor:
    only_clitics = tf.strings.regex_full_match(words, _CLITICS)
    stripped = tf.strings.regex_replace(words, _EDGE_APOSTROPHES, "")
    has_clitics = tf.strings.regex_full_match(stripped, _STEM_AND_CLITICS)
    stem = tf.where(only_clitics, "", tf.strings.regex_replace(stripped, _STEM_AND_CLITICS, r"\1"))
    clitics = tf.where(
        only_clitics,
        words,
        tf.where(has_clitics, tf.strings.regex_replace(stripped, _STEM_AND_CLITICS, r"\2"), ""),
    )
    return tf.strings.join([stem, tf.strings.regex_replace(clitics, f"({_CLITIC})", r" \1")])


def reference_tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    words = tf.strings.split(reference_normalize(text))
    flat = words.flat_values
    positions = tf.where(tf.strings.regex_full_match(flat, ".*'.*"))[:, 0]
    rewritten = tf.strings.split(_reference_split_clitics(tf.gather(flat, positions)))
    count = tf.shape(flat, out_type=tf.int64)[0]
    candidates = tf.concat([tf.RaggedTensor.from_tensor(flat[:, tf.newaxis]), rewritten], axis=0)
    rows = tf.tensor_scatter_nd_update(
        tf.range(count), positions[:, tf.newaxis], count + tf.range(tf.size(positions, out_type=tf.int64))
    )
    return words.with_flat_values(tf.gather(candidates, rows)).merge_dims(1, 2)


# --- the comparisons ---------------------------------------------------------------------------------

REFERENCE_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=500)
# Pieces around the rewritten passes: every kind of space inside and around a line break.
SPACE_PIECES = ["<br", "<BR", "/", ">", " ", "\t", "\n", "\x0b", "\x0c", "\r", "\u00a0", "\u2003", "\u3000"]
SPACE_PIECES += ["\u2028", "\u2029", "\u202f", "\u180e", "\u200b", "a", "'", "'s", "n't", "\u2019"]
space_text = st.lists(st.sampled_from(SPACE_PIECES), max_size=30).map("".join)
texts_or_bytes = st.one_of(
    st.lists(st.one_of(any_text, space_text).map(lambda t: t.encode("utf-8")), min_size=1, max_size=6),
    st.lists(st.binary(max_size=100), min_size=1, max_size=6),
)


def _both(function, reference, texts):
    batch = tf.constant(texts, dtype=tf.string)
    return function(batch), reference(batch)


@REFERENCE_SETTINGS
@given(texts_or_bytes)
def test_normalize_gives_the_former_text(texts):
    new, old = _both(normalize, reference_normalize, texts)
    assert new.numpy().tolist() == old.numpy().tolist()


@REFERENCE_SETTINGS
@given(texts_or_bytes)
def test_tokenize_gives_the_former_tokens(texts):
    new, old = _both(tokenize, reference_tokenize, texts)
    assert new.to_list() == old.to_list()


def test_every_code_point_is_a_space_or_not_as_before():
    """The one-pass space rule, on each Unicode scalar value alone and inside a line break."""
    code_points = np.array([c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF], dtype=np.int32)
    characters = tf.strings.unicode_encode(tf.constant(code_points)[:, tf.newaxis], "UTF-8")
    for texts in (characters, tf.strings.join(["a<br", characters, "/", characters, ">b"])):
        assert normalize(texts).numpy().tolist() == reference_normalize(texts).numpy().tolist()
    spaces = tf.strings.regex_full_match(characters, text._OTHER_SPACE).numpy()
    # The space separators of Unicode (less the ASCII space) and the vertical tab.
    assert code_points[spaces].tolist() == [
        0x0B,
        0xA0,
        0x1680,
        *range(0x2000, 0x200B),
        0x2028,
        0x2029,
        0x202F,
        0x205F,
        0x3000,
    ]


def test_real_reviews_give_the_former_tokens():
    archive = shared_data_file("aclImdb_v1.tar.gz")
    review = re.compile(r"/test/(pos|neg)/\d+_\d+\.txt$")
    reviews = []
    with tarfile.open(archive, "r|*") as tar:
        for member in tar:
            if member.isfile() and review.search(member.name):
                reviews.append(tar.extractfile(member).read())
                if len(reviews) == 2000:
                    break
    new, old = _both(tokenize, reference_tokenize, reviews)
    assert new.to_list() == old.to_list()


# --- the served model --------------------------------------------------------------------------------

SERVED_OPTIONS = TransformOptions(
    vocab_size=40, min_frequency=1, max_length=12, ngram_max=3, ngram_buckets=64
)
TRAIN_TEXTS = [
    "A good, good film! Don't miss it.<br /><br />It's fine.",
    "Bad film. Bad bad acting\u2026 they'd've left \u2014 it isn't good.",
    "good acting, it's fine; o'brien's \u201cfilm\u201d is good good good",
]
SERVED_TEXTS = [
    "Good good good, don't miss it! good good",
    "bad\u00a0acting<br\u00a0/>bad film \x97 it's 'fine'",
    "O'Brien's film isn't bad bad bad bad",
    "",
    "unseen words only",
]


def _reference_ngrams(tokens: list[bytes]) -> list[str]:
    """A review's 1..ngram_max-grams, words joined by one space: all 1-grams in order, then 2-grams, ..."""
    words = [token.decode("utf-8") for token in tokens]
    widths = range(1, SERVED_OPTIONS.ngram_max + 1)
    return [" ".join(words[i : i + n]) for n in widths for i in range(len(words) - n + 1)]


def _reference_inputs(tft_output, texts: list[str]) -> dict:
    """The model's inputs from the former tokens, the token vocabulary and hashed n-grams, built in Python."""
    tokens = reference_tokenize(tf.constant(texts)).to_list()
    vocabulary = {t: i for i, t in enumerate(tft_output.vocabulary_by_name(features.VOCABULARY_NAME))}
    token_ids = [
        [vocabulary.get(t, features.UNK_ID) for t in row][: SERVED_OPTIONS.max_length] for row in tokens
    ]
    token_ids = [row + [features.PAD_ID] * (SERVED_OPTIONS.max_length - len(row)) for row in token_ids]
    ngram_ids = []
    for row in tokens:
        ngrams = _reference_ngrams(row)
        ids = tf.strings.to_hash_bucket_fast(tf.constant(ngrams, tf.string), SERVED_OPTIONS.ngram_buckets)
        # Each id once, at its first occurrence (two n-grams may share a bucket).
        ngram_ids.append(list(dict.fromkeys(ids.numpy().tolist())))
    return {
        features.TOKEN_IDS: np.array(token_ids, dtype=np.int64),
        features.NGRAM_IDS: tf.ragged.constant(
            ngram_ids, dtype=tf.int64, ragged_rank=1, row_splits_dtype=tf.int64
        ),
    }


def test_both_signatures_give_the_probabilities_of_the_former_tokens_and_hashed_ngrams(
    tmp_path, transform_output_factory
):
    tft_output = transform_output_factory(TRAIN_TEXTS, SERVED_OPTIONS)
    buckets = SERVED_OPTIONS.ngram_buckets
    assert tft_output.num_buckets_for_transformed_feature(features.NGRAM_IDS) == buckets
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    ratios = np.linspace(-1.3, 1.7, buckets).astype(np.float32)
    classifier = model.build_model(
        vocab_size, SERVED_OPTIONS.max_length, _matrix(vocab_size, 8), TrainerOptions(), ngram_ratios=ratios
    )
    # Coefficients no float sum is exact for, so the ids' order in the bag shows in the last bits.
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(
        np.random.default_rng(1).normal(size=buckets).astype(np.float32) / 3
    )
    export_dir = str(tmp_path / "serving")
    weights_before_export = list(classifier.weights)
    export.export_serving_model(classifier, tft_output, export_dir)

    tokens = reference_tokenize(tf.constant(SERVED_TEXTS)).to_list()
    # The former tokens' n-grams: "good good" and "good good good" repeat in the first review.
    assert _reference_ngrams(tokens[0])[:10] == [
        "good",
        "good",
        "good",
        ",",
        "do",
        "n't",
        "miss",
        "it",
        "!",
        "good",
    ]
    assert [len(_reference_ngrams(row)) for row in tokens] == [30, 21, 24, 0, 6]
    inputs = _reference_inputs(tft_output, SERVED_TEXTS)
    # 64 buckets: besides the repeated n-grams, distinct n-grams of a review share ids.
    distinct = [len(set(_reference_ngrams(row))) for row in tokens]
    assert distinct == [24, 20, 18, 0, 6]
    assert [len(row) for row in inputs[features.NGRAM_IDS].to_list()] == [16, 19, 15, 0, 5]
    transformed = tft_output.transform_raw_features({features.TEXT: tf.constant(SERVED_TEXTS)})
    assert transformed[features.TOKEN_IDS].numpy().tolist() == inputs[features.TOKEN_IDS].tolist()
    served_bags = tf.RaggedTensor.from_sparse(transformed[features.NGRAM_IDS]).to_list()
    assert served_bags == inputs[features.NGRAM_IDS].to_list()

    served = tf.saved_model.load(export_dir)
    # The n-gram branch serves from one table, [ratio x coefficient, ratio != 0] per bucket, saved
    # beside the model's weights and not among them (a warm start reads those by name).
    layer = classifier.get_layer(model.NGRAM_LAYER)
    ratios, coefficients = layer.ratios.numpy(), layer.coefficients.numpy()
    [table] = served.ngram_serving_weights
    np.testing.assert_array_equal(table.numpy()[:, 0], ratios * coefficients)
    np.testing.assert_array_equal(table.numpy()[:, 1], (ratios != 0).astype(np.float32))
    model_variables = [
        v.name for v in tf.train.TrackableView(served.model).descendants() if isinstance(v, tf.Variable)
    ]
    # The ratios are not saved (the table stands in for them; a warm start computes them afresh).
    assert sorted(name for name in model_variables if name.startswith(model.NGRAM_LAYER)) == [
        "ngram_logit/coefficients:0",
    ]
    all_variables = [
        v.name for v in tf.train.TrackableView(served).descendants() if isinstance(v, tf.Variable)
    ]
    assert not [name for name in all_variables if naive_bayes.RATIOS_WEIGHT in name]
    np.testing.assert_array_equal(layer.ratios.numpy(), ratios)
    assert [weight.name for weight in classifier.weights] == [weight.name for weight in weights_before_export]
    # The exported model on the features built here, run in a graph as the signatures run it (the
    # reloaded SavedModel keeps no callable Keras model): the signatures must give these bits.
    expected = tf.function(lambda x: classifier(x, training=False))(inputs).numpy()[:, 0]
    np.testing.assert_allclose(expected, classifier(inputs, training=False).numpy()[:, 0], rtol=1e-6)
    by_text = served.signatures[features.TEXT_SIGNATURE](**{features.TEXT_INPUT: tf.constant(SERVED_TEXTS)})
    examples = []
    for review in SERVED_TEXTS:
        example = tf.train.Example()
        example.features.feature[features.TEXT].bytes_list.value.append(review.encode("utf-8"))
        examples.append(example.SerializeToString())
    by_example = served.signatures[features.EXAMPLES_SIGNATURE](
        **{features.EXAMPLES_INPUT: tf.constant(examples)}
    )
    np.testing.assert_array_equal(by_text[features.PROBABILITY_OUTPUT].numpy(), expected)
    np.testing.assert_array_equal(by_example[features.PROBABILITY_OUTPUT].numpy(), expected)


@pytest.mark.parametrize(
    "rows",
    [[], [[]], [[], []], [["a"]], [[], ["a", "b"], [], [], ["c"], []], [["a", "b", "c"], ["d"]]],
)
def test_ngram_row_ids_are_the_ragged_row_ids(rows):
    ragged = tf.ragged.constant(rows, dtype=tf.string, ragged_rank=1, row_splits_dtype=tf.int64)
    expected = [row for row, values in enumerate(rows) for _ in values]
    assert preprocessing._value_rowids(ragged.row_splits).numpy().tolist() == expected
    assert ragged.value_rowids().numpy().tolist() == expected
