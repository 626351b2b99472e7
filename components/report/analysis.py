"""The numbers behind the report's sections: pure functions over plain values and arrays."""

from collections.abc import Mapping, Sequence

import numpy as np

from components.report.sections import CONFUSION_COUNTS, Curve


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """``[rows, 2]`` coordinates on the rows' two principal components (NumPy SVD of the centred matrix),
    and the variance share of each component.

    Each component's sign is fixed so that its largest loading is positive, so
    the same matrix always gives the same picture.
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


def review_lengths(histogram: Mapping[int, int]) -> np.ndarray:
    """Tokens per review, one value per review, from a length -> reviews histogram."""
    return np.repeat(
        np.array(list(histogram), dtype=np.int64), np.array(list(histogram.values()), dtype=np.int64)
    )


def confusion_at(curve: Curve, threshold: float = 0.5) -> dict[str, float]:
    """The confusion matrix at the curve's threshold nearest ``threshold``."""
    i = int(np.argmin(np.abs(curve.thresholds - threshold)))
    return {"threshold": float(curve.thresholds[i])} | {
        count: float(getattr(curve, count)[i]) for count in CONFUSION_COUNTS
    }


def best_epoch(history: Mapping[str, Sequence[float]], monitor: str = "val_loss") -> int | None:
    """1-based epoch with the lowest ``monitor`` value (what early stopping keeps), None without it."""
    values = history.get(monitor)
    if not values:
        return None
    return int(np.argmin(values)) + 1
