"""What a run report shows, as plain data: read from artifacts once, then rendered.

Every section is optional: a report is rendered from whatever artifacts a run
has (a run that stopped before the Evaluator, a run without a push, an older
run whose evaluation has no plots), and says what is absent instead of failing.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from components.artifacts.drift_anomalies import Finding
from components.artifacts.evaluation import SliceMetrics
from components.artifacts.statistics import Duplicates


@dataclasses.dataclass(frozen=True)
class SplitStats:
    """One ExampleGen split.

    Attributes:
        name: Split name (``features.TRAIN`` ...).
        examples: Number of examples.
        labels: Examples per label name (``negative``, ``positive``, ``unlabeled``).
        lengths: Tokens per review (the Transform's tokenisation, before
            truncation); None when unknown.
        oov_share: Share of tokens outside the Transform's vocabulary.
        empty_reviews: Reviews without a token.
        top_tokens: The most frequent tokens with their counts.
        quantiles: Review length at quantiles (0 to 1), in tokens.
    """

    name: str
    examples: int
    labels: dict[str, int]
    lengths: np.ndarray | None = None
    oov_share: float | None = None
    empty_reviews: int | None = None
    top_tokens: tuple[tuple[str, int], ...] = ()
    quantiles: dict[float, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DriftReport:
    """The drift check's comparisons: this span against the previous span, train against test.

    Attributes:
        uri: The ExampleAnomalies artifact.
        span: This run's span; baseline_span: the span compared with (None on the first span).
        findings: Every comparison with its distance, threshold and message.
    """

    uri: str
    span: int | None
    baseline_span: int | None
    findings: tuple[Finding, ...]


@dataclasses.dataclass(frozen=True)
class DataReport:
    """Data section: splits, labels, review lengths, quarantine, leakage and drift (from the statistics).

    Attributes:
        uri: The Examples artifact.
        splits: Per split statistics, in the artifact's split order.
        max_length: Tokens per review the model reads (longer ones are truncated).
        quarantine: Records set aside by ExampleGen, per reason (or file); None
            when the run has no quarantine output, {} when nothing was set aside.
        leakage: Duplicate texts across splits; None when not computed.
        quarantine_samples: Per reason, a few of the records' sources.
        statistics_uri: The ExampleStatistics artifact the figures come from.
        drift: The drift check's comparisons; None when the run has none.
    """

    uri: str
    splits: tuple[SplitStats, ...]
    max_length: int | None
    quarantine: dict[str, int] | None
    leakage: Duplicates | None
    quarantine_samples: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    statistics_uri: str | None = None
    drift: DriftReport | None = None


@dataclasses.dataclass(frozen=True)
class Projection:
    """2-D PCA of the most frequent words, before and after fine-tuning.

    Attributes:
        words: The projected words, most frequent first.
        before: ``[len(words), 2]`` projection of the injected vectors.
        after: ``[len(words), 2]`` projection of the trained vectors.
        positive_share: Per word, the share of positive train reviews among
            those containing it (colours the points); None when unknown.
        explained: Variance share of the two components, (before, after).
    """

    words: tuple[str, ...]
    before: np.ndarray
    after: np.ndarray
    positive_share: tuple[float, ...] | None
    explained: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """Nearest words of a probe word by cosine similarity, before and after fine-tuning."""

    word: str
    before: tuple[tuple[str, float], ...]
    after: tuple[tuple[str, float], ...]


@dataclasses.dataclass(frozen=True)
class EmbeddingReport:
    """Vocabulary and embeddings section.

    Attributes:
        vocabulary_size: Vocabulary rows, reserved tokens included.
        dimension: Length of the vectors.
        coverage: ``coverage.json`` of the EmbeddingAligner (exact, lower-case,
            missing, shares, most frequent missing words); None when absent.
        projection: PCA of the most frequent words; None without both matrices.
        neighbours: Probe words found in the vocabulary.
        fine_tuned: Whether training changed the embeddings (the trained
            matrix differs from the injected one); None when unknown.
    """

    vocabulary_size: int | None
    dimension: int | None
    coverage: dict | None
    projection: Projection | None
    neighbours: tuple[Neighbours, ...]
    fine_tuned: bool | None


@dataclasses.dataclass(frozen=True)
class TrainingReport:
    """Training section: Keras history per epoch.

    Attributes:
        history: ``history.json``: metric name -> one value per epoch
            (``loss``, ``accuracy``, ``val_loss`` ...).
        best_epoch: 1-based epoch of the lowest eval loss (the weights kept
            with early stopping).
        warm_start: ``warm_start.json`` when ``trainer.warm_start`` was on:
            the model started from (``model_uri`` None: there was none) and
            what was copied from it; None for a fresh start.
    """

    history: dict[str, list[float]]
    best_epoch: int | None
    warm_start: dict | None = None

    @property
    def epochs(self) -> int:
        return max((len(values) for values in self.history.values()), default=0)


@dataclasses.dataclass(frozen=True)
class Curve:
    """Confusion matrices of one model at many thresholds (TFMA ConfusionMatrixPlot)."""

    thresholds: np.ndarray
    true_positives: np.ndarray
    false_positives: np.ndarray
    true_negatives: np.ndarray
    false_negatives: np.ndarray

    @property
    def true_positive_rate(self) -> np.ndarray:
        positives = (self.true_positives + self.false_negatives).astype(float)
        return np.divide(self.true_positives, positives, out=np.zeros_like(positives), where=positives > 0)

    @property
    def false_positive_rate(self) -> np.ndarray:
        negatives = (self.false_positives + self.true_negatives).astype(float)
        return np.divide(self.false_positives, negatives, out=np.zeros_like(negatives), where=negatives > 0)


@dataclasses.dataclass(frozen=True)
class CalibrationBucket:
    """Examples whose prediction fell in [lower, upper): mean prediction vs observed positive rate."""

    lower: float
    upper: float
    examples: float
    mean_prediction: float
    positive_rate: float


@dataclasses.dataclass(frozen=True)
class ThresholdCheck:
    """One blessing condition: a metric against a bound (absolute or relative to the baseline).

    Attributes:
        metric: Metric name.
        condition: Readable bound, e.g. ``>= 0.7`` or ``>= baseline - 0.01``.
        value: The value compared (the difference with the baseline for a
            change threshold); None when the run has no such value.
        passed: Whether the condition held; None when it was not checked
            (a change threshold without a baseline).
        change: A condition on the difference with the baseline.
    """

    metric: str
    condition: str
    value: float | None
    passed: bool | None
    change: bool = False


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """Evaluation section: TFMA metrics and plots, the validation result and the blessing.

    Attributes:
        uri: The ModelEvaluation artifact.
        candidate: Model name of the candidate in the metrics.
        baseline: Model name of the baseline, None when the run had none.
        metrics: Model name -> metric name -> value (the test split's slice).
        diffs: Metric name -> candidate minus baseline (TFMA diff metrics).
        curves: Model name -> confusion matrices at thresholds.
        calibration: Model name -> calibration buckets holding examples.
        checks: The blessing conditions with their values.
        validation_ok: TFMA's validation result; None when absent.
        failures: TFMA's reasons for a failed validation, readable.
        blessed: The ModelBlessing decision; None without a blessing artifact.
        model_locations: Model name -> the SavedModel TFMA evaluated.
        confusion: Model name -> the confusion matrix at the decision
            threshold (``threshold``, ``true_positives`` ...), when the
            evaluation computed it exactly.
        slices: The candidate's example count, accuracy and AUC on each
            slice (the test split, its first sentences, by rating, by length).
    """

    uri: str
    candidate: str
    baseline: str | None
    metrics: dict[str, dict[str, float]]
    diffs: dict[str, float]
    curves: dict[str, Curve]
    calibration: dict[str, tuple[CalibrationBucket, ...]]
    checks: tuple[ThresholdCheck, ...]
    validation_ok: bool | None
    failures: tuple[str, ...]
    blessed: bool | None
    model_locations: dict[str, str] = dataclasses.field(default_factory=dict)
    confusion: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    slices: tuple[SliceMetrics, ...] = ()

    @property
    def candidate_metrics(self) -> dict[str, float]:
        return self.metrics.get(self.candidate, {})


@dataclasses.dataclass(frozen=True)
class CanaryReport:
    """Canary section: the candidate probed in a fresh TensorFlow process (components/canary/).

    Attributes:
        uri: The InfraBlessing artifact.
        blessed: The canary's verdict.
        failures: Why it refused the model.
        probes: One row per probe, as ``canary.json`` records it (name,
            bytes, expected, probabilities per signature, ok).
        load_seconds: Load time of the SavedModel.
        batch_seconds: Signature -> latency of one call on the probe batch.
        limits: The configured limits.
    """

    uri: str
    blessed: bool
    failures: tuple[str, ...]
    probes: tuple[dict, ...]
    load_seconds: float | None
    batch_seconds: dict[str, float]
    limits: dict[str, float]


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One node of a run as ML Metadata recorded it."""

    node: str
    state: str
    execution_id: int
    seconds: float | None


@dataclasses.dataclass(frozen=True)
class LineageReport:
    """Where the run's data came from, how it was configured, and where the model went.

    Attributes:
        data: Input base and pattern of the dataset.
        span: ExampleGen span of the data.
        fingerprint: ExampleGen's fingerprint of the input files.
        step_properties: Step -> execution property -> value.
        versions: Library -> version of the environment that ran the steps.
        artifacts: (input name, URI) of the artifacts the report was built from.
        pushed: Whether the model was pushed; None without a Pusher output.
        pushed_version: Version directory name of the push.
        pushed_destination: Where the pushed version is.
        run_id: The pipeline run, when known (re-rendered from ML Metadata).
        steps: The run's steps with their state, when known.
    """

    data: str | None
    span: int | None
    fingerprint: str | None
    step_properties: dict[str, dict[str, str]]
    versions: dict[str, str]
    artifacts: tuple[tuple[str, str], ...]
    pushed: bool | None
    pushed_version: str | None
    pushed_destination: str | None
    run_id: str | None = None
    steps: tuple[StepRecord, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReportData:
    """Everything one run report shows; absent sections are None."""

    title: str
    generated_at: str
    data: DataReport | None
    embeddings: EmbeddingReport | None
    training: TrainingReport | None
    evaluation: EvaluationReport | None
    lineage: LineageReport
    canary: CanaryReport | None = None


@dataclasses.dataclass(frozen=True)
class RunEntry:
    """One row of the index of past runs.

    Attributes:
        run_id: Pipeline run id (its start time).
        executed: Steps executed (not cached).
        cached: Steps whose outputs were reused.
        metrics: Candidate metrics on the test split.
        blessed: Blessing decision, None when the run had no Evaluator output.
        pushed_version: Version pushed by the run, None when nothing was pushed.
        report_href: Link to the run's report, relative to the index page.
    """

    run_id: str
    executed: int
    cached: int
    metrics: dict[str, float]
    blessed: bool | None
    pushed_version: str | None
    report_href: str | None
