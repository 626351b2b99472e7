"""Sliced evaluation: the EvalSlices step, the TFMA slices and thresholds, the per-slice reader.

The slow tests score a tiny hand-made test split with TFX's own Evaluator
executor and the model the shared end-to-end run pushed, then check the
artifact's per-slice numbers against the pushed SavedModel's probabilities on
the same examples, thresholded at the pipeline's decision threshold, and that
a short-text threshold above what the model reaches stops the push.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from pathlib import Path
import re

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pyarrow as pa
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import config_pb2
from tfx.components.evaluator import executor as evaluator_executor
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import pushed_model
from components.evaluator import executor as project_evaluator
from components.evaluator import scoring
from components.evaluator.eval_config import make_eval_config
from components.evaluator.options import EvaluationOptions
from components.pusher import executor as pusher_executor
from components.pusher.options import PushOptions
from components.report import render
from components.slicing import executor as slicing_executor
from components.slicing.slices import first_sentence, length_bucket
from pipeline.pipeline import beam_args_with_dependencies
from schemas import features
from tests.test_report import _small_report

BEAM_ARGS = ["--runner=FnApiRunner"]
FULL_SPLIT, FIRST_SENTENCE_SPLIT = features.SLICED_TEST_SPLITS
NEUTRAL = "I watched this film on a rainy Sunday afternoon."
SENTENCES = {
    features.POSITIVE_LABEL: "It is a wonderful, moving masterpiece with brilliant acting and a beautiful score.",
    features.NEGATIVE_LABEL: "It is an awful, boring waste of time with terrible acting and a stupid plot.",
}


def _review(first: str, label: int, repeat: int) -> str:
    return first + "<br /><br />" + " ".join([SENTENCES[label]] * repeat)


# (rating, text): every rating twice; half the reviews open with the same neutral
# sentence (two per rating class of each label), so no model scores every first
# sentence right: at most 12 of 16. Lengths reach every length bucket.
TINY_TEST_SPLIT = [
    (rating, _review(first, int(rating >= 7), repeat))
    for rating, first, repeat in [
        (1, "Awful.", 1),
        (1, NEUTRAL, 8),
        (2, "The worst film I have ever seen!", 20),
        (2, NEUTRAL, 1),
        (3, "Boring and stupid.", 2),
        (3, NEUTRAL, 30),
        (4, "A waste of time.", 1),
        (4, NEUTRAL, 3),
        (7, "A wonderful film.", 1),
        (7, NEUTRAL, 8),
        (8, "Brilliant!", 20),
        (8, NEUTRAL, 1),
        (9, "A moving masterpiece.", 2),
        (9, NEUTRAL, 30),
        (10, "Beautiful and brilliant.", 1),
        (10, NEUTRAL, 3),
    ]
]


def _example(review_id: int, rating: int, text: str) -> tf.train.Example:
    def ints(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    def strings(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    return tf.train.Example(
        features=tf.train.Features(
            feature={
                features.TEXT: strings(text),
                features.LABEL: ints(int(rating >= 7)),
                features.RATING: ints(rating),
                features.REVIEW_ID: ints(review_id),
                features.SOURCE: strings(f"test/{'pos' if rating >= 7 else 'neg'}/{review_id}_{rating}.txt"),
            }
        )
    )


def _artifact(artifact_type, uri: Path):
    artifact = artifact_type()
    artifact.uri = str(uri)
    os.makedirs(uri, exist_ok=True)
    return artifact


def _raw_test_examples(root: Path, reviews) -> standard_artifacts.Examples:
    examples = _artifact(standard_artifacts.Examples, root / "examples")
    examples.split_names = artifact_utils.encode_split_names([features.TRAIN, features.TEST])
    split_dir = root / "examples" / f"Split-{features.TEST}"
    split_dir.mkdir()
    with tf.io.TFRecordWriter(str(split_dir / "data.gz"), options="GZIP") as writer:
        for review_id, (rating, text) in enumerate(reviews):
            writer.write(_example(review_id, rating, text).SerializeToString())
    return examples


def _run_eval_slices(root: Path, reviews) -> standard_artifacts.Examples:
    examples = _raw_test_examples(root, reviews)
    sliced = _artifact(standard_artifacts.Examples, root / "sliced")
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(BEAM_ARGS)
    )
    slicing_executor.Executor(context).Do(
        {standard_component_specs.EXAMPLES_KEY: [examples]}, {"sliced_examples": [sliced]}, {}
    )
    return sliced


def _read_split(examples, split: str) -> list[tf.train.Example]:
    pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
    records = tf.data.TFRecordDataset(sorted(glob.glob(pattern)), compression_type="")
    parsed = [tf.train.Example.FromString(record.numpy()) for record in records]
    return sorted(
        parsed, key=lambda example: example.features.feature[features.REVIEW_ID].int64_list.value[0]
    )


def _string(example: tf.train.Example, name: str) -> str:
    return example.features.feature[name].bytes_list.value[0].decode("utf-8")


def test_eval_slices_writes_the_test_reviews_with_their_slicing_features_and_their_first_sentences(tmp_path):
    reviews = [
        (1, "Awful.<br /><br />Just awful."),
        (10, "A masterpiece!   I loved " + "it " * 120),
        (7, "Mr. Smith goes to town. " + "Fine film. " * 300),
    ]
    sliced = _run_eval_slices(tmp_path, reviews)
    assert artifact_utils.decode_split_names(sliced.split_names) == list(features.SLICED_TEST_SPLITS)
    full, sentences = _read_split(sliced, FULL_SPLIT), _read_split(sliced, FIRST_SENTENCE_SPLIT)
    # Tokens: "awful . just awful ." = 5; "a masterpiece ! i loved" + 120 x "it" = 125; 6 + 300 x 3 = 906.
    assert [_string(example, features.LENGTH_BUCKET) for example in full] == ["0-99", "100-249", "500+"]
    assert {_string(example, features.EVALUATION_SET) for example in full} == {features.FULL_REVIEW}
    assert [_string(example, features.TEXT) for example in full] == [text for _rating, text in reviews]
    assert [_string(example, features.TEXT) for example in sentences] == [
        "Awful.",
        "A masterpiece!",
        "Mr. Smith goes to town.",
    ]
    assert {_string(example, features.EVALUATION_SET) for example in sentences} == {features.FIRST_SENTENCE}
    assert all(features.LENGTH_BUCKET not in example.features.feature for example in sentences)
    # Everything else as ExampleGen wrote it.
    for original, copy in zip(full, sentences, strict=True):
        for name in (features.LABEL, features.RATING, features.REVIEW_ID, features.SOURCE):
            assert copy.features.feature[name] == original.features.feature[name]


def test_the_evaluation_slices_and_the_thresholds_on_them():
    config = make_eval_config(EvaluationOptions())
    full = {features.EVALUATION_SET: features.FULL_REVIEW}
    assert [(list(spec.feature_keys), dict(spec.feature_values)) for spec in config.slicing_specs] == [
        ([], full),
        ([], {features.EVALUATION_SET: features.FIRST_SENTENCE}),
        ([features.RATING], full),
        ([features.LENGTH_BUCKET], full),
    ]
    thresholds = {
        json.loads(metric.config)["name"]: [
            ([dict(spec.feature_values) for spec in per_slice.slicing_specs], per_slice.threshold)
            for per_slice in metric.per_slice_thresholds
        ]
        for metric in config.metrics_specs[0].metrics
        if metric.per_slice_thresholds
    }
    # Off by default: the blessing thresholds are on the full reviews (the test split) only.
    assert sorted(thresholds) == ["accuracy", "auc"]
    ((slices, accuracy),) = thresholds["accuracy"]
    assert slices == [full]
    assert accuracy.value_threshold.lower_bound.value == 0.70
    assert accuracy.change_threshold.absolute.value == -0.01
    assert not any(metric.HasField("threshold") for metric in config.metrics_specs[0].metrics)

    strict = make_eval_config(EvaluationOptions(min_short_text_accuracy=0.8))
    (accuracy_metric,) = [m for m in strict.metrics_specs[0].metrics if m.class_name == "BinaryAccuracy"]
    short_text = accuracy_metric.per_slice_thresholds[1]
    assert [dict(spec.feature_values) for spec in short_text.slicing_specs] == [
        {features.EVALUATION_SET: features.FIRST_SENTENCE}
    ]
    assert short_text.threshold == config_pb2.MetricThreshold(
        value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.8})
    )


def test_slice_names_and_order():
    names = [
        "rating=10",
        "length_bucket=500+",
        "first_sentence",
        "rating=2",
        "length_bucket=0-99",
        "full_review",
    ]
    ordered = sorted(names, key=evaluation_artifact._slice_order)
    assert ordered == [
        "full_review",
        "first_sentence",
        "rating=2",
        "rating=10",
        "length_bucket=0-99",
        "length_bucket=500+",
    ]
    assert evaluation_artifact.slice_name({}) == "full_review"  # an evaluation written before slicing
    assert evaluation_artifact.slice_name({"evaluation_set": "full_review", "rating": "7"}) == "rating=7"


def test_the_report_shows_each_slice_in_a_table_and_a_plot():
    report = _small_report()
    slices = (
        evaluation_artifact.SliceMetrics("full_review", 4, 0.75, 0.8125),
        evaluation_artifact.SliceMetrics("first_sentence", 4, 0.5, 0.625),
        evaluation_artifact.SliceMetrics("rating=1", 2, 1.0, None),
    )
    report = dataclasses.replace(report, evaluation=dataclasses.replace(report.evaluation, slices=slices))
    text = render.render_report(report)
    rows = re.findall(r'<tr data-slice="([^"]+)">(.*?)</tr>', text, flags=re.S)
    assert [name for name, _row in rows] == ["full_review", "first_sentence", "rating=1"]
    cells = [re.findall(r'data-(examples|accuracy|auc)="([^"]+)"', row) for _name, row in rows]
    assert cells == [
        [("examples", "4"), ("accuracy", "0.75"), ("auc", "0.8125")],
        [("examples", "4"), ("accuracy", "0.5"), ("auc", "0.625")],
        [("examples", "2"), ("accuracy", "1.0")],  # AUC undefined on one label: shown as a dash
    ]
    assert 'alt="Accuracy per slice"' in text
    assert 'alt="Accuracy per slice"' not in render.render_report(_small_report())


# --- against a trained model ----------------------------------------------------------------------


def _evaluate(root: Path, sliced, model, options: EvaluationOptions):
    evaluation = _artifact(standard_artifacts.ModelEvaluation, root / "evaluation")
    blessing = _artifact(standard_artifacts.ModelBlessing, root / "blessing")
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(BEAM_ARGS)
    )
    project_evaluator.Executor(context).Do(
        {standard_component_specs.EXAMPLES_KEY: [sliced], standard_component_specs.MODEL_KEY: [model]},
        {
            standard_component_specs.EVALUATION_KEY: [evaluation],
            standard_component_specs.BLESSING_KEY: [blessing],
        },
        {
            standard_component_specs.EVAL_CONFIG_KEY: proto_utils.proto_to_json(make_eval_config(options)),
            standard_component_specs.EXAMPLE_SPLITS_KEY: json.dumps(list(features.SLICED_TEST_SPLITS)),
        },
    )
    return evaluation, blessing


def _push(root: Path, model, blessing, evaluation, serving: Path):
    pushed = _artifact(standard_artifacts.PushedModel, root / "pushed")
    pusher_executor.Executor().Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.MODEL_BLESSING_KEY: [blessing],
            "evaluation": [evaluation],
        },
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {"serving_model_dir": str(serving), "options": PushOptions().to_json()},
    )
    return pushed


def _exact_auc(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """ROC AUC from all (positive, negative) pairs, and how far TFMA's may be from it.

    TFMA's AUC counts predictions in 10,000 equal buckets: a pair of opposite
    labels whose predictions are closer than two buckets may be ordered either way.
    """
    positives, negatives = probabilities[labels == 1], probabilities[labels == 0]
    difference = positives[:, None] - negatives[None, :]
    pairs = difference.size
    auc = (np.sum(difference > 0) + 0.5 * np.sum(difference == 0)) / pairs
    return float(auc), float(np.sum(np.abs(difference) < 2e-4) / pairs)


@pytest.mark.slow
def test_per_slice_metrics_equal_the_pushed_models_predictions_and_a_short_text_threshold_blocks_the_push(
    pushed_run, tmp_path, monkeypatch
):
    # The project's executor, scoring at most 3 reviews a call: Beam's larger batches are split.
    monkeypatch.setattr(scoring, "SCORING_BATCH_SIZE", 3)
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    (model_uri,) = glob.glob(str(output / "pipeline_root" / "Trainer" / "model" / "*"))
    model = standard_artifacts.Model()
    model.uri = model_uri
    (version,) = os.listdir(output / "serving" / "imdb_sentiment")
    served = tf.saved_model.load(str(output / "serving" / "imdb_sentiment" / version))
    predict = served.signatures[features.EXAMPLES_SIGNATURE]

    sliced = _run_eval_slices(tmp_path / "data", TINY_TEST_SPLIT)
    # Only the short-text threshold can fail.
    lenient = {"min_accuracy": 0.0, "min_auc": 0.0}
    evaluation, blessing = _evaluate(tmp_path / "default", sliced, model, EvaluationOptions(**lenient))

    # The direct computation: the pushed model on the same examples, at the decision threshold.
    expected: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in features.SLICED_TEST_SPLITS:
        examples = _read_split(sliced, split)
        serialized = tf.constant([example.SerializeToString() for example in examples])
        probabilities = predict(**{features.EXAMPLES_INPUT: serialized})[features.PROBABILITY_OUTPUT]
        probabilities = probabilities.numpy().reshape(-1)
        labels = np.array(
            [example.features.feature[features.LABEL].int64_list.value[0] for example in examples]
        )
        ratings = [example.features.feature[features.RATING].int64_list.value[0] for example in examples]
        if split == FULL_SPLIT:
            expected[features.FULL_REVIEW] = (labels, probabilities)
            for rating in sorted(set(ratings)):
                rows = np.array(ratings) == rating
                expected[f"rating={rating}"] = (labels[rows], probabilities[rows])
            buckets = [_string(example, features.LENGTH_BUCKET) for example in examples]
            for bucket in sorted(set(buckets)):
                rows = np.array(buckets) == bucket
                expected[f"length_bucket={bucket}"] = (labels[rows], probabilities[rows])
        else:
            assert [_string(example, features.TEXT) for example in examples] == [
                first_sentence(text) for _rating, text in TINY_TEST_SPLIT
            ]
            expected[features.FIRST_SENTENCE] = (labels, probabilities)
    assert sorted(name for name in expected if name.startswith("length_bucket=")) == sorted(
        f"length_bucket={length_bucket(n)}" for n in (0, 100, 250, 500)
    )

    slices = evaluation_artifact.read_slice_metrics(evaluation.uri)
    assert sorted(metrics.name for metrics in slices) == sorted(expected)
    for metrics in slices:
        labels, probabilities = expected[metrics.name]
        accuracy = float(np.mean((probabilities >= evaluation_artifact.DECISION_THRESHOLD) == labels))
        assert metrics.example_count == len(labels), metrics.name
        assert metrics.accuracy == pytest.approx(accuracy, abs=1e-9), metrics.name
        if len(set(labels)) == 1:
            assert metrics.auc is None, metrics.name  # one label: undefined
        else:
            auc, ambiguous = _exact_auc(labels, probabilities)
            assert abs(metrics.auc - auc) <= ambiguous + 1e-6, (metrics.name, metrics.auc, auc)
    by_name = {metrics.name: metrics for metrics in slices}
    # The headline metrics are the full reviews', not a mix with the first sentences.
    headline = evaluation_artifact.read_evaluation(evaluation.uri).candidate_metrics
    assert headline[evaluation_artifact.EXAMPLE_COUNT] == len(TINY_TEST_SPLIT)
    assert headline[evaluation_artifact.ACCURACY] == by_name[features.FULL_REVIEW].accuracy
    short_text_accuracy = by_name[features.FIRST_SENTENCE].accuracy
    assert short_text_accuracy <= 12 / 16  # the neutral first sentences: half of them are wrong

    # Blessed without a short-text threshold: pushed, with the slices in the manifest.
    serving = tmp_path / "serving" / "imdb_sentiment"
    assert blessing.get_int_custom_property("blessed") == 1
    pushed = _push(tmp_path / "default", model, blessing, evaluation, serving)
    assert pushed.get_int_custom_property("pushed") == 1
    (pushed_version,) = os.listdir(serving)
    manifest = pushed_model.read_manifest(str(serving / pushed_version))
    assert manifest["evaluation"]["slices"] == {metrics.name: metrics.as_dict() for metrics in slices}

    # A short-text threshold above what the model reaches: not blessed, not pushed, and the reason named.
    strict = EvaluationOptions(**lenient, min_short_text_accuracy=0.8)
    evaluation, blessing = _evaluate(tmp_path / "strict", sliced, model, strict)
    assert blessing.get_int_custom_property("blessed") == 0
    result = evaluation_artifact.read_evaluation(evaluation.uri)
    assert result.failures == (
        f"accuracy on slice first_sentence {short_text_accuracy:.4f}; required >= 0.8",
    )
    assert result.failed == frozenset({("accuracy", False, features.FIRST_SENTENCE)})
    pushed = _push(tmp_path / "strict", model, blessing, evaluation, serving)
    assert pushed.get_int_custom_property("pushed") == 0
    assert os.listdir(serving) == [pushed_version]


# --- scoring batches --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(min_value=0, max_value=40), size=st.integers(min_value=1, max_value=12))
def test_scoring_batches_hold_every_row_once_in_order_and_at_most_the_batch_size(rows, size):
    record_batch = pa.RecordBatch.from_pydict({"row": list(range(rows))})
    parts = list(scoring.split_record_batch(record_batch, size))
    assert [row for part in parts for row in part.column("row").to_pylist()] == list(range(rows))
    assert [part.num_rows for part in parts] == [size] * (rows // size) + (
        [rows % size] if rows % size else []
    )


def test_the_evaluator_scores_batches_of_at_most_256_reviews_before_tfmas_own_extractors(monkeypatch):
    record_batch = pa.RecordBatch.from_pydict({"row": list(range(600))})
    parts = list(scoring.split_extracts({tfma.ARROW_RECORD_BATCH_KEY: record_batch, "other": 7}))
    assert [part[tfma.ARROW_RECORD_BATCH_KEY].num_rows for part in parts] == [256, 256, 88]
    assert [part["other"] for part in parts] == [7, 7, 7]

    # The properties the project's executor hands TFX's name the extractors TFX's executor uses.
    handed = {}
    monkeypatch.setattr(
        evaluator_executor.Executor,
        "Do",
        lambda _self, _inputs, _outputs, properties: handed.update(properties),
    )
    project_evaluator.Executor().Do({}, {}, {standard_component_specs.EVAL_CONFIG_KEY: "{}"})
    # As TFX's executor prepares it on a first run (no baseline).
    eval_config = tfma.utils.update_eval_config_with_defaults(
        make_eval_config(EvaluationOptions()), has_baseline=False, rubber_stamp=True
    )
    extractors = udf_utils.try_get_fn(handed, "custom_extractors")(None, eval_config, None)
    assert [extractor.stage_name for extractor in extractors] == [
        scoring.SPLIT_STAGE_NAME,
        *(extractor.stage_name for extractor in tfma.default_extractors(eval_config=eval_config)),
    ]
