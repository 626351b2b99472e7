"""Reads a run's artifacts into :class:`~components.report.sections.ReportData`.

The same reader serves the pipeline step (artifacts handed to the executor) and
``imdb-pipeline report`` (artifacts found in ML Metadata): both describe an
artifact as an :class:`ArtifactRef`, its URI and custom properties. Every input
is optional; a missing one leaves its section out.
"""

from collections.abc import Callable, Iterator, Mapping
import contextlib
import datetime
import json
import os
from typing import Any

import numpy as np
import tensorflow as tf
from tfx.components.example_gen import utils as example_gen_utils

from components import neighbors
from components.artifacts import drift_anomalies, embedding_matrix, quarantine, run_report, transform_graph
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from components.artifacts import model as model_artifact
from components.artifacts import statistics as statistics_artifact
from components.artifacts.evaluation import read_blessing
from components.artifacts.model import read_matrix, read_vocabulary
from components.artifacts.pushed_model import read_push
from components.artifacts.ref import ArtifactRef
from components.report import analysis
from components.report.sections import (
    CONFUSION_COUNTS,
    CalibrationBucket,
    Curve,
    DataReport,
    EmbeddingReport,
    EvaluationReport,
    LineageReport,
    Neighbours,
    Projection,
    ReportData,
    StepRecord,
    ThresholdCheck,
    TrainingReport,
)
from schemas import features

# Words whose neighbours are shown; those missing from the vocabulary are skipped.
PROBE_WORDS = ("great", "awful", "boring", "excellent", "worst", "funny", "masterpiece", "disappointing")
NEIGHBOURS = 6
PROJECTED_WORDS = 300
EXAMPLE_GEN_STEP = "FileBasedExampleGen"
# Metrics table order: the project's metrics (components/artifacts/evaluation.py) first.
METRIC_ORDER = (evaluation_artifact.EXAMPLE_COUNT, *evaluation_artifact.REPORTED_METRICS)


def collect_report(
    inputs: Mapping[str, ArtifactRef],
    step_properties: Mapping[str, Mapping[str, str]],
    versions: Mapping[str, str],
    title: str,
    run_id: str | None = None,
    steps: tuple[StepRecord, ...] = (),
) -> ReportData:
    """Reads every section of a run's report from ``inputs`` (``run_report.INPUT_KEYS`` -> artifact).

    ``step_properties`` (step -> execution property -> value) and ``versions`` (of the libraries
    that ran the steps) are shown in the lineage.
    """
    max_length, vocabulary = None, None
    if transform := inputs.get(run_report.TRANSFORM_GRAPH):
        max_length, vocabulary = transform_graph.read_transform(transform.uri)
    data, shares = read_data(inputs, max_length)
    model_run = inputs.get(run_report.MODEL_RUN)
    evaluation = inputs.get(run_report.EVALUATION)
    infra_blessing = inputs.get(run_report.INFRA_BLESSING)
    return ReportData(
        title=title,
        generated_at=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        data=data,
        embeddings=embedding_report(
            inputs.get(run_report.MODEL), inputs.get(run_report.EMBEDDING), vocabulary, shares
        ),
        training=read_training(model_run.uri) if model_run else None,
        evaluation=read_evaluation(evaluation.uri, inputs.get(run_report.BLESSING)) if evaluation else None,
        lineage=lineage_report(inputs, step_properties, versions, run_id, steps),
        canary=canary_results.read_result(infra_blessing.uri) if infra_blessing else None,
    )


