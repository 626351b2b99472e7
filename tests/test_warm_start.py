"""Warm start: embedding rows carried over by word across a vocabulary change, other weights by name."""

import dataclasses
import json
import logging
import os

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.artifacts import model as model_artifact
from components.report import render
from components.trainer import executor, export, model, warm_start
from components.trainer.options import TrainerOptions
from components.transform.options import TransformOptions
from pipeline import kubeflow
from pipeline.config import build_config
from pipeline.pipeline import create_pipeline, pipeline_steps
from schemas import features
from tests.test_report import _small_report

LENGTH = 5
DIM = 4
OPTIONS = TrainerOptions(
    architecture="bag", hidden_units=3, epochs=3, early_stopping_patience=0, learning_rate=0.1
)
TRANSFORM = TransformOptions(vocab_size=6, min_frequency=1, max_length=LENGTH, ngram_max=0)
# The earlier span: good 2, fine 2, bad 2, dull 1 (ties in reverse lexicographic order, as tf.Transform sorts).
OLD_TEXTS = ["good fine good", "bad dull bad", "fine"]
# The new span: great 3, fine 3, bad 2, good 1; "dull" is gone, "great" is new, "good" moves to the end.
NEW_TEXTS = ["fine great fine", "bad great", "fine good bad great"]
OLD_VOCABULARY = ["<pad>", "<unk>", "good", "fine", "bad", "dull"]
# What a warm start says of the vocabularies; None when the new model has no embedding.
VOCABULARY_FIGURES = ("same_vocabulary", "shared_words", "copied_rows", "new_words", "dropped_words")
NEW_VOCABULARY = ["<pad>", "<unk>", "great", "fine", "bad", "good"]


def _matrix(seed):
    matrix = np.random.default_rng(seed).normal(size=(6, DIM)).astype(np.float32)
    matrix[features.PAD_ID] = 0.0
    return matrix


