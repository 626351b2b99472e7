"""Trainer: injected embeddings, masking, frozen / fine-tuned / frozen-then-fine-tuned, and the exported SavedModel."""

import logging
import os
import re

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
import tf_keras as keras

from components.artifacts import embedding_matrix
from components.artifacts.embedding_matrix import EmbeddingMismatchError, load_checked
from components.artifacts.types import EmbeddingMatrix
from components.options import OptionsError
from components.trainer import export, model
from components.trainer.epoch_progress import TrainingProgress
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


class _EmbeddingSnapshots(keras.callbacks.Callback):
    """The embedding matrix at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.by_epoch: dict[int, np.ndarray] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.by_epoch[epoch] = model.embedding_weights(self.model).copy()


def _fit(options: TrainerOptions, *callbacks: keras.callbacks.Callback):
    """Builds and fits on the tiny data (also the eval data), 2 batches an epoch; returns model, history, snapshots."""
    matrix = _matrix()
    classifier = model.build_model(VOCAB_SIZE, LENGTH, matrix, options)
    dense_before = classifier.get_layer(model.DEEP_LOGIT_LAYER).get_weights()[0].copy()
    ids, labels = _tiny_data()
    dataset = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(2)
    snapshots = _EmbeddingSnapshots()
    history = model.fit_model(classifier, dataset, dataset, options, [snapshots, *callbacks])
    # The rest of the network trains whatever the embeddings do.
    assert not np.array_equal(classifier.get_layer(model.DEEP_LOGIT_LAYER).get_weights()[0], dense_before)
    return matrix, classifier, history, snapshots.by_epoch


def test_frozen_embeddings_do_not_move():
    options = TrainerOptions(
        embedding_training="frozen", learning_rate=0.1, epochs=3, early_stopping_patience=0
    )
    matrix, classifier, history, snapshots = _fit(options)
    assert history.epoch == [0, 1, 2]
    for epoch in range(3):
        np.testing.assert_array_equal(snapshots[epoch], matrix)
    assert classifier.get_layer(model.EMBEDDING_LAYER).trainable is False


def test_fine_tuned_embeddings_move_from_the_first_epoch():
    options = TrainerOptions(
        embedding_training="fine_tune", learning_rate=0.1, epochs=2, early_stopping_patience=0
    )
    matrix, _, history, snapshots = _fit(options)
    assert history.epoch == [0, 1]
    assert history.unfrozen_at_epoch is None
    for epoch in (0, 1):
        assert not np.array_equal(snapshots[epoch], matrix)
    # Rows of tokens that never occur (here <unk>) never get a gradient.
    np.testing.assert_array_equal(snapshots[1][features.UNK_ID], matrix[features.UNK_ID])
    np.testing.assert_array_equal(snapshots[1][features.PAD_ID], matrix[features.PAD_ID])


def test_frozen_then_fine_tune_unfreezes_after_n_epochs_with_the_lower_learning_rate():
    options = TrainerOptions(
        embedding_training="frozen_then_fine_tune",
        unfreeze_after_epochs=2,
        fine_tune_learning_rate=0.05,
        learning_rate=0.1,
        epochs=4,
        early_stopping_patience=0,
    )
    matrix, classifier, history, snapshots = _fit(options)
    # Frozen phase: exactly the injected matrix; fine-tuning phase: moved.
    np.testing.assert_array_equal(snapshots[0], matrix)
    np.testing.assert_array_equal(snapshots[1], matrix)
    assert not np.array_equal(snapshots[2], matrix)
    assert not np.array_equal(snapshots[3], snapshots[2])
    # One history over both phases, epochs numbered on.
    assert history.epoch == [0, 1, 2, 3]
    assert history.unfrozen_at_epoch == 2
    assert sorted(history.history) == ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]
    assert {len(values) for values in history.history.values()} == {4}
    assert classifier.get_layer(model.EMBEDDING_LAYER).trainable is True
    assert float(classifier.optimizer.learning_rate) == pytest.approx(0.05)


def test_tensorboard_steps_go_on_from_the_frozen_phase_to_fine_tuning(tmp_path):
    """Fine-tuning starts with a fresh optimizer, at step 0: its TensorBoard curves must not overwrite the frozen phase's."""
    options = TrainerOptions(
        embedding_training="frozen_then_fine_tune",
        unfreeze_after_epochs=2,
        epochs=4,
        early_stopping_patience=0,
    )
    _fit(options, model.PhasedTensorBoard(str(tmp_path)))
    steps = {}
    for run in ("train", "validation"):
        events = EventAccumulator(str(tmp_path / run))
        events.Reload()
        steps[run] = {tag: [event.step for event in events.Tensors(tag)] for tag in events.Tags()["tensors"]}
    epochs = [0, 1, 2, 3]
    # Evaluations at the optimizer step: 2 batches an epoch, counted on across the phases.
    iterations = [2, 4, 6, 8]
    assert steps == {
        "train": {"keras": [0], "epoch_loss": epochs, "epoch_accuracy": epochs, "epoch_auc": epochs},
        "validation": {
            "evaluation_loss_vs_iterations": iterations,
            "evaluation_accuracy_vs_iterations": iterations,
            "evaluation_auc_vs_iterations": iterations,
            "epoch_loss": epochs,
            "epoch_accuracy": epochs,
            "epoch_auc": epochs,
        },
    }


