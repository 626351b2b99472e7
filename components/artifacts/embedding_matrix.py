"""The EmbeddingMatrix artifact: ``matrix.npy``, ``vocabulary.txt`` (line i = row i) and ``coverage.json``.

Custom properties: ``vocabulary_sha256`` (checked by the Trainer), ``transform_graph_uri``,
``dimension``, ``coverage_words`` and, when the Transform counted tokens, ``coverage_tokens``.
"""

from collections.abc import Sequence
import hashlib
import os
from typing import Any

import numpy as np
import tensorflow as tf

from components.artifacts.files import read_json, write_json
from components.artifacts.model import read_matrix, read_vocabulary, write_vocabulary

MATRIX_FILE = "matrix.npy"
VOCABULARY_FILE = "vocabulary.txt"
COVERAGE_FILE = "coverage.json"

# Custom properties of the EmbeddingMatrix artifact.
VOCABULARY_SHA256_PROPERTY = "vocabulary_sha256"
TRANSFORM_GRAPH_URI_PROPERTY = "transform_graph_uri"
DIMENSION_PROPERTY = "dimension"
COVERAGE_WORDS_PROPERTY = "coverage_words"
COVERAGE_TOKENS_PROPERTY = "coverage_tokens"


class EmbeddingMismatchError(ValueError):
    """The embedding matrix was built for another vocabulary than the one trained with."""


def vocabulary_fingerprint(vocabulary: Sequence[str]) -> str:
    """SHA-256 (hex) of the vocabulary lines joined by newlines, checked by :func:`load_checked`."""
    return hashlib.sha256("\n".join(vocabulary).encode("utf-8")).hexdigest()


def write_embedding_matrix(
    output: Any,
    matrix: np.ndarray,
    vocabulary: Sequence[str],
    coverage: dict[str, Any],
    transform_graph_uri: str,
) -> None:
    """Writes the files of ``output`` (a TFX artifact) and sets its custom properties (``coverage``: coverage.json)."""
    with tf.io.gfile.GFile(os.path.join(output.uri, MATRIX_FILE), "wb") as matrix_file:
        np.save(matrix_file, matrix)
    write_vocabulary(os.path.join(output.uri, VOCABULARY_FILE), vocabulary)
    write_json(os.path.join(output.uri, COVERAGE_FILE), coverage, ensure_ascii=False)

    output.set_string_custom_property(VOCABULARY_SHA256_PROPERTY, vocabulary_fingerprint(vocabulary))
    output.set_string_custom_property(TRANSFORM_GRAPH_URI_PROPERTY, transform_graph_uri)
    output.set_int_custom_property(DIMENSION_PROPERTY, coverage["dimension"])
    output.set_float_custom_property(COVERAGE_WORDS_PROPERTY, coverage["word_share"])
    if coverage.get("token_share") is not None:
        output.set_float_custom_property(COVERAGE_TOKENS_PROPERTY, coverage["token_share"])


def read_embedding_matrix(uri: str) -> tuple[np.ndarray, list[str]]:
    """The matrix and the vocabulary it was built for (with a vocabulary to check: :func:`load_checked`)."""
    return read_matrix(os.path.join(uri, MATRIX_FILE)), read_vocabulary(os.path.join(uri, VOCABULARY_FILE))


def read_coverage(uri: str) -> dict | None:
    """The ``coverage.json`` the aligner wrote in an EmbeddingMatrix artifact; None when absent."""
    return read_json(os.path.join(uri, COVERAGE_FILE))


def load_checked(embedding: Any, vocabulary: list[str]) -> np.ndarray:
    """Loads the aligned matrix of the artifact ``embedding``; EmbeddingMismatchError if built for another vocabulary."""
    expected = vocabulary_fingerprint(vocabulary)
    recorded = embedding.get_string_custom_property(VOCABULARY_SHA256_PROPERTY)
    if recorded != expected:
        built_from = (
            embedding.get_string_custom_property(TRANSFORM_GRAPH_URI_PROPERTY)
            or "an unknown transform output"
        )
        raise EmbeddingMismatchError(
            f"the embedding matrix at {embedding.uri} was built for another vocabulary "
            f"(from {built_from}; sha256 {recorded[:12] or 'missing'} != {expected[:12]}); "
            "re-run the embedding step on this transform output"
        )
    matrix, _ = read_embedding_matrix(embedding.uri)
    if matrix.shape[0] != len(vocabulary):
        raise EmbeddingMismatchError(
            f"the embedding matrix has {matrix.shape[0]} rows; the vocabulary has {len(vocabulary)}"
        )
    return matrix