def _trained_old_model():
    """The earlier model: built on the old vocabulary's matrix and fitted, so every weight moved."""
    injected = _matrix(seed=1)
    classifier = model.build_model(6, LENGTH, injected, OPTIONS)
    ids = np.array([[2, 3, 2, 0, 0], [4, 5, 4, 0, 0], [3, 0, 0, 0, 0], [5, 4, 0, 0, 0]], dtype=np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((ids, np.array([1, 0, 1, 0]))).batch(2)
    model.fit_model(classifier, dataset, dataset, OPTIONS)
    trained = model.embedding_weights(classifier)
    # Rows of words in the training data moved; <pad> (masked) stays zero.
    assert not np.allclose(trained[2:], injected[2:]) and not trained[features.PAD_ID].any()
    return classifier


def _weights(classifier):
    return {weight.name: weight.numpy() for weight in classifier.weights}


def test_real_vocabularies_of_two_spans_differ_by_order_and_words(transform_output_factory):
    vocabularies = [
        [token.decode() for token in transform_output_factory(texts, TRANSFORM).vocabulary_by_name("tokens")]
        for texts in (OLD_TEXTS, NEW_TEXTS)
    ]
    assert vocabularies == [OLD_VOCABULARY, NEW_VOCABULARY]
    # New row -> old row of the same word; "great" is new.
    assert warm_start.embedding_rows(OLD_VOCABULARY, NEW_VOCABULARY).tolist() == [0, 1, -1, 3, 4, 2]


def test_shared_words_keep_their_trained_rows_by_word_and_new_words_start_fresh():
    old = _trained_old_model()
    trained = _weights(old)
    fresh_matrix = _matrix(seed=2)
    new = model.build_model(6, LENGTH, fresh_matrix, OPTIONS)
    fresh = _weights(new)
    embedding = new.get_layer(model.EMBEDDING_LAYER).embeddings.name

    initial, summary = warm_start.warm_start_weights(
        fresh, trained, OLD_VOCABULARY, NEW_VOCABULARY, embedding
    )

    rows = initial[embedding]
    old_rows = trained[embedding]
    for word in ("<pad>", "<unk>", "fine", "bad", "good"):
        np.testing.assert_array_equal(rows[NEW_VOCABULARY.index(word)], old_rows[OLD_VOCABULARY.index(word)])
    # "good" was row 2 and is row 5: by index, row 5 would be "dull"'s trained row.
    assert not np.array_equal(rows[5], old_rows[5])
    # The new word's row is the aligned matrix's, as in a fresh model.
    np.testing.assert_array_equal(rows[NEW_VOCABULARY.index("great")], fresh_matrix[2])
    # The layers above the embedding do not depend on the vocabulary: copied as trained.
    for name in ("dense/kernel:0", "dense/bias:0", "deep_logit/kernel:0", "deep_logit/bias:0"):
        np.testing.assert_array_equal(initial[name], trained[name])
        assert not np.array_equal(initial[name], fresh[name])
    assert summary.to_dict() == {
        "same_vocabulary": False,
        "shared_words": 5,
        "copied_rows": 5,
        "new_words": 1,
        "dropped_words": 1,
        "copied": [embedding, "dense/kernel:0", "dense/bias:0", "deep_logit/kernel:0", "deep_logit/bias:0"],
        "fresh": {},
    }


def test_an_embedding_of_another_dimension_copies_no_row_and_the_summary_says_so():
    embedding = "embedding/embeddings:0"
    vocabulary = ["<pad>", "<unk>", "a", "b"]
    fresh = {embedding: np.zeros((4, 3), np.float32), "deep_logit/bias:0": np.zeros(1, np.float32)}
    trained = {embedding: np.ones((4, 2), np.float32), "deep_logit/bias:0": np.ones(1, np.float32)}
    initial, summary = warm_start.warm_start_weights(fresh, trained, vocabulary, vocabulary, embedding)
    np.testing.assert_array_equal(initial[embedding], fresh[embedding])
    assert (summary.shared_words, summary.copied_rows, summary.copied) == (4, 0, ("deep_logit/bias:0",))
    assert summary.fresh == {embedding: "dimension 3, the earlier model's is 2"}


def test_same_vocabulary_copies_every_weight():
    old = _trained_old_model()
    trained = _weights(old)
    new = model.build_model(6, LENGTH, _matrix(seed=2), OPTIONS)
    embedding = new.get_layer(model.EMBEDDING_LAYER).embeddings.name
    initial, summary = warm_start.warm_start_weights(
        _weights(new), trained, OLD_VOCABULARY, OLD_VOCABULARY, embedding
    )
    assert summary.same_vocabulary and summary.shared_words == 6 and summary.fresh == {}
    assert initial.keys() == trained.keys()
    for name, value in initial.items():
        np.testing.assert_array_equal(value, trained[name])


def test_ngram_weights_carry_over_only_with_the_same_buckets_and_the_ratios_never():
    embedding = "embedding/embeddings:0"
    fresh = {
        embedding: np.zeros((3, 2), np.float32),
        "ngram_logit/coefficients:0": np.zeros(8, np.float32),
        "ngram_logit/log_count_ratios:0": np.full(8, 0.5, np.float32),
    }
    trained = {
        embedding: np.ones((3, 2), np.float32),
        "ngram_logit/coefficients:0": np.arange(8, dtype=np.float32),
        "ngram_logit/log_count_ratios:0": np.full(8, -1.0, np.float32),
    }
    vocabulary = ["<pad>", "<unk>", "a"]
    fixed = {"ngram_logit/log_count_ratios:0"}
    initial, summary = warm_start.warm_start_weights(fresh, trained, vocabulary, vocabulary, embedding, fixed)
    np.testing.assert_array_equal(initial["ngram_logit/coefficients:0"], np.arange(8))
    np.testing.assert_array_equal(initial["ngram_logit/log_count_ratios:0"], np.full(8, 0.5))
    assert summary.fresh == {"ngram_logit/log_count_ratios:0": "computed from this run's train split"}

    # Another transform.ngram_buckets: bucket i is other n-grams, so nothing is copied.
    more_buckets = {**fresh, "ngram_logit/coefficients:0": np.zeros(16, np.float32)}
    initial, summary = warm_start.warm_start_weights(
        more_buckets, trained, vocabulary, vocabulary, embedding, fixed
    )
    np.testing.assert_array_equal(initial["ngram_logit/coefficients:0"], np.zeros(16))
    assert summary.fresh["ngram_logit/coefficients:0"] == "shape [16], the earlier model's is [8]"
    assert summary.copied == (embedding,)


def test_another_dimension_or_a_weight_the_earlier_model_lacks_starts_fresh():
    vocabulary = ["<pad>", "<unk>", "a"]
    fresh = {
        "embedding/embeddings:0": np.zeros((3, 4), np.float32),
        "conv3/kernel:0": np.zeros(2, np.float32),
    }
    trained = {"embedding/embeddings:0": np.ones((3, 2), np.float32)}
    initial, summary = warm_start.warm_start_weights(
        fresh, trained, vocabulary, vocabulary, "embedding/embeddings:0"
    )
    assert summary.copied == ()
    assert summary.fresh == {
        "embedding/embeddings:0": "dimension 4, the earlier model's is 2",
        "conv3/kernel:0": "not in the earlier model",
    }
    np.testing.assert_array_equal(initial["embedding/embeddings:0"], np.zeros((3, 4)))


def test_a_vocabulary_with_a_repeated_word_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"the earlier vocabulary holds 'a' twice \(rows 2 and 3\)"):
        warm_start.embedding_rows(["<pad>", "<unk>", "a", "a"], ["<pad>", "<unk>", "a"])