def read_data(
    inputs: Mapping[str, ArtifactRef], max_length: int | None
) -> tuple[DataReport | None, dict[str, float] | None]:
    """The data section (None without examples or statistics): StatisticsGen's figures, ExampleGen's
    quarantine, the drift check's comparisons; and per frequent vocabulary word the share of positive
    train reviews among those containing it (None without train statistics).
    """
    examples, statistics, drift = (
        inputs.get(key) for key in (run_report.EXAMPLES, run_report.STATISTICS, run_report.DRIFT)
    )
    if not (examples or statistics):
        return None, None
    found = statistics_artifact.read_statistics(statistics.uri) if statistics else None
    set_aside, samples = quarantine.read_quarantine(examples) if examples else (None, {})
    train = found.splits.get(features.TRAIN) if found else None
    report = DataReport(
        uri=examples.uri if examples else statistics.uri,
        splits=tuple(found.splits.values()) if found else (),
        max_length=max_length,
        quarantine=set_aside,
        quarantine_samples=samples,
        leakage=found.duplicates if found else None,
        statistics_uri=statistics.uri if statistics else None,
        drift=drift_anomalies.read_findings(drift.uri) if drift else None,
    )
    return report, (train.word_positive_share or None) if train else None


def _read_if_present(read: Callable[[str], Any], *parts: str) -> Any:
    path = os.path.join(*parts)
    return read(path) if tf.io.gfile.exists(path) else None


def _neighbours(
    matrix: np.ndarray | None, vocabulary: list[str], words: list[str]
) -> dict[str, list[tuple[str, float]]]:
    if matrix is None or not words:
        return {}
    return neighbors.nearest_neighbors(neighbors.Embeddings(tuple(vocabulary), matrix), words, NEIGHBOURS)


def embedding_report(
    model: ArtifactRef | None,
    embedding: ArtifactRef | None,
    vocabulary: list[str] | None,
    shares: dict[str, float] | None,
) -> EmbeddingReport | None:
    """The vocabulary and embeddings section; None without a vocabulary or the aligner's coverage.

    The matrices are those published with the model (trained and injected);
    without a model, the aligner's matrix is the injected one. The vocabulary
    is the model's, else the aligner's, else the Transform's.
    """
    found = injected = trained = coverage = None
    if model:
        directory = model_artifact.embeddings_dir(model.uri)
        found = _read_if_present(read_vocabulary, directory, model_artifact.VOCABULARY_FILE)
        trained = _read_if_present(read_matrix, directory, model_artifact.TRAINED_MATRIX_FILE)
        injected = _read_if_present(read_matrix, directory, model_artifact.INJECTED_MATRIX_FILE)
    if embedding:
        coverage = embedding_matrix.read_coverage(embedding.uri)
        if injected is None:
            injected = _read_if_present(read_matrix, embedding.uri, embedding_matrix.MATRIX_FILE)
            found = found or _read_if_present(
                read_vocabulary, embedding.uri, embedding_matrix.VOCABULARY_FILE
            )
    vocabulary = found if found is not None else vocabulary
    if vocabulary is None and coverage is None:
        return None
    if vocabulary is not None:
        for matrix in (injected, trained):
            if matrix is not None and matrix.shape[0] != len(vocabulary):
                raise ValueError(
                    f"an embedding matrix has {matrix.shape[0]} rows; the vocabulary has {len(vocabulary)}"
                )
    reference = trained if trained is not None else injected
    both_matrices = injected is not None and trained is not None
    projected = features.vocabulary_words(vocabulary or [])[:PROJECTED_WORDS]
    projection = None
    if both_matrices and len(projected) >= 2:
        index = {token: i for i, token in enumerate(vocabulary)}
        rows = [index[word] for word in projected]
        before, explained_before = analysis.pca_2d(injected[rows])
        after, explained_after = analysis.pca_2d(trained[rows])
        projection = Projection(
            words=tuple(projected),
            before=before,
            after=after,
            positive_share=tuple(shares.get(word, np.nan) for word in projected) if shares else None,
            explained=(sum(explained_before), sum(explained_after)),
        )
    neighbours = []
    if vocabulary and reference is not None:
        probes = [word for word in PROBE_WORDS if word in vocabulary]
        before = _neighbours(injected, vocabulary, probes)
        after = _neighbours(trained, vocabulary, probes)
        neighbours = [
            Neighbours(word, tuple(before.get(word, ())), tuple(after.get(word, ()))) for word in probes
        ]
    return EmbeddingReport(
        vocabulary_size=len(vocabulary) if vocabulary is not None else None,
        dimension=int(reference.shape[1]) if reference is not None else (coverage or {}).get("dimension"),
        coverage=coverage,
        projection=projection,
        neighbours=tuple(neighbours),
        fine_tuned=not np.array_equal(injected, trained) if both_matrices else None,
    )


