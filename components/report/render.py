"""Renders :class:`~components.report.sections.ReportData` to one self-contained HTML page.

Pure: data in, HTML out. Figures are PNGs embedded as ``data:`` URIs, so the
page is a single file that opens from disk, from a mail attachment or from the
pushed model's folder, without a server or network access.
"""

from collections.abc import Sequence
import datetime

import jinja2
import numpy as np

from components.artifacts import evaluation as eval_names
from components.artifacts.statistics import LABEL_NAMES, UNLABELED
from components.plural import counted
from components.report import analysis, plots
from components.report.read_inputs import PROBE_WORDS
from components.report.sections import ReportData, RunEntry

INDEX_FILE = "index.html"
_HISTORY_ORDER = ("loss", "accuracy", "auc")


def _environment() -> jinja2.Environment:
    """The report's templates, ``templates/*.html``, shipped as package data beside this module."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("components.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    environment.filters.update(
        num=lambda value: "" if value is None else f"{value:,.0f}",
        pct=lambda value: f"{value:.1%}",
        f2=lambda value: f"{value:.2f}",
        f4=lambda value: f"{value:.4f}",
        counted=counted,
        # Counts stay whole numbers; rates get four decimals.
        metric=lambda value: (
            f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1 else f"{value:.4f}"
        ),
        # repr() of a float round-trips exactly: tests and tools can read the stored value back.
        exact=lambda value: repr(float(value)),
    )
    return environment


# Figures of the report page; each None when the run lacks its data.
FIGURES = ("lengths", "projection", "training", "confusion", "roc", "calibration", "slices")


def _images(report: ReportData) -> dict[str, str | None]:
    images: dict[str, str | None] = dict.fromkeys(FIGURES)
    if report.data:
        lengths = {split.name: analysis.review_lengths(split.lengths) for split in report.data.splits}
        if any(len(values) for values in lengths.values()):
            images["lengths"] = plots.length_histogram(lengths, report.data.max_length)
    if report.embeddings and report.embeddings.projection:
        images["projection"] = plots.projection(report.embeddings.projection, PROBE_WORDS)
    if report.training and report.training.history:
        images["training"] = plots.training_curves(report.training.history, report.training.best_epoch)
    evaluation = report.evaluation
    if evaluation:
        # The exact matrix at the decision threshold, else the plot's nearest threshold.
        counts = evaluation.confusion.get(evaluation.candidate)
        candidate_curve = evaluation.curves.get(evaluation.candidate)
        if counts is None and candidate_curve is not None:
            counts = analysis.confusion_at(candidate_curve, eval_names.DECISION_THRESHOLD)
        if counts is not None:
            images["confusion"] = plots.confusion_matrix(counts)
        # By the label a figure shows: the candidate, then the baseline when there was one.
        models = ((plots.CANDIDATE_LABEL, evaluation.candidate), (plots.BASELINE_LABEL, evaluation.baseline))
        shown = {label: name for label, name in models if name is not None}
        curves = {
            label: evaluation.curves[name] for label, name in shown.items() if name in evaluation.curves
        }
        if curves:
            aucs = {
                label: evaluation.metrics.get(name, {}).get(eval_names.AUC) for label, name in shown.items()
            }
            images["roc"] = plots.roc_curves(curves, aucs)
        buckets = {
            label: evaluation.calibration[name]
            for label, name in shown.items()
            if evaluation.calibration.get(name)
        }
        if buckets:
            images["calibration"] = plots.calibration(buckets)
        if any(metrics.accuracy is not None for metrics in evaluation.slices):
            images["slices"] = plots.slice_accuracy(evaluation.slices)
    return images


def render_report(report: ReportData) -> str:
    """The report page of one run, with its figures embedded."""
    history_columns = []
    if report.training:
        history = report.training.history
        ordered = [name for base in _HISTORY_ORDER for name in (base, f"val_{base}") if name in history]
        history_columns = ordered + sorted(set(history) - set(ordered))
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        images=_images(report),
        headline_metrics=eval_names.HEADLINE_METRICS,
        label_names=[*(LABEL_NAMES[label] for label in sorted(LABEL_NAMES)), UNLABELED],
        history_columns=history_columns,
        median=lambda lengths: float(np.median(analysis.review_lengths(lengths))),
        share_over=lambda lengths, limit: float(np.mean(analysis.review_lengths(lengths) > limit)),
        ratio=lambda part, whole: part / whole if whole else 0.0,
    )


def render_index(title: str, runs: Sequence[RunEntry], generated_at: str | None = None) -> str:
    """The index page of past runs: key metrics, blessing, pushed version, a link to each report."""
    template = _environment().get_template(INDEX_FILE)
    return template.render(
        title=title,
        runs=runs,
        metric_names=eval_names.REPORTED_METRICS,
        generated_at=generated_at or datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    )
