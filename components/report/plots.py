"""The report's figures: plain data in, a PNG ``data:`` URI out (Matplotlib's object API, no pyplot state).

Figures are drawn on their own ``Figure`` with the Agg canvas, so nothing
depends on a display, a global backend or figures left open by other code.
"""

import base64
from collections.abc import Mapping, Sequence
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from components.artifacts.evaluation import TEST_SPLIT_SLICE, SliceMetrics
from components.report.sections import CalibrationBucket, Curve, Projection
from schemas import features

DPI = 100
CANDIDATE_LABEL = "candidate"
BASELINE_LABEL = "baseline"
# Word labels drawn on the projection, besides the highlighted (probe) words.
LABELLED_WORDS = 20
# A label is left out when another is closer than this share of the axes.
_LABEL_WIDTH = 0.09
_LABEL_HEIGHT = 0.035
_MIN_BAR_WIDTH = 0.01
_TRAIN_COLOUR = "#1f77b4"
_EVAL_COLOUR = "#ff7f0e"
_SPLIT_COLOURS = {features.TRAIN: _TRAIN_COLOUR, features.EVAL: _EVAL_COLOUR, features.TEST: "#2ca02c"}
# Dashed for the baseline, so a candidate that equals it stays visible; solid for any other.
_LINE_STYLES = {BASELINE_LABEL: "--"}