def read_training(model_run_uri: str) -> TrainingReport | None:
    """The Trainer's per-epoch history (``model_run/history.json``) and warm start, None when absent."""
    history = model_artifact.read_history(model_run_uri)
    if history is None:
        return None
    return TrainingReport(
        history=history,
        best_epoch=analysis.best_epoch(history),
        warm_start=model_artifact.read_warm_start(model_run_uri),
    )


def _thresholds(config: Any) -> Iterator[tuple[str, str, Any]]:
    """(metric name, slice name, MetricThreshold) of every threshold in an EvalConfig.

    Thresholds on the overall slice (evaluations written before slicing) are on the test split.
    """
    if config is None:
        return
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            name = json.loads(metric.config or "{}").get("name", metric.class_name)
            if metric.HasField("threshold"):
                yield name, evaluation_artifact.TEST_SPLIT_SLICE, metric.threshold
            for per_slice in metric.per_slice_thresholds:
                for slicing_spec in per_slice.slicing_specs:
                    values = dict(slicing_spec.feature_values)
                    yield name, evaluation_artifact.slice_name(values), per_slice.threshold


def _confusion_curve(matrices: Any) -> Curve:
    """TFMA's confusion matrices at thresholds as a :class:`Curve`."""
    columns = {
        field: np.array([getattr(matrix, field) for matrix in matrices.matrices], dtype=np.float64)
        for field in ("threshold", *CONFUSION_COUNTS)
    }
    return Curve(thresholds=columns.pop("threshold"), **columns)


def _calibration(histogram: Any) -> tuple[CalibrationBucket, ...]:
    """The histogram's non-empty buckets."""
    return tuple(
        CalibrationBucket(
            # TFMA's first and last buckets reach to -inf and +inf (a prediction of exactly 1.0).
            lower=min(max(bucket.lower_threshold_inclusive, 0.0), 1.0),
            upper=min(max(bucket.upper_threshold_exclusive, 0.0), 1.0),
            examples=examples,
            mean_prediction=bucket.total_weighted_refined_prediction.value / examples,
            positive_rate=bucket.total_weighted_label.value / examples,
        )
        for bucket in histogram.buckets
        if (examples := bucket.num_weighted_examples.value) > 0
    )


