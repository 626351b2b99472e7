"""The bag-of-n-grams branch: Naive Bayes log-count ratios and the wide+deep model."""

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from components.trainer import export, model
from components.trainer.dataset import model_inputs
from components.trainer.naive_bayes import NaiveBayesLinear, naive_bayes_log_ratios
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from schemas import features


def test_log_count_ratios_are_exact_on_a_tiny_case():
    # Reviews (distinct n-gram ids) and labels: id 0 in both classes, id 1 only
    # in positive reviews, id 2 only in negative ones, id 3 nowhere (no evidence: ratio 0).
    batches = [
        (tf.ragged.constant([[0, 1], [0, 2]], dtype=tf.int64), tf.constant([1, 0], dtype=tf.int64)),
        (tf.ragged.constant([[1], [0, 2]], dtype=tf.int64), tf.constant([1, 0], dtype=tf.int64)),
    ]
    ratios = naive_bayes_log_ratios(batches, vocab_size=4, alpha=1.0)
    p = np.array([1, 2, 0, 0]) + 1.0  # positive reviews holding each id, smoothed
    q = np.array([2, 0, 2, 0]) + 1.0
    expected = np.log((p / p.sum()) / (q / q.sum()))
    expected[3] = 0.0
    np.testing.assert_allclose(ratios, expected, rtol=1e-6)
    assert ratios[1] > 0 > ratios[2]


@settings(max_examples=30, deadline=None)
@given(
    reviews=st.lists(
        st.tuples(st.sets(st.integers(0, 9), max_size=6), st.integers(0, 1)), min_size=1, max_size=12
    ),
    batch_size=st.integers(1, 5),
    min_frequency=st.integers(1, 3),
)
def test_log_count_ratios_count_the_reviews_holding_each_id_in_any_batching(
    reviews, batch_size, min_frequency
):
    batches = [
        (
            tf.ragged.constant([sorted(ids) for ids, _ in chunk], dtype=tf.int64, ragged_rank=1),
            tf.constant([label for _, label in chunk], dtype=tf.int64),
        )
        for chunk in (reviews[i : i + batch_size] for i in range(0, len(reviews), batch_size))
    ]
    ratios = naive_bayes_log_ratios(batches, vocab_size=10, alpha=1.0, min_frequency=min_frequency)
    held = {
        label: np.array([sum(i in ids for ids, y in reviews if y == label) for i in range(10)])
        for label in (0, 1)
    }
    p, q = held[1] + 1.0, held[0] + 1.0
    expected = np.where(held[0] + held[1] >= min_frequency, np.log((p / p.sum()) / (q / q.sum())), 0.0)
    np.testing.assert_allclose(ratios, expected, rtol=1e-6, atol=1e-7)


def test_ids_held_by_too_few_reviews_get_ratio_zero():
    batches = [
        (tf.ragged.constant([[0, 1], [0, 2], [0]], dtype=tf.int64), tf.constant([1, 0, 0], dtype=tf.int64)),
    ]
    ratios = naive_bayes_log_ratios(batches, vocab_size=4, alpha=1.0, min_frequency=3)
    # Only id 0 is held by 3 reviews (1 positive, 2 negative); the smoothed
    # sums still run over every id: p = [1, 1, 0, 0] + 1, q = [2, 0, 1, 0] + 1.
    np.testing.assert_allclose(ratios, [np.log((2 / 6) / (3 / 7)), 0.0, 0.0, 0.0], rtol=1e-6)


def test_ids_with_ratio_zero_weigh_nothing_and_do_not_count_in_the_norm():
    layer = NaiveBayesLinear(4)
    ids = tf.ragged.constant([[0, 1, 3], [1]], dtype=tf.int64)
    layer(ids)
    layer.ratios.assign([0.5, 0.0, 2.0, 0.25])
    layer.coefficients.assign([1.0, 2.0, 3.0, 4.0])
    # Row 0 as if it held ids 0 and 3 only; row 1 as if it were empty.
    np.testing.assert_allclose(layer(ids).numpy(), [[(0.5 + 1.0) / np.sqrt(2)], [0.0]], rtol=1e-6)