def test_the_trainer_starts_from_a_model_artifact_read_from_its_saved_model(
    tmp_path, transform_output_factory
):
    """The executor's warm start reads the earlier Model artifact (SavedModel + vocabulary file) from disk."""
    old = _trained_old_model()
    old_output = transform_output_factory(OLD_TEXTS, TRANSFORM)
    base = standard_artifacts.Model()
    base.uri = str(tmp_path / "model")
    export.export_serving_model(old, old_output, model_artifact.serving_model_dir(base.uri))
    trained_rows = model.embedding_weights(old)
    model_artifact.write_embedding_artifacts(
        model_artifact.embeddings_dir(base.uri),
        OLD_VOCABULARY,
        trained=trained_rows,
        injected=_matrix(seed=1),
    )
    assert model_artifact.read_weights(base.uri).keys() == _weights(old).keys()

    fresh_matrix = _matrix(seed=2)
    new = model.build_model(6, LENGTH, fresh_matrix, OPTIONS)
    record = executor.warm_start_from(new, [base], NEW_VOCABULARY)

    rows = model.embedding_weights(new)
    np.testing.assert_array_equal(rows[5], trained_rows[2])  # "good"
    np.testing.assert_array_equal(rows[2], fresh_matrix[2])  # "great"
    np.testing.assert_array_equal(
        new.get_layer(model.DEEP_LOGIT_LAYER).get_weights()[0],
        old.get_layer(model.DEEP_LOGIT_LAYER).get_weights()[0],
    )
    assert record["model_uri"] == base.uri and record["shared_words"] == 5 and record["new_words"] == 1
    json.dumps(record)  # written as warm_start.json
    assert executor.warm_start_from(new, [], NEW_VOCABULARY) == {"model_uri": None, "model_id": None}

    # A vocabulary copied through a tool that wrote CRLF line ends is refused, naming the file and the fault.
    vocabulary_file = os.path.join(model_artifact.embeddings_dir(base.uri), model_artifact.VOCABULARY_FILE)
    with open(vocabulary_file, "wb") as file:
        file.write("".join(f"{token}\r\n" for token in OLD_VOCABULARY).encode())
    with pytest.raises(executor.WarmStartError) as raised:
        executor.warm_start_from(new, [base], NEW_VOCABULARY)
    assert str(raised.value) == (
        f"warm start: cannot read the model to start from, {base.uri} (Model artifact {base.id}, the served "
        f"model): DamagedFileError: {vocabulary_file}, line 1: ends in a carriage return (CRLF line ends) "
        "(restore that folder, or run with --trainer.warm_start false)"
    )


def test_the_run_report_says_what_the_warm_start_copied_or_that_there_was_no_model():
    small = _small_report()

    def rendered(warm_start: dict) -> str:
        return render.render_report(
            dataclasses.replace(small, training=dataclasses.replace(small.training, warm_start=warm_start))
        )

    warm = {
        "model_uri": "/runs/Trainer/model/7",
        "model_id": 7,
        "same_vocabulary": False,
        "shared_words": 5,
        "new_words": 1,
        "dropped_words": 1,
        "copied": ["embedding/embeddings:0", "dense/kernel:0"],
        "fresh": {"ngram_logit/log_count_ratios:0": "computed from this run's train split"},
    }
    text = rendered(warm)
    assert (
        '<p id="warm-start">Warm start from <code>/runs/Trainer/model/7</code> (new vocabulary):\n'
        "embedding rows of 5 shared words copied by word, 1 new word from the aligned matrix,\n"
        "1 word of the earlier vocabulary dropped; copied: embedding/embeddings:0, dense/kernel:0; "
        "fresh: ngram_logit/log_count_ratios:0 (computed from this run&#39;s train split).\n</p>"
    ) in text
    fresh_embedding = {**warm, "copied_rows": 0, "copied": ["dense/bias:0"]}
    text = rendered(fresh_embedding)
    assert (
        "no embedding row copied: every row from the aligned matrix (5 words shared),\n1 word of the" in text
    )
    assert "embedding rows of" not in text
    no_embedding = {
        **warm,
        **dict.fromkeys(VOCABULARY_FIGURES),
        "copied": ["ngram_logit/coefficients:0"],
    }
    text = rendered(no_embedding)
    assert (
        '<p id="warm-start">Warm start from <code>/runs/Trainer/model/7</code> (no embedding branch):\n'
        "copied: ngram_logit/coefficients:0; "
        "fresh: ngram_logit/log_count_ratios:0 (computed from this run&#39;s train split).\n</p>"
    ) in text
    text = rendered({"model_uri": None, "model_id": None})
    assert "Warm start asked for, but no earlier model was served: trained from scratch." in text
    assert 'id="warm-start"' not in render.render_report(small)