def _ordered(metrics: dict[str, float]) -> dict[str, float]:
    """The configured metrics first, in ``METRIC_ORDER``, then any other in name order."""
    rank = {name: i for i, name in enumerate(METRIC_ORDER)}
    return dict(sorted(metrics.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def read_evaluation(uri: str, blessing: ArtifactRef | None = None) -> EvaluationReport:
    """Reads the Evaluator's output: metrics and plots of the test split, per-slice metrics, validation, blessing.

    Metrics, diffs and validation come from :func:`components.artifacts.evaluation.read_evaluation`;
    this adds the EvalConfig's thresholds, the confusion matrices and the plots.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    try:
        config, _data, _format, model_locations = eval_config_writer.load_eval_run(uri)
    except (OSError, ValueError, tf.errors.NotFoundError):
        config, model_locations = None, {}
    evaluation = evaluation_artifact.read_evaluation(uri)
    candidate, baseline = evaluation.candidate_model, evaluation.baseline_model
    metrics = {
        model: _ordered(values)
        for model, values in (
            (candidate, evaluation.candidate_metrics),
            (baseline, evaluation.baseline_metrics),
        )
        if values
    }
    confusion = {
        key.model_name: analysis.confusion_at(
            _confusion_curve(value.confusion_matrix_at_thresholds), evaluation_artifact.DECISION_THRESHOLD
        )
        for key, value in evaluation_artifact.headline_metrics(uri)
        if key.name == evaluation_artifact.CONFUSION_MATRIX
        and value.HasField("confusion_matrix_at_thresholds")
    }

    curves: dict[str, Curve] = {}
    calibration: dict[str, tuple[CalibrationBucket, ...]] = {}
    plots_for_slice = evaluation_artifact.headline_of(tfma.load_plots(uri))
    plots = plots_for_slice.plot_keys_and_values if plots_for_slice is not None else ()
    for key_and_value in plots:
        model, value = key_and_value.key.model_name, key_and_value.value
        if value.HasField("confusion_matrix_at_thresholds"):
            curves[model] = _confusion_curve(value.confusion_matrix_at_thresholds)
        if value.HasField("calibration_histogram_buckets"):
            calibration[model] = _calibration(value.calibration_histogram_buckets)
    slices = evaluation_artifact.read_slice_metrics(uri, candidate)
    by_slice = {metrics.name: metrics.as_dict() for metrics in slices}

    validated = evaluation.validation_ok is not None
    diffs, failed = evaluation.diffs, evaluation.failed
    checks = []
    for name, slice_name, threshold in _thresholds(config):
        on_test_split = slice_name == evaluation_artifact.TEST_SPLIT_SLICE
        if threshold.HasField("value_threshold"):
            checks.append(
                ThresholdCheck(
                    name if on_test_split else f"{name} ({slice_name})",
                    evaluation_artifact.describe_bound(threshold.value_threshold),
                    evaluation.candidate_metrics.get(name)
                    if on_test_split
                    else by_slice.get(slice_name, {}).get(name),
                    (name, False, slice_name) not in failed if validated else None,
                )
            )
        if threshold.HasField("change_threshold") and on_test_split:
            compared = baseline is not None and name in diffs
            checks.append(
                ThresholdCheck(
                    name,
                    evaluation_artifact.describe_change_condition(threshold.change_threshold),
                    diffs.get(name) if compared else None,
                    (name, True, slice_name) not in failed if validated and compared else None,
                    change=True,
                )
            )
    return EvaluationReport(
        candidate=candidate,
        baseline=baseline,
        metrics=metrics,
        diffs=diffs,
        curves=curves,
        calibration=calibration,
        checks=tuple(checks),
        validation_ok=evaluation.validation_ok,
        failures=evaluation.failures,
        blessed=read_blessing(blessing),
        model_locations=dict(model_locations or {}),
        confusion=confusion,
        slices=slices,
    )


def _data_source(step_properties: Mapping[str, Mapping[str, str]]) -> str | None:
    example_gen = step_properties.get(EXAMPLE_GEN_STEP)
    if not example_gen or "input_base" not in example_gen:
        return None
    patterns = []
    with contextlib.suppress(ValueError, KeyError, TypeError):  # an unexpected input_config
        patterns = [split["pattern"] for split in json.loads(example_gen.get("input_config", "{}"))["splits"]]
    base = example_gen["input_base"]
    return ", ".join(os.path.join(base, pattern) for pattern in patterns) if patterns else base


def lineage_report(
    inputs: Mapping[str, ArtifactRef],
    step_properties: Mapping[str, Mapping[str, str]],
    versions: Mapping[str, str],
    run_id: str | None = None,
    steps: tuple[StepRecord, ...] = (),
) -> LineageReport:
    """Data source, configuration, versions and push of a run."""
    examples = inputs.get(run_report.EXAMPLES)
    properties = examples.properties if examples else {}
    span = properties.get(example_gen_utils.SPAN_PROPERTY_NAME)
    return LineageReport(
        data=_data_source(step_properties),
        span=span if isinstance(span, int) else None,
        fingerprint=properties.get(example_gen_utils.FINGERPRINT_PROPERTY_NAME),
        step_properties={step: dict(values) for step, values in step_properties.items()},
        versions=dict(versions),
        artifacts=tuple((key, inputs[key].uri) for key in run_report.INPUT_KEYS if key in inputs),
        push=read_push(inputs.get(run_report.PUSHED_MODEL)),
        run_id=run_id,
        steps=steps,
    )
