"""Trainer: injected embeddings, masking, frozen vs fine-tuned, and the exported SavedModel."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.artifacts import EmbeddingMatrix
from components.embeddings import align
from components.embeddings import executor as embedding_executor
from components.trainer import export, model
from components.trainer.executor import EmbeddingMismatchError, load_embedding_matrix
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from schemas import features

VOCAB_SIZE = 6
DIM = 4
LENGTH = 5


def _matrix(seed=0):
    matrix = np.random.default_rng(seed).normal(size=(VOCAB_SIZE, DIM)).astype(np.float32)
    matrix[features.PAD_ID] = 0.0
    return matrix


def _tiny_data():
    ids = np.array([[2, 3, 0, 0, 0], [4, 5, 5, 0, 0], [2, 2, 3, 0, 0], [5, 4, 0, 0, 0]], dtype=np.int64)
    labels = np.array([1, 0, 1, 0], dtype=np.int64)
    return ids, labels


@pytest.mark.parametrize("architecture", ["bag", "cnn"])
def test_embedding_layer_starts_from_the_injected_matrix(architecture):
    matrix = _matrix()
    classifier = model.build_model(
        VOCAB_SIZE, LENGTH, matrix, TrainerOptions(architecture=architecture, conv_widths=(2, 3))
    )
    np.testing.assert_array_equal(model.embedding_weights(classifier), matrix)


@pytest.mark.parametrize(("trainable", "moves"), [(False, False), (True, True)])
def test_frozen_embeddings_stay_fixed_and_fine_tuned_ones_move(trainable, moves):
    matrix = _matrix()
    classifier = model.build_model(
        VOCAB_SIZE,
        LENGTH,
        matrix,
        TrainerOptions(architecture="bag", trainable_embeddings=trainable, learning_rate=0.1),
    )
    dense_before = classifier.get_layer(model.OUTPUT_LAYER).get_weights()[0].copy()
    ids, labels = _tiny_data()
    classifier.fit(ids, labels, epochs=2, batch_size=2, verbose=0)

    after = model.embedding_weights(classifier)
    assert (not np.array_equal(after, matrix)) == moves
    # Rows of tokens that never occur (here <unk>) never get a gradient.
    np.testing.assert_array_equal(after[features.UNK_ID], matrix[features.UNK_ID])
    # The rest of the network trains either way.
    assert not np.array_equal(classifier.get_layer(model.OUTPUT_LAYER).get_weights()[0], dense_before)


def test_bag_model_averages_only_unpadded_positions():
    matrix = _matrix()
    classifier = model.build_model(
        VOCAB_SIZE, LENGTH, matrix, TrainerOptions(architecture="bag", dropout=0.0)
    )
    pooled = keras.Model(classifier.input, classifier.get_layer(index=3).output)
    assert isinstance(classifier.get_layer(index=3), keras.layers.GlobalAveragePooling1D)
    result = pooled.predict(np.array([[2, 3, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(result[0], (matrix[2] + matrix[3]) / 2, rtol=1e-6)


def test_cnn_padding_contributes_nothing_beyond_zero_vectors():
    matrix = _matrix()
    matrix[features.PAD_ID] = 5.0  # would leak into the convolutions if padding were not masked
    classifier = model.build_model(
        VOCAB_SIZE, LENGTH, matrix, TrainerOptions(architecture="cnn", dropout=0.0, conv_widths=(2,))
    )
    zeroed = classifier.get_layer(index=3)
    assert isinstance(zeroed, model.ZeroMaskedPositions)
    embedded = keras.Model(classifier.input, zeroed.output).predict(np.array([[2, 3, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(embedded[0, :2], matrix[[2, 3]], rtol=1e-6)
    np.testing.assert_array_equal(embedded[0, 2:], 0.0)


def test_build_model_rejects_a_matrix_of_the_wrong_size():
    with pytest.raises(ValueError, match="expected 7 rows"):
        model.build_model(7, LENGTH, _matrix(), TrainerOptions())


def _embedding_artifact(tmp_path, vocabulary, matrix, recorded_vocabulary=None):
    artifact = EmbeddingMatrix()
    artifact.uri = str(tmp_path / "embedding")
    os.makedirs(artifact.uri)
    np.save(os.path.join(artifact.uri, embedding_executor.MATRIX_FILE), matrix)
    with open(os.path.join(artifact.uri, embedding_executor.VOCABULARY_FILE), "w") as f:
        f.write("".join(f"{token}\n" for token in recorded_vocabulary or vocabulary))
    artifact.set_string_custom_property(
        embedding_executor.VOCABULARY_SHA256_PROPERTY,
        align.vocabulary_fingerprint(recorded_vocabulary or vocabulary),
    )
    artifact.set_string_custom_property(
        embedding_executor.TRANSFORM_GRAPH_URI_PROPERTY, "/runs/1/transform_graph"
    )
    return artifact


def test_trainer_refuses_a_matrix_built_for_another_vocabulary(tmp_path):
    vocabulary = ["<pad>", "<unk>", "good", "bad", "fine", "dull"]
    other = ["<pad>", "<unk>", "bad", "good", "fine", "dull"]
    artifact = _embedding_artifact(tmp_path, vocabulary, _matrix(), recorded_vocabulary=other)
    with pytest.raises(EmbeddingMismatchError, match="built for another vocabulary"):
        load_embedding_matrix(artifact, vocabulary)
    matching = _embedding_artifact(tmp_path / "ok", vocabulary, _matrix())
    np.testing.assert_array_equal(load_embedding_matrix(matching, vocabulary), _matrix())


def test_exported_signatures_classify_raw_text_like_the_model(tmp_path, transform_output_factory):
    tft_output = transform_output_factory(
        ["good fine good", "bad dull bad", "fine"],
        TransformOptions(vocab_size=VOCAB_SIZE, min_frequency=1, max_length=LENGTH),
    )
    vocabulary = [t.decode() for t in tft_output.vocabulary_by_name(features.VOCABULARY_NAME)]
    assert vocabulary == ["<pad>", "<unk>", "good", "fine", "bad", "dull"]
    classifier = model.build_model(VOCAB_SIZE, LENGTH, _matrix(), TrainerOptions(architecture="bag"))
    export_dir = str(tmp_path / "serving")
    export.export_serving_model(classifier, tft_output, export_dir)
    # The model directly, on the ids the vocabulary gives: "Good, dull!" -> good , dull ! -> 2 1 5 1.
    expected = classifier.predict(np.array([[2, 1, 5, 1, 0], [1, 0, 0, 0, 0]]), verbose=0)[:, 0]

    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) == {features.TEXT_SIGNATURE, features.EXAMPLES_SIGNATURE}
    text_fn = loaded.signatures[features.TEXT_SIGNATURE]
    assert list(text_fn.structured_input_signature[1]) == [features.TEXT_INPUT]
    assert text_fn.structured_input_signature[1][features.TEXT_INPUT].dtype == tf.string
    assert text_fn.structured_outputs[features.PROBABILITY_OUTPUT].dtype == tf.float32
    by_text = text_fn(**{features.TEXT_INPUT: tf.constant(["Good, dull!", "unseen"])})[
        features.PROBABILITY_OUTPUT
    ]
    np.testing.assert_allclose(by_text.numpy(), expected, rtol=1e-5)

    example = tf.train.Example()
    example.features.feature[features.TEXT].bytes_list.value.append(b"Good, dull!")
    examples_fn = loaded.signatures[features.EXAMPLES_SIGNATURE]
    by_example = examples_fn(**{features.EXAMPLES_INPUT: tf.constant([example.SerializeToString()])})
    np.testing.assert_allclose(by_example[features.PROBABILITY_OUTPUT].numpy(), expected[:1], rtol=1e-5)
    assert by_text.shape == (2,)