def test_with_warm_start_the_trainer_reads_the_resolved_model_and_the_steps_stay_the_same(tmp_path):
    config = build_config({"output": str(tmp_path), "trainer": {"warm_start": True}})
    pipeline = create_pipeline(config)
    by_id = {component.id: component for component in pipeline.components}
    resolver = by_id["warm_start_model_resolver"]
    # Models trained on the Trainer's own examples are left out, so an unchanged run is a cache hit.
    assert {node.id for node in resolver.upstream_nodes} == {"Transform"}
    assert by_id["Trainer"].inputs["base_model"].producer_component_id == "warm_start_model_resolver"
    # A resolver is not a step: the run log and the summary count the same steps.
    assert pipeline_steps(pipeline) == pipeline_steps(
        create_pipeline(build_config({"output": str(tmp_path)}))
    )
    cold = {
        component.id: component
        for component in create_pipeline(build_config({"output": str(tmp_path)})).components
    }
    assert "warm_start_model_resolver" not in cold and "base_model" not in cold["Trainer"].inputs


def test_kubeflow_pipelines_resolve_the_warm_start_model_with_tfx_own_strategy(tmp_path):
    config = build_config({"output": "gs://bucket/runs", "trainer": {"warm_start": True}})
    spec = kubeflow.compile_pipeline(config, str(tmp_path / "imdb.json"), "example/imdb:1")
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    assert {
        "warm_start_model_resolver-model-resolver",
        "warm_start_model_resolver-model-blessing-resolver",
    } <= set(tasks)
    base_model = tasks["Trainer"]["inputs"]["artifacts"]["base_model"]["taskOutputArtifact"]
    assert base_model["producerTask"] == "warm_start_model_resolver-model-resolver"


def _bag_shapes(inputs: int, units: int) -> dict[str, tuple[int, ...]]:
    """The shapes of a bag model's hidden layer (``inputs`` wide, ``units`` out) and output layer, by weight name."""
    return {
        "dense/kernel:0": (inputs, units),
        "dense/bias:0": (units,),
        "deep_logit/kernel:0": (units, 1),
        "deep_logit/bias:0": (1,),
    }


def _filled(value: float, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    return {name: np.full(shape, value, np.float32) for name, shape in shapes.items()}


def test_a_layer_is_copied_whole_or_not_at_all():
    """Another embedding dimension changes the first hidden kernel's shape: its bias stays fresh with it."""
    fresh = _filled(0, _bag_shapes(inputs=32, units=4))
    trained = _filled(1, _bag_shapes(inputs=50, units=4))
    initial, summary = warm_start.warm_start_weights(fresh, trained, [], ["<pad>", "<unk>"], None)
    assert summary.copied == ("deep_logit/kernel:0", "deep_logit/bias:0")
    assert summary.fresh == {
        "dense/kernel:0": "shape [32, 4], the earlier model's is [50, 4]",
        "dense/bias:0": "dense/kernel:0 of its layer starts fresh (shape [32, 4], the earlier model's is [50, 4])",
    }
    np.testing.assert_array_equal(initial["dense/bias:0"], np.zeros(4))
    np.testing.assert_array_equal(initial["deep_logit/kernel:0"], np.ones((4, 1)))


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["dense", "conv3", "deep_logit", "ngram_logit"]),
        st.dictionaries(st.sampled_from(["kernel", "bias", "gamma"]), st.sampled_from(["same", "other", "absent"]),
                        min_size=1),
        min_size=1,
    )
)  # fmt: skip
def test_any_layer_is_copied_whole_or_stays_whole_fresh(layers):
    fresh, trained = {}, {}
    for layer, weights in layers.items():
        for weight, how in weights.items():
            name = f"{layer}/{weight}:0"
            fresh[name] = np.zeros(2, np.float32)
            if how != "absent":
                trained[name] = np.ones(2 if how == "same" else 3, np.float32)
    initial, summary = warm_start.warm_start_weights(fresh, trained, [], [], None)
    for layer, weights in layers.items():
        names = [f"{layer}/{weight}:0" for weight in weights]
        whole = all(how == "same" for how in weights.values())
        assert all((name in summary.copied) == whole for name in names)
        assert all(initial[name].tolist() == ([1.0, 1.0] if whole else [0.0, 0.0]) for name in names)


