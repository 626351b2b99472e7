"""The faster tokeniser and bag of n-grams give exactly what the former ones gave.

A model's vocabularies and weights were made from the former tokens and
n-gram bags, so the serving speed-ups must not change a single token, n-gram
or n-gram order (the wide branch sums its n-grams' scores in bag order). The
former tokeniser is kept here, verbatim, as the reference; the former bag is
``tft.bag_of_words``.
"""

from __future__ import annotations

import re
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from components.trainer import export, model
from components.trainer.options import TrainerOptions
from components.transform import text
from components.transform.ngram_bag import bag_of_ngrams
from components.transform.options import TransformOptions
from components.transform.text import normalize, tokenize
from schemas import features
from tests.conftest import shared_data_file
from tests.test_text_properties import PROPERTY_SETTINGS, any_text

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
_CLITIC = r"n't|'(?:s|re|ve|ll|d|m)"
_CLITICS = rf"(?:{_CLITIC})+"
_STEM_AND_CLITICS = rf"^(.*?\pL)({_CLITICS})$"
_EDGE_APOSTROPHES = r"^'+|'+$"


def reference_normalize(text: tf.Tensor) -> tf.Tensor:
    text = tf.strings.lower(text, encoding="utf-8")
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
    new_bag = bag_of_ngrams(new, 3)
    old_bag = tft.bag_of_words(old.to_sparse(), (1, 3), " ")
    _assert_same_sparse(new_bag, old_bag)


# --- the bag of n-grams ------------------------------------------------------------------------------


def _assert_same_sparse(new: tf.SparseTensor, old: tf.SparseTensor) -> None:
    assert new.indices.numpy().tolist() == old.indices.numpy().tolist()
    assert new.values.numpy().tolist() == old.values.numpy().tolist()
    assert new.dense_shape.numpy().tolist() == old.dense_shape.numpy().tolist()


def _former_bag(tokens: tf.RaggedTensor, ngram_max: int) -> tf.SparseTensor:
    return tft.bag_of_words(tokens.to_sparse(), (1, ngram_max), " ")


@tf.function(reduce_retracing=True)
def _bags(tokens: tf.RaggedTensor, ngram_max: int):
    # In a graph, as tf.Transform runs it: the former bag's loop runs only there.
    return bag_of_ngrams(tokens, ngram_max), _former_bag(tokens, ngram_max)


# Few distinct words, so rows repeat n-grams within themselves and across rows.
token_rows = st.lists(st.lists(st.sampled_from(["a", "b", "c", "a b", "é"]), max_size=12), max_size=6)


@REFERENCE_SETTINGS
@given(token_rows, st.integers(min_value=1, max_value=4))
def test_bag_of_ngrams_is_tf_transforms_bag_of_words(rows, ngram_max):
    tokens = tf.ragged.constant(rows, dtype=tf.string, ragged_rank=1, row_splits_dtype=tf.int64)
    new, old = _bags(tokens, ngram_max)
    _assert_same_sparse(new, old)


def test_bag_of_ngrams_keeps_first_occurrences_in_order():
    tokens = tf.ragged.constant([["b", "a", "b", "a"], [], ["a", "a"]], row_splits_dtype=tf.int64)
    bag = bag_of_ngrams(tokens, 2)
    assert bag.indices.numpy().tolist() == [[0, 0], [0, 1], [0, 2], [0, 3], [2, 0], [2, 1]]
    assert bag.values.numpy().tolist() == [b"b", b"b a", b"a", b"a b", b"a", b"a a"]
    assert bag.dense_shape.numpy().tolist() == [3, 4]


# --- the served model --------------------------------------------------------------------------------

SERVED_OPTIONS = TransformOptions(
    vocab_size=40, min_frequency=1, max_length=12, ngram_max=3, ngram_min_frequency=1
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


def _reference_inputs(tft_output, texts: list[str]) -> dict:
    """The model's inputs as the former tokeniser and bag give them, looked up in the vocabularies."""
    tokens = reference_tokenize(tf.constant(texts))
    vocabulary = {t: i for i, t in enumerate(tft_output.vocabulary_by_name(features.VOCABULARY_NAME))}
    ngrams = {t: i for i, t in enumerate(tft_output.vocabulary_by_name(features.NGRAM_VOCABULARY_NAME))}
    token_ids = [
        [vocabulary.get(t, features.UNK_ID) for t in row][: SERVED_OPTIONS.max_length]
        for row in tokens.to_list()
    ]
    token_ids = [row + [features.PAD_ID] * (SERVED_OPTIONS.max_length - len(row)) for row in token_ids]
    bag = tf.RaggedTensor.from_sparse(_former_bag(tokens, SERVED_OPTIONS.ngram_max)).to_list()
    ngram_ids = [[ngrams[t] for t in row if t in ngrams] for row in bag]
    return {
        features.TOKEN_IDS: np.array(token_ids, dtype=np.int64),
        features.NGRAM_IDS: tf.ragged.constant(
            ngram_ids, dtype=tf.int64, ragged_rank=1, row_splits_dtype=tf.int64
        ),
    }


def test_both_signatures_give_the_probabilities_of_the_former_tokens_and_bags(
    tmp_path, transform_output_factory
):
    tft_output = transform_output_factory(TRAIN_TEXTS, SERVED_OPTIONS)
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    ngram_count = tft_output.vocabulary_size_by_name(features.NGRAM_VOCABULARY_NAME)
    matrix = np.random.default_rng(0).normal(size=(vocab_size, 8)).astype(np.float32)
    matrix[features.PAD_ID] = 0.0
    ratios = np.linspace(-1.3, 1.7, ngram_count).astype(np.float32)
    classifier = model.build_model(
        vocab_size, SERVED_OPTIONS.max_length, matrix, TrainerOptions(), ngram_ratios=ratios
    )
    # Coefficients no float sum is exact for, so the n-grams' order in the bag shows in the last bits.
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(
        np.random.default_rng(1).normal(size=ngram_count).astype(np.float32) / 3
    )
    export_dir = str(tmp_path / "serving")
    export.export_serving_model(classifier, tft_output, export_dir)
    inputs = _reference_inputs(tft_output, SERVED_TEXTS)
    ngram_vocabulary = [t.decode() for t in tft_output.vocabulary_by_name(features.NGRAM_VOCABULARY_NAME)]
    bags = [[ngram_vocabulary[i] for i in row] for row in inputs[features.NGRAM_IDS].to_list()]
    # Each n-gram of the vocabulary once, at its first occurrence; "good good" and "bad bad" repeat.
    first = "good, good good, good good good, good ,, ,, do, do n't, do n't miss, n't, n't miss, n't miss it"
    second = "bad, bad acting, acting, bad film, film, -, - it, it, it 's, it 's fine, 's, 's fine, fine"
    third = "o'brien, o'brien 's, 's, film, is, is n't, n't, bad, bad bad"
    expected_bags = [row.split(", ") for row in (first + ", miss, miss it, it, !", second, third)]
    assert bags == [*expected_bags, [], []]
    transformed = tft_output.transform_raw_features({features.TEXT: tf.constant(SERVED_TEXTS)})
    assert transformed[features.TOKEN_IDS].numpy().tolist() == inputs[features.TOKEN_IDS].tolist()
    served_bags = tf.RaggedTensor.from_sparse(transformed[features.NGRAM_IDS]).to_list()
    assert served_bags == inputs[features.NGRAM_IDS].to_list()

    served = tf.saved_model.load(export_dir)
    # The exported model's own graph on the former features: the signatures must give these bits.
    expected = served.model(inputs, training=False).numpy()[:, 0]
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