def test_early_stopping_carries_its_best_weights_across_phases():
    classifier = model.build_model(VOCAB_SIZE, LENGTH, _matrix(), TrainerOptions())
    stopper = model.PhasedEarlyStopping(patience=1)
    stopper.set_model(classifier)
    best = [weights.copy() for weights in classifier.get_weights()]

    def perturb():
        classifier.set_weights([weights + 1.0 for weights in classifier.get_weights()])

    stopper.on_train_begin()  # frozen phase
    stopper.on_epoch_end(0, {"val_loss": 0.5})
    perturb()
    stopper.on_epoch_end(1, {"val_loss": 0.9})
    assert classifier.stop_training is True
    stopper.on_train_end()
    for restored, expected in zip(classifier.get_weights(), best, strict=True):
        np.testing.assert_array_equal(restored, expected)

    classifier.stop_training = False
    stopper.on_train_begin()  # fine-tuning phase: the frozen phase's best still counts
    assert (stopper.best, stopper.wait) == (0.5, 0)
    perturb()
    stopper.on_epoch_end(2, {"val_loss": 0.7})  # worse than the frozen best: stop, keep the frozen best
    assert classifier.stop_training is True
    stopper.on_train_end()
    for restored, expected in zip(classifier.get_weights(), best, strict=True):
        np.testing.assert_array_equal(restored, expected)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"embedding_training": "trainable"}, "trainer.embedding_training must be one of frozen, fine_tune"),
        (
            {"embedding_training": "frozen_then_fine_tune", "unfreeze_after_epochs": 3, "epochs": 3},
            r"trainer.unfreeze_after_epochs must be less than trainer.epochs \(3\) with "
            r"trainer.embedding_training frozen_then_fine_tune, got 3",
        ),
        (
            {"embedding_training": "frozen_then_fine_tune", "unfreeze_after_epochs": 4, "epochs": 3},
            r"trainer.unfreeze_after_epochs must be less than trainer.epochs \(3\) with "
            r"trainer.embedding_training frozen_then_fine_tune, got 4",
        ),
        ({"unfreeze_after_epochs": 0}, r"trainer.unfreeze_after_epochs must be between 1 and 1000, got 0"),
        ({"fine_tune_learning_rate": 0.0}, "trainer.fine_tune_learning_rate must be between"),
    ],
)
def test_embedding_training_options_are_checked(values, message):
    with pytest.raises(OptionsError, match=message):
        TrainerOptions(**values)


@pytest.mark.parametrize(
    "values",
    [
        # The schedule leaves one epoch to fine-tune.
        {"embedding_training": "frozen_then_fine_tune", "unfreeze_after_epochs": 2, "epochs": 3},
        # The same numbers as the rejected schedule, but the schedule is not used.
        {"embedding_training": "fine_tune", "unfreeze_after_epochs": 3, "epochs": 3},
        {"embedding_training": "frozen", "unfreeze_after_epochs": 3, "epochs": 3},
    ],
)
def test_embedding_training_options_that_leave_epochs_to_fine_tune_or_do_not_use_the_schedule_are_valid(
    values,
):
    options = TrainerOptions(**values)
    assert {name: getattr(options, name) for name in values} == values


def test_training_progress_logs_each_finished_epoch_of_the_whole_training(caplog):
    caplog.set_level(logging.INFO)
    callback = TrainingProgress(
        4, terminal=False, interval=3600, epoch_log=logging.getLogger("tests.trainer")
    )
    # The frozen phase of frozen_then_fine_tune: Keras knows only its 2 epochs.
    callback.set_params({"epochs": 2, "steps": 3, "verbose": 0})
    callback.on_epoch_begin(1)
    callback.on_train_batch_end(0, {"loss": 0.5})
    callback.on_epoch_end(1, {"val_loss": 0.25, "accuracy": 0.75, "loss": 0.5})
    lines = [record.getMessage() for record in caplog.records if record.name == "tests.trainer"]
    assert len(lines) == 1
    assert re.fullmatch(
        r"Trainer: epoch 2/4 \(\d+\.\d s\): accuracy 0\.7500, loss 0\.5000, val_loss 0\.2500", lines[0]
    ), lines[0]


