"""Drift and skew: how far one set of statistics moved from another, against thresholds.

Three comparisons, per split present in both sets (drift: this span against the
previous span) and between train and test of this span (skew):

- label balance: L-infinity distance between the label distributions (the
  largest change in one label's share), TFDV's drift comparator for a
  categorical feature;
- review length: Jensen-Shannon divergence (base 2, so in [0, 1]) between the
  length distributions in tokens, in buckets of ``LENGTH_BUCKET_TOKENS``;
- out-of-vocabulary share: absolute change of the share of tokens outside a
  Transform vocabulary. Drift counts this span's tokens outside the previous
  span's vocabulary and compares that with the previous span's own share (a span
  of new words holds them all in its own vocabulary); skew, and drift from
  statistics written before token counts were kept, each span's against its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import dataclasses

import numpy as np

from components.artifacts.drift_anomalies import DRIFT, LABEL, LENGTH, OOV, SKEW, Finding, NotCompared
from components.artifacts.statistics import POSITIVE, SplitStatistics, Statistics, out_of_vocabulary
from components.plural import counted
from schemas import features


class DriftError(RuntimeError):
    """A statistic moved more than its threshold and its action is ``stop``: nothing is trained."""


def l_infinity(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    """The largest absolute difference between two distributions over the same names."""
    return max((abs(first.get(name, 0.0) - second.get(name, 0.0)) for name in {*first, *second}), default=0.0)


def jensen_shannon(first: Sequence[float], second: Sequence[float]) -> float:
    """Jensen-Shannon divergence, base 2, of two histograms (normalised here); 0 for identical shapes."""
    if not sum(first) or not sum(second):
        return 0.0
    p, q = np.asarray(first) / sum(first), np.asarray(second) / sum(second)
    m = (p + q) / 2
    # Each half is x * log2(x / m), 0 where x is 0 (m is not 0 where x is not).
    halves = (x @ np.log2(np.divide(x, m, out=np.ones_like(x), where=x > 0)) for x in (p, q))
    return max(float(sum(halves)) / 2, 0.0)


def _verdict(distance: float, threshold: float) -> str:
    exceeded = distance > threshold
    # Three decimals, unless they would hide why (``0.000 > 0``): then three significant digits, or all.
    for shown in (f"{distance:.3f}", f"{distance:.3g}", repr(distance)):
        if (float(shown) > threshold) == exceeded and (float(shown) != threshold or distance == threshold):
            break
    return f"{shown} {'>' if exceeded else '<='} {threshold:g}"


def _positive(split: SplitStatistics) -> str:
    return f"{split.positive_share:.2f} {POSITIVE}"


def _median(split: SplitStatistics) -> str:
    return f"median {counted(split.quantile(0.5), 'token')}"


def compare(
    current: SplitStatistics,
    baseline: SplitStatistics,
    current_name: str,
    baseline_name: str,
    kind: str,
    thresholds: Mapping[str, float],
    vocabulary: str | None = None,
) -> list[Finding]:
    """The comparisons that apply to two splits (label balance only when both have labeled reviews).

    Args:
        current, baseline: The statistics compared.
        current_name, baseline_name: How the messages name them, e.g. ``span 2`` and ``spans 0 to 1``.
        kind: ``drift`` or ``skew``.
        thresholds: Check -> threshold.
        vocabulary: Whose vocabulary ``current``'s out-of-vocabulary tokens were counted
            against, e.g. ``span 1's vocabulary``; None: its own span's.
    """
    findings = []

    def add(
        check: str, distance: float, subject: str, shown: Callable[[SplitStatistics], str], measure: str
    ) -> None:
        threshold, before, after = thresholds[check], shown(baseline), shown(current)
        if kind == DRIFT:
            named = f"{current_name}, against {vocabulary}" if check == OOV and vocabulary else current_name
            text = f"{subject} of {current.name} moved from {before} ({baseline_name}) to {after} ({named})"
            split, against = current.name, baseline_name
        else:
            text = f"{subject} of {baseline.name} ({before}) and {current.name} ({after}) differ in {current_name}"
            split, against = baseline.name, current.name
        message = f"{text}: {measure} {_verdict(distance, threshold)}"
        finding = Finding(
            check,
            kind,
            split=split,
            baseline=against,
            distance=distance,
            threshold=threshold,
            message=message,
        )
        findings.append(finding)

    if current.labeled and baseline.labeled:
        distance = l_infinity(baseline.label_distribution, current.label_distribution)
        add(LABEL, distance, "label balance", _positive, "L-infinity")
    if current.examples and baseline.examples:
        distance = jensen_shannon(baseline.length_buckets, current.length_buckets)
        add(LENGTH, distance, "review length", _median, "Jensen-Shannon divergence")
    if current.oov_share is not None and baseline.oov_share is not None:
        distance = abs(current.oov_share - baseline.oov_share)
        add(OOV, distance, "out-of-vocabulary share", lambda split: f"{split.oov_share:.3f}", "change")
    return findings


def _compared(
    first: SplitStatistics | None,
    second: SplitStatistics | None,
    sides: tuple[tuple[str, str], tuple[str, str]],
    min_examples: int,
) -> tuple[SplitStatistics, SplitStatistics] | str:
    """The two splits when they are compared, else why not; ``sides``: (split, span name) of each."""
    for found, (split, span) in zip((first, second), sides, strict=True):
        if found is None or not found.examples:
            return f"{span} has no {split} {'split' if found is None else 'examples'}"
    if min(first.examples, second.examples) < min_examples:
        return (
            f"{first.examples} and {second.examples} examples, fewer than drift.min_examples ({min_examples})"
        )
    return first, second


def check(
    current: Statistics,
    previous: Statistics | None,
    thresholds: Mapping[str, float],
    min_examples: int = 1,
    skipped: list[NotCompared] | None = None,
    token_counts: Mapping[str, Mapping[str, int]] | None = None,
    previous_vocabulary: Sequence[str] | None = None,
) -> list[Finding]:
    """Every comparison: each split against the previous span's (when there is one), and train against test.

    Args:
        current: This span's statistics.
        previous: The latest statistics of an earlier span; None on the first span.
        thresholds: Check (``label``, ``length``, ``oov``) -> threshold.
        min_examples: Two splits are compared only when each holds at least
            this many examples; on fewer, distances are mostly sampling noise.
        skipped: When given, receives each pair of splits not compared, and why: fewer than
            ``min_examples``, a split one of the two spans lacks or holds no example of, or a span
            without train or test.
        token_counts, previous_vocabulary: This span's token -> count per split and the
            previous span's vocabulary: with both, drift counts this span's tokens outside
            the previous span's vocabulary; without, outside this span's own.
    """
    name = current.span_name("this span")
    # Each comparison: its kind, this span's split, and the split, statistics and span name it is compared with.
    pairs = []
    if previous is not None:
        previous_name = previous.span_name("the previous span")
        splits = dict.fromkeys([*current.splits, *previous.splits])
        pairs = [(DRIFT, split, split, previous, previous_name) for split in splits]
    pairs.append((SKEW, features.TEST, features.TRAIN, current, name))
    findings = []
    for kind, split, other_split, other, other_name in pairs:
        sides = ((split, name), (other_split, other_name))
        compared = _compared(current.splits.get(split), other.splits.get(other_split), sides, min_examples)
        if isinstance(compared, str):
            if skipped is not None:
                # Named as this pair's findings would be: skew's split is train, its baseline test.
                skipped.append(
                    NotCompared(kind, split, other_name, f"{split} of {name} and {other_name}", compared)
                    if kind == DRIFT
                    else NotCompared(
                        kind, other_split, split, f"{other_split} and {split} of {name}", compared
                    )
                )
            continue
        first, second = compared
        vocabulary = None
        if kind == DRIFT and token_counts is not None and previous_vocabulary is not None:
            outside = out_of_vocabulary(token_counts[split], previous_vocabulary)
            first, vocabulary = dataclasses.replace(first, oov_tokens=outside), f"{other_name}'s vocabulary"
        findings += compare(first, second, name, other_name, kind, thresholds, vocabulary)
    return findings
