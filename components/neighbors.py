"""Exact nearest neighbours (cosine) in the trained or injected embeddings of a model.

One matrix product per query batch over unit rows: about a millisecond per query for
20,000 x 100, so no approximate index. Neighbours never include the query word, the
reserved tokens or all-zero rows (no direction).
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import functools

import numpy as np

from components.artifacts import model as model_artifact
from components.matching import transform_token
from components.plural import counted
from schemas import features

TRAINED = "trained"
INJECTED = "injected"
# The matrix file of each kind in a model's ``embeddings/`` folder.
MATRIX_FILES = {TRAINED: model_artifact.TRAINED_MATRIX_FILE, INJECTED: model_artifact.INJECTED_MATRIX_FILE}


class UnknownWordError(KeyError):
    """Query words without neighbours to search, in query order.

    ``words``: not in the vocabulary, nor their Transform-normalised form;
    ``reserved``: reserved tokens, which the vocabulary holds but which are no words.
    """

    def __init__(self, words: Sequence[str], source: str, reserved: Sequence[str] = ()):
        super().__init__(words)
        self.words = list(words)
        self.source = source
        self.reserved = list(reserved)

    def __str__(self) -> str:
        problems = []
        if self.words:
            problems.append(
                f"{counted(len(self.words), 'word')} {'is' if len(self.words) == 1 else 'are'} not in the "
                f"vocabulary of {self.source}: {_listed(self.words)} (rare words map to {features.UNK_TOKEN} "
                "and have no vector of their own)"
            )
        if self.reserved:
            one = len(self.reserved) == 1
            problems.append(
                f"{_listed(self.reserved)} {'is a reserved token' if one else 'are reserved tokens'}, with no "
                f"meaningful neighbours ({features.PAD_TOKEN} fills a review up to the sequence length, "
                f"{features.UNK_TOKEN} stands for every rare word)"
            )
        return "; ".join(problems)


def _listed(words: Sequence[str]) -> str:
    return ", ".join(repr(word) for word in words)


class EmbeddingsNotFoundError(FileNotFoundError):
    """A model directory without the embedding artifacts of this pipeline."""


class EmbeddingsUnreadableError(ValueError):
    """Embedding artifacts that cannot be read: truncated or damaged, or matrix and vocabulary disagree."""


@dataclasses.dataclass(frozen=True)
class Embeddings:
    """A float32 ``[len(vocabulary), dimension]`` matrix with its vocabulary (line i = row i) and source."""

    vocabulary: tuple[str, ...]
    matrix: np.ndarray
    source: str = "the embeddings"

    def __post_init__(self) -> None:
        check_matrix(self.matrix, len(self.vocabulary), self.source)

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Row of each token."""
        return {token: row for row, token in enumerate(self.vocabulary)}

    @functools.cached_property
    def word_index(self) -> dict[str, int]:
        """Row of each token a query may name: every token but the reserved ones."""
        return {token: row for token, row in self.index.items() if token not in features.RESERVED_TOKENS}

    @functools.cached_property
    def unit_rows(self) -> np.ndarray:
        """The rows scaled to unit length (all-zero rows stay zero); in float64, where squares do not overflow."""
        matrix = self.matrix.astype(np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return unit.astype(np.float32)

    @functools.cached_property
    def candidates(self) -> np.ndarray:
        """Rows that may be neighbours: not reserved, not all zeros."""
        usable = np.any(self.matrix != 0, axis=1)
        usable[[self.index[token] for token in features.RESERVED_TOKENS if token in self.index]] = False
        return usable


class MatrixShapeError(ValueError):
    """A matrix whose rows do not match the vocabulary (or that is not two-dimensional)."""


def check_matrix(matrix: np.ndarray, rows: int, source: str) -> None:
    """Raises ValueError (naming ``source``) unless ``matrix`` is a finite real ``[rows, dimension]`` matrix."""
    if matrix.dtype.kind not in "fiu":
        raise ValueError(f"{source}: a matrix of {matrix.dtype} values, not real numbers (float32 expected)")
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise MatrixShapeError(f"{source}: matrix of shape {matrix.shape} for a vocabulary of {rows}")
    finite = np.isfinite(matrix)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        hold = "holds" if len(bad_rows) == 1 else "hold"
        raise ValueError(
            f"{source}: {counted(len(bad_rows), 'row')} {hold} NaN or infinite values (first: row {bad_rows[0]}); the embeddings are damaged"
        )


def nearest_neighbors(
    embeddings: Embeddings, words: Sequence[str], k: int = 10
) -> dict[str, list[tuple[str, float]]]:
    """Up to ``k`` ``(neighbour, cosine)`` pairs per query word, most similar first (ties in vocabulary order).

    A query word is looked up as given, then as the Transform normalises it
    (``Great`` -> ``great``); an all-zero vector has no neighbours. Raises
    UnknownWordError listing every query word not in the vocabulary.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rows = _query_rows(embeddings, words)
    unit = embeddings.unit_rows
    similarities = unit[list(rows.values())] @ unit.T if rows else np.zeros((0, len(unit)))
    results = {}
    for (word, row), cosines in zip(rows.items(), similarities, strict=True):
        if not np.any(unit[row]):
            results[word] = []
            continue
        usable = embeddings.candidates.copy()
        usable[row] = False
        candidates = np.flatnonzero(usable)
        scores = cosines[candidates]
        # A full sort, not argpartition: ties at the k-th place stay in vocabulary order.
        order = np.lexsort((candidates, -scores))[:k]
        results[word] = [(embeddings.vocabulary[candidates[i]], float(scores[i])) for i in order]
    return results


def _query_rows(embeddings: Embeddings, words: Sequence[str]) -> dict[str, int]:
    """The row of each query word: exact, else its Transform token; unknown words and reserved tokens raise."""
    index = embeddings.word_index
    not_exact = [word for word in dict.fromkeys(words) if word not in index]
    normalised = dict(zip(not_exact, transform_token(not_exact), strict=True))
    unknown = [word for word in not_exact if normalised[word] not in index]
    if unknown:
        # In any case, as query words are matched (`<PAD>` is <pad>).
        reserved = [word for word in unknown if word.lower() in features.RESERVED_TOKENS]
        raise UnknownWordError(
            [word for word in unknown if word not in reserved], embeddings.source, reserved
        )
    return {word: index[word] if word in index else index[normalised[word]] for word in dict.fromkeys(words)}