def test_bag_model_averages_only_unpadded_positions():
    matrix = _matrix()
    classifier = model.build_model(
        VOCAB_SIZE, LENGTH, matrix, TrainerOptions(architecture="bag", dropout=0.0)
    )
    pooled = keras.Model(classifier.input, classifier.get_layer(index=3).output)
    assert isinstance(classifier.get_layer(index=3), model.MaskedAverage)
    result = pooled.predict(np.array([[2, 3, 0, 0, 0], [0, 0, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(result[0], (matrix[2] + matrix[3]) / 2, rtol=1e-6)
    # A review with no tokens at all: the zero vector, not 0/0.
    np.testing.assert_array_equal(result[1], np.zeros(DIM))


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
    np.save(os.path.join(artifact.uri, embedding_matrix.MATRIX_FILE), matrix)
    with open(os.path.join(artifact.uri, embedding_matrix.VOCABULARY_FILE), "w") as f:
        f.write("".join(f"{token}\n" for token in recorded_vocabulary or vocabulary))
    artifact.set_string_custom_property(
        embedding_matrix.VOCABULARY_SHA256_PROPERTY,
        embedding_matrix.vocabulary_fingerprint(recorded_vocabulary or vocabulary),
    )
    artifact.set_string_custom_property(
        embedding_matrix.TRANSFORM_GRAPH_URI_PROPERTY, "/runs/1/transform_graph"
    )
    return artifact


def test_trainer_refuses_a_matrix_built_for_another_vocabulary(tmp_path):
    vocabulary = ["<pad>", "<unk>", "good", "bad", "fine", "dull"]
    other = ["<pad>", "<unk>", "bad", "good", "fine", "dull"]
    artifact = _embedding_artifact(tmp_path, vocabulary, _matrix(), recorded_vocabulary=other)
    with pytest.raises(EmbeddingMismatchError, match="built for another vocabulary"):
        load_checked(artifact, vocabulary)
    matching = _embedding_artifact(tmp_path / "ok", vocabulary, _matrix())
    np.testing.assert_array_equal(load_checked(matching, vocabulary), _matrix())


def test_exported_signatures_classify_raw_text_like_the_model(tmp_path, transform_output_factory):
    tft_output = transform_output_factory(
        ["good fine good", "bad dull bad", "fine"],
        TransformOptions(vocab_size=VOCAB_SIZE, min_frequency=1, max_length=LENGTH),
    )
    vocabulary = [t.decode() for t in tft_output.vocabulary_by_name(features.VOCABULARY_NAME)]
    assert vocabulary == ["<pad>", "<unk>", "good", "fine", "bad", "dull"]
    classifier = model.build_model(VOCAB_SIZE, LENGTH, _matrix(), TrainerOptions(architecture="bag"))
    # One step of training, so the optimizer has its slots (Adam's moments) when the model is exported.
    classifier.fit(np.array([[2, 3, 2, 0, 0], [4, 5, 4, 0, 0]]), np.array([1, 0]), epochs=1, verbose=0)
    assert classifier.optimizer.variables
    export_dir = str(tmp_path / "serving")
    export.export_serving_model(classifier, tft_output, export_dir)
    # The optimizer is left out of the SavedModel, and stays attached to the model.
    saved_variables = [name for name, _ in tf.train.list_variables(f"{export_dir}/variables/variables")]
    assert [name for name in saved_variables if "optimizer" in name.lower()] == []
    assert [name for name in saved_variables if "embeddings" in name] != []
    assert classifier.optimizer is not None and classifier.optimizer.variables
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

    # Each serving function traced once (inside the save), and no Keras per-layer call traces.
    saved = saved_model_pb2.SavedModel.FromString((tmp_path / "serving" / "saved_model.pb").read_bytes())
    (graph,) = saved.meta_graphs
    traced = sorted(
        re.sub(r"_\d+$", "", function.signature.name)
        for function in graph.graph_def.library.function
        if re.match(r"__inference_(signature_wrapper_)?serve_", function.signature.name)
    )
    assert traced == [
        "__inference_serve_examples",
        "__inference_serve_text",
        "__inference_signature_wrapper_serve_examples",
        "__inference_signature_wrapper_serve_text",
    ]
    children = {child.local_name for node in graph.object_graph_def.nodes for child in node.children}
    assert "call_and_return_conditional_losses" not in children
