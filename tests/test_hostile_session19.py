"""Cases found by attacking the wide-only model, the per-batch statistics, the tokeniser's
character map, the serving table and the dataset listing (session 19)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from components.neighbors import EmbeddingsNotFoundError
from components.trainer import export, model
from components.trainer.dataset import model_inputs
from components.trainer.naive_bayes import require_weighted_ids
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from pipeline.neighbors import load_embeddings
from schemas import features

# Words of the texts below; every text is a different mix of them, so the logits spread.
_WORDS = ["good", "fine", "bad", "dull", "film", "plot", "great", "awful", "“quoted”", "—", "…", "😀"]


def _wide_only_export(tmp_path, transform_output_factory):
    """A wide-only classifier (no embedding layer) with spread weights, exported as the Trainer exports."""
    buckets = 4096
    tft_output = transform_output_factory(
        [" ".join(_WORDS), "good fine film", "bad dull plot"],
        TransformOptions(vocab_size=16, min_frequency=1, max_length=8, ngram_max=2, ngram_buckets=buckets),
    )
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    classifier = model.build_model(
        vocab_size,
        8,
        np.zeros((vocab_size, 4), np.float32),
        TrainerOptions(use_embeddings=False),
        ngram_ratios=np.linspace(-1, 1, buckets).astype(np.float32),
    )
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(np.linspace(0.7, -0.3, buckets))
    version_dir = str(tmp_path / "serving" / "7")
    export.export_serving_model(classifier, tft_output, version_dir)
    return tft_output, classifier, version_dir


def test_a_reviews_probability_does_not_depend_on_its_place_in_the_batch(tmp_path, transform_output_factory):
    # float32 tf.sigmoid gave a value 1 ulp apart in Eigen's 8-wide packets and in the scalar
    # tail, so the same review scored 0.26192394 in a batch and 0.26192397 alone.
    # In a tf.function, Grappler also turned the wide branch's x / sqrt(n) into x * rsqrt(n), whose
    # vector and scalar kernels differ the same way: 9 of these 64 reviews still moved.
    tft_output, classifier, version_dir = _wide_only_export(tmp_path, transform_output_factory)
    served = tf.saved_model.load(version_dir).signatures[features.TEXT_SIGNATURE]

    def score(texts):
        return served(**{features.TEXT_INPUT: tf.constant(texts)})[features.PROBABILITY_OUTPUT].numpy()

    rng = np.random.default_rng(19)
    texts = [" ".join(rng.choice(_WORDS, size=rng.integers(1, 9))) for _ in range(64)]
    together = score(texts)
    alone = np.array([score([text])[0] for text in texts])
    np.testing.assert_array_equal(together, alone)
    reversed_batch = score(texts[::-1])[::-1]
    np.testing.assert_array_equal(reversed_batch, alone)
    # Nine copies of one review: the first eight fill a packet, the ninth is the tail.
    np.testing.assert_array_equal(score([texts[0]] * 9), np.full(9, alone[0]))
    # Each is the float64 sigmoid of the model's float32 logit, rounded once.
    transformed = tft_output.transform_raw_features({features.TEXT: tf.constant(texts)})
    inputs = {k: v for k, v in model_inputs(transformed).items() if k in classifier.input_names}
    logit_model = tf_keras.Model(classifier.input, classifier.get_layer(model.OUTPUT_LAYER).input)
    logits = logit_model(inputs, training=False).numpy()[:, 0].astype(np.float64)
    np.testing.assert_array_equal(alone, (1 / (1 + np.exp(-logits))).astype(np.float32))


def test_neighbors_of_a_wide_only_model_say_it_has_no_embedding_layer(tmp_path, transform_output_factory):
    # It said "<version>/embeddings/embeddings.npy does not exist: the model was not pushed with its
    # embeddings", as if the push had lost a file.
    _tft_output, _classifier, version_dir = _wide_only_export(tmp_path, transform_output_factory)
    with pytest.raises(EmbeddingsNotFoundError) as raised:
        load_embeddings(str(tmp_path / "serving"))
    assert str(raised.value) == (
        f"{version_dir} has no embeddings/ folder: the model has no embedding layer to search "
        "(trained with trainer.use_embeddings false: the n-gram branch alone), or was pushed without its embeddings"
    )


def test_a_wide_and_deep_reviews_probability_is_the_same_alone_and_in_a_batch(
    tmp_path, transform_output_factory
):
    # In float32 a batch of one took other kernels than a larger batch in the deep branch: the
    # last Dense(1) (a dot product, not a matrix-vector product) and the masked average's sum
    # over positions. 8 of these 64 reviews moved by 1 ulp alone.
    buckets = 4096
    tft_output = transform_output_factory(
        [" ".join(_WORDS), "good fine film", "bad dull plot"],
        TransformOptions(vocab_size=16, min_frequency=1, max_length=400, ngram_max=2, ngram_buckets=buckets),
    )
    vocab_size = tft_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    rng = np.random.default_rng(19)
    classifier = model.build_model(
        vocab_size,
        400,
        rng.normal(size=(vocab_size, 100)).astype(np.float32),
        TrainerOptions(architecture="bag"),
        ngram_ratios=np.linspace(-1, 1, buckets).astype(np.float32),
    )
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(np.linspace(0.7, -0.3, buckets))
    export.export_serving_model(classifier, tft_output, str(tmp_path / "serving"))
    served = tf.saved_model.load(str(tmp_path / "serving")).signatures[features.TEXT_SIGNATURE]

    def score(texts):
        return served(**{features.TEXT_INPUT: tf.constant(texts)})[features.PROBABILITY_OUTPUT].numpy()

    texts = [" ".join(rng.choice(_WORDS, size=rng.integers(1, 7))) for _ in range(64)]
    alone = np.array([score([text])[0] for text in texts])
    np.testing.assert_array_equal(score(texts), alone)
    np.testing.assert_array_equal(score(texts[::-1])[::-1], alone)


def test_a_wide_only_model_without_a_weighted_ngram_id_is_refused():
    # --trainer.use_embeddings false --trainer.ngram_min_frequency 1000000 trained a model of
    # all-zero ratios for 2 epochs (loss 0.6931, AUC 0.5) that scored every review 0.5000.
    with pytest.raises(ValueError) as raised:
        require_weighted_ids(np.zeros(8, np.float32), 1000000)
    assert str(raised.value) == (
        "trainer.ngram_min_frequency is 1000000: no n-gram id is held by that many train reviews, so the "
        "n-gram branch (the whole model with trainer.use_embeddings false) has no weight to learn and would "
        "score every review 0.5; lower trainer.ngram_min_frequency"
    )
    require_weighted_ids(np.array([0.0, -0.25, 0.0], np.float32), 4)
