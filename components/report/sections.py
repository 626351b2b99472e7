"""What a run report shows, as plain data: read from artifacts once, then rendered.

Every section is optional: a report is rendered from whatever artifacts a run
has (a run that stopped before the Evaluator, a run without a push, an older
run whose evaluation has no plots), and says what is absent instead of failing.
"""

import dataclasses

import numpy as np

from components.artifacts.drift_anomalies import DriftFindings
from components.artifacts.evaluation import SliceMetrics
from components.artifacts.pushed_model import Push
from components.artifacts.statistics import Duplicates, SplitStatistics


@dataclasses.dataclass(frozen=True)
class DataReport:
    """Data section: splits, quarantine, leakage and drift, of the Examples artifact ``uri`` (the statistics'
    without one); ``max_length`` tokens of a review are read. ``quarantine``: records set aside by ExampleGen
    per reason (or file), None without quarantine output, {} when nothing was set aside;
    ``quarantine_samples``: a few sources per reason.
    """

    uri: str
    splits: tuple[SplitStatistics, ...]
    max_length: int | None
    quarantine: dict[str, int] | None
    leakage: Duplicates | None
    quarantine_samples: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    statistics_uri: str | None = None
    drift: DriftFindings | None = None


@dataclasses.dataclass(frozen=True)
class Projection:
    """2-D PCA of the most frequent ``words`` (``[len(words), 2]``), injected (before) and trained (after).

    ``positive_share``: per word, the share of positive train reviews containing it (colours the
    points; None when unknown); ``explained``: variance share of the two components, (before, after).
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
    """Vocabulary and embeddings section; ``vocabulary_size`` counts the reserved tokens, ``coverage`` is the
    aligner's ``coverage.json``, ``projection`` None without both matrices, ``fine_tuned`` (the trained
    matrix differs from the injected one) None when unknown.
    """

    vocabulary_size: int | None
    dimension: int | None
    coverage: dict | None
    projection: Projection | None
    neighbours: tuple[Neighbours, ...]
    fine_tuned: bool | None


@dataclasses.dataclass(frozen=True)
class TrainingReport:
    """Training section: ``history.json``, the 1-based epoch of the lowest eval loss, ``warm_start.json``.

    ``best_epoch`` is what early stopping keeps; ``warm_start`` is None for a fresh start.
    """

    history: dict[str, list[float]]
    best_epoch: int | None
    warm_start: dict | None = None

    @property
    def epochs(self) -> int:
        return max((len(values) for values in self.history.values()), default=0)


# The counts of a confusion matrix, as :class:`Curve` names them.
CONFUSION_COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


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
    """One blessing condition: a metric against a bound (``>= 0.7``).

    With ``change``, the metric's difference with the baseline (``>= baseline - 0.01``). ``value``
    is None when the run has no such value, ``passed`` None when the condition was not checked.
    """

    metric: str
    condition: str
    value: float | None
    passed: bool | None
    change: bool = False


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """Evaluation section: TFMA metrics and plots, the validation result and the blessing.

    ``metrics``, ``curves``, ``calibration``, ``confusion`` and
    ``model_locations`` are by model name (the candidate's and the baseline's,
    None when the run had none); metrics are the test split's. ``diffs`` is
    candidate minus baseline per metric, ``confusion`` the matrix at the
    decision threshold when the evaluation computed it exactly, ``blessed``
    None without a blessing artifact, ``slices`` the candidate's per slice.
    """

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
class StepRecord:
    """One node of a run as ML Metadata recorded it."""

    node: str
    state: str
    execution_id: int
    seconds: float | None


@dataclasses.dataclass(frozen=True)
class LineageReport:
    """Where the run's data (input base and pattern) came from, how it was configured, where the model went.

    ``artifacts``: (input name, URI) of those the report was built from; ``run_id`` and ``steps``
    when known (re-rendered from ML Metadata).
    """

    data: str | None
    span: int | None
    fingerprint: str | None
    step_properties: dict[str, dict[str, str]]
    versions: dict[str, str]
    artifacts: tuple[tuple[str, str], ...]
    push: Push
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
    # The InfraBlessing's ``canary.json``: probes, load time, latencies, limits.
    canary: dict | None = None


@dataclasses.dataclass(frozen=True)
class RunEntry:
    """One row of the index of past runs; ``report_href`` is relative to the index page."""

    run_id: str
    executed: int
    cached: int
    metrics: dict[str, float]
    blessed: bool | None
    pushed_version: str | None
    report_href: str | None
    # How the run ended (complete, failed, interrupted, terminated, unfinished).
    outcome: str = "complete"
    # Set when the index lists runs of more than one pipeline.
    pipeline_name: str | None = None