def _png(figure: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI, to embed in the page."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No Software/date metadata: the same data gives the same bytes.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def length_histogram(lengths: Mapping[str, np.ndarray], max_length: int | None) -> str:
    """Tokens per review for each split, with the length the model reads (longer reviews are truncated)."""
    figure = Figure(figsize=(7.5, 3.4), layout="constrained")
    axes = figure.add_subplot()
    top = float(np.percentile(np.concatenate(list(lengths.values())), 99))
    top = max(top, float(max_length or 0) * 1.2, 10.0)
    bins = np.linspace(0, top, 50)
    for split, values in lengths.items():
        if len(values):
            axes.hist(
                np.minimum(values, top),
                bins=bins,
                histtype="step",
                linewidth=1.6,
                density=True,
                color=_SPLIT_COLOURS.get(split),
                label=f"{split} (median {np.median(values):.0f})",
            )
    if max_length:
        axes.axvline(max_length, color="black", linestyle="--", linewidth=1)
        axes.annotate(
            f" max_length {max_length}",
            (max_length, 1),
            xycoords=("data", "axes fraction"),
            va="top",
            fontsize=9,
        )
    axes.set(xlabel="tokens per review (last bin: longer)", ylabel="share of reviews", yticks=[])
    axes.legend(fontsize=9)
    return _png(figure)


def _labelled_words(words: Sequence[str], shares: np.ndarray, highlighted: Sequence[str]) -> list[str]:
    """The words to name on the projection, by priority: the highlighted ones, then the most
    positive and most negative in turn (the most frequent, when shares are unknown)."""
    known = np.flatnonzero(~np.isnan(shares))
    if len(known) == 0:
        others = list(words[:LABELLED_WORDS])
    else:
        order = known[np.argsort(shares[known], kind="stable")]
        pairs = zip(order[: LABELLED_WORDS // 2], order[::-1][: LABELLED_WORDS // 2], strict=True)
        others = [words[i] for pair in pairs for i in pair]
    present = set(words)
    return list(dict.fromkeys([*(word for word in highlighted if word in present), *others]))


def _spaced_labels(
    words: Sequence[str],
    coordinates: np.ndarray,
    labelled: list[str],
    x_limits: tuple[float, float],
    y_limits: tuple[float, float],
) -> list[tuple[str, tuple[float, float]]]:
    """The labels to draw, in priority order, leaving out any that would overlap one already placed."""
    index = {word: i for i, word in enumerate(words)}
    width, height = x_limits[1] - x_limits[0], y_limits[1] - y_limits[0]
    placed: list[tuple[str, tuple[float, float]]] = []
    for word in labelled:
        x, y = coordinates[index[word]]
        inside = x_limits[0] <= x <= x_limits[1] and y_limits[0] <= y <= y_limits[1]
        crowded = any(
            abs(x - px) < _LABEL_WIDTH * width and abs(y - py) < _LABEL_HEIGHT * height
            for _, (px, py) in placed
        )
        if inside and not crowded:
            placed.append((word, (float(x), float(y))))
    return placed


def _limits(values: np.ndarray) -> tuple[float, float]:
    # The central 98% of the words: a few outliers would squeeze the rest into a dot.
    low, high = np.percentile(values, [1, 99])
    margin = 0.08 * (high - low or 1.0)
    return float(low - margin), float(high + margin)


def projection(projected: Projection, highlighted: Sequence[str] = ()) -> str:
    """The most frequent words in 2-D (PCA), before and after fine-tuning, coloured by sentiment.

    The colour scale is centred on 0.5 (as many positive as negative reviews)
    and spans the words' actual spread, so the leaning of a word shows.
    """
    figure = Figure(figsize=(11, 5), layout="constrained")
    axes = figure.subplots(1, 2)
    shares = np.array(projected.positive_share or [np.nan] * len(projected.words), dtype=np.float64)
    known = ~np.isnan(shares)
    spread = float(np.max(np.abs(shares[known] - 0.5))) if known.any() else 0.5
    spread = min(max(spread, 0.05), 0.5)
    labelled = _labelled_words(projected.words, shares, highlighted)
    scatter = None
    for ax, coordinates, title, explained in (
        (axes[0], projected.before, "as injected", projected.explained[0]),
        (axes[1], projected.after, "after training", projected.explained[1]),
    ):
        ax.scatter(coordinates[~known, 0], coordinates[~known, 1], s=12, color="#bbbbbb")
        scatter = ax.scatter(
            coordinates[known, 0],
            coordinates[known, 1],
            s=16,
            c=shares[known],
            cmap="RdBu",
            vmin=0.5 - spread,
            vmax=0.5 + spread,
            edgecolors="#555555",
            linewidths=0.3,
        )
        x_limits, y_limits = _limits(coordinates[:, 0]), _limits(coordinates[:, 1])
        for word, (x, y) in _spaced_labels(projected.words, coordinates, labelled, x_limits, y_limits):
            ax.annotate(word, (x, y), fontsize=8, xytext=(3, 2), textcoords="offset points")
        ax.set(xlim=x_limits, ylim=y_limits)
        ax.set_title(f"{title} ({explained:.0%} of the variance)", fontsize=11)
        ax.set(xticks=[], yticks=[])
    figure.suptitle(f"The {len(projected.words)} most frequent words, first two principal components")
    if projected.positive_share is not None and scatter is not None:
        bar = figure.colorbar(scatter, ax=axes, shrink=0.8)
        bar.set_label("share of positive train reviews containing the word")
    return _png(figure)


def training_curves(history: Mapping[str, Sequence[float]], best_epoch: int | None) -> str:
    """Loss and accuracy per epoch, train and eval splits."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for name, label, colour in (
            (metric, features.TRAIN, _TRAIN_COLOUR),
            (f"val_{metric}", features.EVAL, _EVAL_COLOUR),
        ):
            values = history.get(name)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", color=colour, label=label)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label="lowest eval loss")
        ax.set(xlabel="epoch", title=metric)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=9)
    return _png(figure)


def confusion_matrix(counts: Mapping[str, float]) -> str:
    """The 2x2 confusion matrix (rows: actual, columns: predicted), counts and row shares."""
    matrix = np.array(
        [
            [counts["true_negatives"], counts["false_positives"]],
            [counts["false_negatives"], counts["true_positives"]],
        ]
    )
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    figure = Figure(figsize=(4.2, 3.6), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i, j in np.ndindex(matrix.shape):
        axes.text(
            j,
            i,
            f"{matrix[i, j]:,.0f}\n{shares[i, j]:.1%}",
            ha="center",
            va="center",
            color="white" if shares[i, j] > 0.6 else "black",
        )
    axes.set_xticks([0, 1], ["negative", "positive"])
    axes.set_yticks([0, 1], ["negative", "positive"])
    axes.set(xlabel="predicted", ylabel="actual", title=f"threshold {counts['threshold']:.2f}")
    return _png(figure)


def roc_curves(curves: Mapping[str, Curve], aucs: Mapping[str, float | None]) -> str:
    """ROC curve of each model (true-positive against false-positive rate over thresholds)."""
    figure = Figure(figsize=(4.6, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for label, curve in curves.items():
        order = np.argsort(curve.false_positive_rate, kind="stable")
        auc = aucs.get(label)
        axes.plot(
            curve.false_positive_rate[order],
            curve.true_positive_rate[order],
            linestyle=_LINE_STYLES.get(label, "-"),
            label=f"{label} (AUC {auc:.4f})" if auc is not None else label,
        )
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)", xlim=(0, 1), ylim=(0, 1))
    axes.legend(fontsize=9, loc="lower right")
    return _png(figure)


def calibration(buckets: Mapping[str, Sequence[CalibrationBucket]]) -> str:
    """Observed positive rate against mean predicted probability per bucket, and bucket sizes."""
    figure = Figure(figsize=(4.6, 5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    for label, model_buckets in buckets.items():
        predicted = [bucket.mean_prediction for bucket in model_buckets]
        observed = [bucket.positive_rate for bucket in model_buckets]
        top.plot(predicted, observed, marker="o", linestyle=_LINE_STYLES.get(label, "-"), label=label)
    # Bucket sizes of the first model (the candidate): the baseline's would hide them.
    first = next(iter(buckets.values()), ())
    bottom.bar(
        [(bucket.lower + bucket.upper) / 2 for bucket in first],
        [bucket.examples for bucket in first],
        width=[max(bucket.upper - bucket.lower, _MIN_BAR_WIDTH) for bucket in first],
        alpha=0.5,
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    top.set(ylabel="observed positive rate", xlim=(0, 1), ylim=(0, 1))
    top.legend(fontsize=9)
    bottom.set(xlabel="predicted probability", ylabel="reviews")
    return _png(figure)


def slice_accuracy(slices: Sequence[SliceMetrics]) -> str:
    """Accuracy of each slice (a bar, labelled with its reviews), the test split's as a line."""
    shown = [metrics for metrics in slices if metrics.accuracy is not None]
    figure = Figure(figsize=(7.5, 0.8 + 0.32 * max(len(shown), 1)), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(shown))
    accuracies = [metrics.accuracy for metrics in shown]
    colours = [_TRAIN_COLOUR if metrics.name == TEST_SPLIT_SLICE else _EVAL_COLOUR for metrics in shown]
    axes.barh(positions, accuracies, color=colours, alpha=0.8)
    for position, metrics in zip(positions, shown, strict=True):
        axes.text(
            0.01, position, f"{metrics.accuracy:.1%} of {metrics.example_count:,}", va="center", fontsize=8
        )
    overall = next((metrics.accuracy for metrics in shown if metrics.name == TEST_SPLIT_SLICE), None)
    if overall is not None:
        axes.axvline(overall, color="grey", linestyle=":", linewidth=1)
    axes.set_yticks(positions, [metrics.name for metrics in shown])
    axes.invert_yaxis()
    axes.set(xlim=(0, 1), xlabel="accuracy")
    return _png(figure)