def _ngram_model(transform_output, use_embeddings, coefficients):
    vocab_size = transform_output.vocabulary_size_by_name(features.VOCABULARY_NAME)
    options = OPTIONS.model_copy(update={"use_embeddings": use_embeddings})
    classifier = model.build_model(
        vocab_size, LENGTH, _matrix(seed=3)[:vocab_size], options, ngram_ratios=np.full(64, 0.5, np.float32)
    )
    classifier.get_layer(model.NGRAM_LAYER).coefficients.assign(coefficients)
    return classifier


@pytest.mark.parametrize(
    ("earlier_embeddings", "new_embeddings"), [(False, True), (True, False), (False, False)]
)
def test_a_warm_start_between_ngram_only_and_wide_and_deep_models_copies_the_ngram_coefficients(
    tmp_path, transform_output_factory, caplog, earlier_embeddings, new_embeddings
):
    """An n-gram-only model has no embedding and publishes no vocabulary: the other model starts from it all the same."""
    transform_output = transform_output_factory(
        OLD_TEXTS, TRANSFORM.model_copy(update={"ngram_max": 2, "ngram_buckets": 64})
    )
    trained = np.linspace(-1, 1, 64).astype(np.float32)
    old = _ngram_model(transform_output, earlier_embeddings, trained)
    base = standard_artifacts.Model()
    base.uri = str(tmp_path / "model")
    export.export_serving_model(old, transform_output, model_artifact.serving_model_dir(base.uri))
    if earlier_embeddings:
        model_artifact.write_embedding_artifacts(
            model_artifact.embeddings_dir(base.uri),
            OLD_VOCABULARY,
            trained=model.embedding_weights(old),
            injected=_matrix(seed=1),
        )
    new = _ngram_model(transform_output, new_embeddings, np.zeros(64, np.float32))
    with caplog.at_level(logging.INFO, logger="components.trainer.executor"):
        record = executor.warm_start_from(new, [base], OLD_VOCABULARY)
    np.testing.assert_array_equal(new.get_layer(model.NGRAM_LAYER).coefficients.numpy(), trained)
    assert "ngram_logit/coefficients:0" in record["copied"]
    if new_embeddings:
        assert record["fresh"]["embedding/embeddings:0"] == "not in the earlier model"
        np.testing.assert_array_equal(model.embedding_weights(new), _matrix(seed=3))
    else:
        assert not any(name.startswith("embedding/") for name in [*record["copied"], *record["fresh"]])
        # No embedding, so no rows copied and no vocabulary compared: the log says only what was copied.
        assert {key: record[key] for key in VOCABULARY_FIGURES} == dict.fromkeys(VOCABULARY_FIGURES)
        assert [line.getMessage() for line in caplog.records if line.name == executor.logger.name] == [
            f"Trainer: warm start from {base.uri}: no embedding branch; copied: ngram_logit/coefficients:0; "
            "fresh: ngram_logit/log_count_ratios:0 (computed from this run's train split)"
        ]


def test_after_a_change_of_architecture_the_layers_above_a_fresh_one_start_fresh():
    """A cnn's output layer fits a bag model of 192 hidden units, but was trained on max-pooled convolutions."""
    fresh = _filled(0, {**_bag_shapes(inputs=4, units=192), "ngram_logit/coefficients:0": (8,)})
    trained = _filled(
        1,
        {
            "conv3/kernel:0": (3, 4, 64),
            "deep_logit/kernel:0": (192, 1),
            "deep_logit/bias:0": (1,),
            "ngram_logit/coefficients:0": (8,),
        },
    )
    initial, summary = warm_start.warm_start_weights(
        fresh, trained, [], [], None, stacked=["dense", "deep_logit"]
    )
    assert summary.copied == ("ngram_logit/coefficients:0",)
    assert summary.fresh["deep_logit/kernel:0"] == "above dense, which starts fresh"
    assert summary.fresh["deep_logit/bias:0"] == "above dense, which starts fresh"
    np.testing.assert_array_equal(initial["deep_logit/kernel:0"], np.zeros((192, 1)))
    # The same architecture: everything above a copied layer is copied.
    same = {**trained, **_filled(1, _bag_shapes(inputs=4, units=192))}
    _, summary = warm_start.warm_start_weights(fresh, same, [], [], None, stacked=["dense", "deep_logit"])
    assert summary.fresh == {}
