"""The numbers behind the report's sections: pure functions over plain values and arrays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from components.report.data import Curve, DuplicateGroup, Leakage
from schemas import features

# Scored split -> the splits the model learnt from: a scored review whose text
# is in those splits measures memory, not generalisation.
LEAK_CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (features.TEST, (features.TRAIN, features.EVAL)),
    (features.EVAL, (features.TRAIN,)),
)
SHOWN_GROUPS = 10


def find_duplicates(
    records: Iterable[tuple[str, str, str, bytes, str]], shown: int = SHOWN_GROUPS
) -> Leakage:
    """Exact duplicates of normalised texts within and across splits.

    Args:
        records: ``(split, source, label name, normalised text, snippet)`` per
            review; the normalised text (or a digest of it) is the review as
            the model sees it (the Transform's tokens joined by spaces), so
            reviews differing only in case, punctuation spacing or HTML line
            breaks are duplicates.
        shown: How many cross-split groups to keep, largest first.
    """
    groups: dict[bytes, list[tuple[str, str, str]]] = {}
    snippets: dict[bytes, str] = {}
    within: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for split, source, label, text, snippet in records:
        sizes[split] = sizes.get(split, 0) + 1
        members = groups.setdefault(text, [])
        if any(member_split == split for member_split, _source, _label in members):
            within[split] = within.get(split, 0) + 1
        members.append((split, source, label))
        snippets.setdefault(text, snippet)

    leaks = []
    for scored, learnt_from in LEAK_CHECKS:
        if scored not in sizes or not any(split in sizes for split in learnt_from):
            continue
        leaked = sum(
            sum(1 for split, _source, _label in members if split == scored)
            for members in groups.values()
            if any(split in learnt_from for split, _source, _label in members)
        )
        leaks.append((scored, learnt_from, sizes[scored], leaked))

    shared = [
        (text, members) for text, members in groups.items() if len({split for split, _, _ in members}) > 1
    ]
    # Largest groups first; the first seen among equals, so the order is stable.
    largest = sorted(shared, key=lambda item: -len(item[1]))[:shown]
    return Leakage(
        leaks=tuple(leaks),
        groups=len(shared),
        shown_groups=tuple(DuplicateGroup(tuple(members), snippets[text]) for text, members in largest),
        within_split={split: within.get(split, 0) for split in sizes},
    )


def positive_shares(
    documents: Iterable[tuple[Sequence[str], bool]], words: Sequence[str]
) -> dict[str, float]:
    """Per word, the share of positive reviews among the reviews that contain it.

    Words absent from every review are left out.
    """
    wanted = set(words)
    containing: dict[str, int] = dict.fromkeys(words, 0)
    positive: dict[str, int] = dict.fromkeys(words, 0)
    for tokens, is_positive in documents:
        for word in wanted.intersection(tokens):
            containing[word] += 1
            positive[word] += is_positive
    return {word: positive[word] / containing[word] for word in words if containing[word]}


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Projects rows onto their two principal components (NumPy SVD of the centred matrix).

    Each component's sign is fixed so that its largest loading is positive, so
    the same matrix always gives the same picture.

    Returns:
        ``[rows, 2]`` coordinates and the variance share of each component.
    """
    centred = np.asarray(matrix, dtype=np.float64) - np.mean(matrix, axis=0)
    _u, singular, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:2]
    signs = np.sign(components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)])
    components = components * signs[:, None]
    total = float(np.sum(singular**2))
    explained = tuple(float(s**2 / total) if total else 0.0 for s in singular[:2])
    coordinates = centred @ components.T
    if coordinates.shape[1] < 2:  # a one-dimensional matrix
        coordinates = np.pad(coordinates, ((0, 0), (0, 2 - coordinates.shape[1])))
        explained = (*explained, 0.0)
    return coordinates, (explained[0], explained[1])


def most_frequent_words(vocabulary: Sequence[str], count: int) -> list[str]:
    """The ``count`` most frequent words: the vocabulary is in frequency order after the reserved tokens."""
    return [token for token in vocabulary if token not in features.RESERVED_TOKENS][:count]


def confusion_at(curve: Curve, threshold: float = 0.5) -> dict[str, float]:
    """The confusion matrix at the curve's threshold nearest ``threshold``."""
    i = int(np.argmin(np.abs(curve.thresholds - threshold)))
    return {
        "threshold": float(curve.thresholds[i]),
        "true_positives": float(curve.true_positives[i]),
        "false_positives": float(curve.false_positives[i]),
        "true_negatives": float(curve.true_negatives[i]),
        "false_negatives": float(curve.false_negatives[i]),
    }


def best_epoch(history: Mapping[str, Sequence[float]], monitor: str = "val_loss") -> int | None:
    """1-based epoch with the lowest ``monitor`` value (what early stopping keeps), None without it."""
    values = history.get(monitor)
    if not values:
        return None
    return int(np.argmin(values)) + 1