def test_naive_bayes_linear_sums_ratio_times_weight_over_each_reviews_ngrams_l2_normalised():
    layer = NaiveBayesLinear(4, scale=3.0)
    ids = tf.ragged.constant([[0, 3], [], [1, 2, 3]], dtype=tf.int64)
    layer(ids)
    layer.ratios.assign([0.5, -1.0, 2.0, 0.25])
    layer.coefficients.assign([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(
        layer(ids).numpy(),
        [[3.0 * (0.5 + 1.0) / np.sqrt(2)], [0.0], [3.0 * (-2.0 + 6.0 + 1.0) / np.sqrt(3)]],
        rtol=1e-6,
    )


def test_the_coefficients_gradient_is_sparse_over_the_batch_ngrams():
    layer = NaiveBayesLinear(6)
    ids = tf.ragged.constant([[0, 3], [3]], dtype=tf.int64)
    layer(ids)
    layer.ratios.assign([0.5, -1.0, 2.0, 0.25, 1.0, 1.0])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(ids))
    gradient = tape.gradient(total, layer.coefficients)
    assert isinstance(gradient, tf.IndexedSlices)
    assert sorted(set(gradient.indices.numpy().tolist())) == [0, 3]
    # d/dw_i: r_i / sqrt(n) summed over the reviews holding n-gram i.
    np.testing.assert_allclose(
        tf.convert_to_tensor(gradient).numpy(),
        [0.5 / np.sqrt(2), 0.0, 0.0, 0.25 / np.sqrt(2) + 0.25, 0.0, 0.0],
        rtol=1e-6,
    )


def _matrix(rows, dim=4):
    matrix = np.random.default_rng(0).normal(size=(rows, dim)).astype(np.float32)
    matrix[features.PAD_ID] = 0.0
    return matrix


def test_the_ngram_branch_starts_silent_and_adds_its_logit_to_the_deep_one():
    ratios = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    options = TrainerOptions(architecture="bag", dropout=0.0)
    wide_and_deep = model.build_model(6, 5, _matrix(6), options, ngram_ratios=ratios)
    deep_only = model.build_model(6, 5, _matrix(6), options)
    np.testing.assert_array_equal(wide_and_deep.get_layer(model.NGRAM_LAYER).ratios.numpy(), ratios)

    token_ids = np.array([[2, 3, 0, 0, 0]], dtype=np.int64)
    ngram_ids = tf.ragged.constant([[0, 2]], dtype=tf.int64)
    inputs = {features.TOKEN_IDS: token_ids, features.NGRAM_IDS: ngram_ids}
    # Same seed, same deep weights; the wide weights start at zero.
    np.testing.assert_allclose(
        wide_and_deep(inputs).numpy(), deep_only({features.TOKEN_IDS: token_ids}).numpy(), rtol=1e-6
    )
    wide_and_deep.get_layer(model.NGRAM_LAYER).coefficients.assign([1.0, 1.0, 1.0])
    deep_probability = deep_only({features.TOKEN_IDS: token_ids}).numpy()
    deep_logit = np.log(deep_probability / (1 - deep_probability))
    # + scale * (r_0 w_0 + r_2 w_2) / sqrt(2 n-grams)
    wide_logit = options.ngram_learning_rate_factor * (0.5 + 2.0) / np.sqrt(2)
    expected = 1 / (1 + np.exp(-(deep_logit + wide_logit)))
    np.testing.assert_allclose(wide_and_deep(inputs).numpy(), expected, rtol=1e-5)


def test_without_the_embedding_branch_the_model_is_the_ngram_branch_alone():
    ratios = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    options = TrainerOptions(use_embeddings=False)
    wide_only = model.build_model(6, 5, _matrix(6), options, ngram_ratios=ratios)
    # No embedding, hidden or deep-logit layer, no token-id input: the n-gram weights are all it trains.
    assert wide_only.input_names == [features.NGRAM_IDS]
    assert [layer.name for layer in wide_only.layers] == [
        features.NGRAM_IDS,
        model.NGRAM_LAYER,
        model.OUTPUT_LAYER,
    ]
    assert sorted(weight.name for weight in wide_only.trainable_weights) == [
        f"{model.NGRAM_LAYER}/coefficients:0"
    ]
    with pytest.raises(ValueError, match="No such layer: embedding"):
        wide_only.get_layer(model.EMBEDDING_LAYER)

    wide_only.get_layer(model.NGRAM_LAYER).coefficients.assign([1.0, 1.0, 1.0])
    probability = wide_only({features.NGRAM_IDS: tf.ragged.constant([[0, 2]], dtype=tf.int64)}).numpy()
    # sigmoid(scale * (r_0 w_0 + r_2 w_2) / sqrt(2 n-grams)), nothing added.
    wide_logit = options.ngram_learning_rate_factor * (0.5 + 2.0) / np.sqrt(2)
    np.testing.assert_allclose(probability, [[1 / (1 + np.exp(-wide_logit))]], rtol=1e-6)


def test_a_wide_only_model_builds_no_convolution_whatever_the_sequence_length():
    ratios = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    options = TrainerOptions(use_embeddings=False, architecture="cnn", conv_widths=(3, 4, 5))
    wide_only = model.build_model(6, 2, _matrix(6), options, ngram_ratios=ratios)
    assert [layer.name for layer in wide_only.layers] == [
        features.NGRAM_IDS,
        model.NGRAM_LAYER,
        model.OUTPUT_LAYER,
    ]
    # With the embedding branch, sequences of 2 tokens are shorter than the widest convolution.
    with pytest.raises(ValueError) as error:
        model.build_model(6, 2, _matrix(6), TrainerOptions(architecture="cnn"), ngram_ratios=ratios)
    assert str(error.value) == "sequences of 2 tokens are shorter than the widest convolution (5)"


def test_a_model_needs_a_branch():
    with pytest.raises(ValueError, match="no n-gram branch"):
        model.build_model(6, 5, _matrix(6), TrainerOptions(use_embeddings=False))
    with pytest.raises(ValueError, match="at least one branch"):
        TrainerOptions(use_embeddings=False, use_ngrams=False)


def _fit(weighted_rows_adam: bool, ratios: np.ndarray, l2: float) -> dict[str, np.ndarray]:
    """Weights after 3 epochs on 6 reviews, with build_model's optimizer or Keras' own Adam."""
    options = TrainerOptions(architecture="bag", dropout=0.0, ngram_l2=l2)
    classifier = model.build_model(6, 5, _matrix(6), options, ngram_ratios=ratios)
    if not weighted_rows_adam:
        classifier.compile(
            optimizer=tf_keras.optimizers.Adam(learning_rate=options.learning_rate),
            loss=tf_keras.losses.BinaryCrossentropy(),
        )
    token_ids = np.array([[2, 3, 0, 0, 0], [4, 5, 2, 0, 0], [3, 0, 0, 0, 0]] * 2, dtype=np.int64)
    ngram_ids = tf.ragged.constant(
        [[0, 2, 5], [1, 3], [2, 4, 6, 7], [7], [0, 1, 2, 3], [5, 6]], dtype=tf.int64
    )
    labels = np.array([1, 0, 1, 0, 1, 0], dtype=np.float32)
    data = tf.data.Dataset.from_tensor_slices(
        ({features.TOKEN_IDS: token_ids, features.NGRAM_IDS: ngram_ids}, labels)
    ).batch(4)
    classifier.fit(data, epochs=3, verbose=0)
    return {weight.name: weight.numpy() for weight in classifier.weights}


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_the_optimizer_updates_only_weighted_ngram_rows_and_gives_adams_weights_bit_for_bit(l2):
    # Ids 1, 4 and 6 have ratio 0 (too rare in the train split): they weigh nothing.
    ratios = np.array([0.5, 0.0, -1.0, 2.0, 0.0, 0.25, 0.0, -0.5], dtype=np.float32)
    fitted = _fit(True, ratios, l2)
    with_adam = _fit(False, ratios, l2)
    assert fitted.keys() == with_adam.keys()
    for name, values in fitted.items():
        np.testing.assert_array_equal(values, with_adam[name], err_msg=name)
    coefficients = fitted[f"{model.NGRAM_LAYER}/coefficients:0"]
    assert np.all(coefficients[[1, 4, 6]] == 0.0)
    assert np.all(coefficients[[0, 2, 3, 5, 7]] != 0.0)


def _bucket(ngram: str, buckets: int) -> int:
    """An n-gram's expected id, from its 64-bit FarmHash fingerprint (little-endian), not the Transform's op."""
    return int.from_bytes(bytes(tf.fingerprint(tf.constant([ngram])).numpy()[0]), "little") % buckets


@pytest.mark.parametrize("ngram_max", [1, 2])
def test_export_with_the_ngram_branch_matches_the_model_on_transform_features(
    tmp_path, transform_output_factory, ngram_max
):
    buckets = 1024
    tft_output = transform_output_factory(
        ["good fine good", "bad dull bad", "fine film"],
        TransformOptions(
            vocab_size=8, min_frequency=1, max_length=5, ngram_max=ngram_max, ngram_buckets=buckets
        ),
    )
    assert tft_output.num_buckets_for_transformed_feature(features.NGRAM_IDS) == buckets
    ratios = np.linspace(-1, 1, buckets).astype(np.float32)
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    classifier = model.build_model(
        vocab_size, 5, _matrix(vocab_size), TrainerOptions(architecture="bag"), ngram_ratios=ratios
    )
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(np.linspace(2, -2, buckets))
    export.export_serving_model(classifier, tft_output, str(tmp_path / "serving"))

    texts = ["good fine good", "dull film, unseen words"]
    transformed = tft_output.transform_raw_features({features.TEXT: tf.constant(texts)})
    ngram_rows = [
        sorted(row) for row in tf.RaggedTensor.from_sparse(transformed[features.NGRAM_IDS]).to_list()
    ]
    # Each distinct n-gram once, hashed; no vocabulary, so unseen words and n-grams have ids too.
    first = ["good", "fine"] + (["good fine", "fine good"] if ngram_max == 2 else [])
    second = ["dull", "film", ",", "unseen", "words"]
    second += ["dull film", "film ,", ", unseen", "unseen words"] if ngram_max == 2 else []
    assert ngram_rows[0] == sorted({_bucket(ngram, buckets) for ngram in first})
    assert ngram_rows[1] == sorted({_bucket(ngram, buckets) for ngram in second})
    expected = classifier.predict(model_inputs(transformed), verbose=0)[:, 0]
    served = tf.saved_model.load(str(tmp_path / "serving")).signatures[features.TEXT_SIGNATURE]
    by_text = served(**{features.TEXT_INPUT: tf.constant(texts)})[features.PROBABILITY_OUTPUT]
    np.testing.assert_allclose(by_text.numpy(), expected, rtol=1e-5)


def test_ngram_ids_of_a_review_are_its_distinct_hash_buckets_of_one_to_three_grams(transform_output_factory):
    buckets = 2**22
    tft_output = transform_output_factory(
        ["a film a film"],
        TransformOptions(vocab_size=8, min_frequency=1, max_length=5, ngram_buckets=buckets),
    )
    transformed = tft_output.transform_raw_features(
        {features.TEXT: tf.constant(["a film a film", "", "film"])}
    )
    rows = tf.RaggedTensor.from_sparse(transformed[features.NGRAM_IDS]).to_list()
    # "a film" twice and "film a" once: each distinct n-gram counts once per review.
    ngrams = ["a", "film", "a film", "film a", "a film a", "film a film"]
    assert sorted(rows[0]) == sorted(_bucket(ngram, buckets) for ngram in ngrams)
    assert len(rows[0]) == 6
    assert rows[1] == []
    assert rows[2] == [_bucket("film", buckets)]
