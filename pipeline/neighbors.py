"""Loading the embeddings pushed with a model, for ``imdb-pipeline neighbors``.

The search itself is :mod:`components.neighbors`; this finds the version to
read as TF Serving would (:func:`pipeline.predict.resolve_model_dir`) and reads
its ``embeddings/`` folder (:mod:`components.artifacts.model`).
"""

from __future__ import annotations

import os

import tensorflow as tf

from components.artifacts import model as model_artifact
from components.artifacts.files import DamagedFileError
from components.neighbors import (
    MATRIX_FILES,
    TRAINED,
    Embeddings,
    EmbeddingsNotFoundError,
    EmbeddingsUnreadableError,
    MatrixShapeError,
)
from pipeline.predict import resolve_model_dir


def load_embeddings(model_dir: str, which: str = TRAINED) -> Embeddings:
    """The ``trained`` or ``injected`` embeddings of a pushed version (or a model directory's newest).

    Raises:
        pipeline.predict.ModelNotFoundError, EmbeddingsNotFoundError, or EmbeddingsUnreadableError (naming the file).
    """
    if which not in MATRIX_FILES:
        raise ValueError(f"which must be one of {', '.join(MATRIX_FILES)}, got {which!r}")
    version_dir = resolve_model_dir(model_dir)
    directory = os.path.join(version_dir, model_artifact.EMBEDDINGS_DIR)
    if not tf.io.gfile.isdir(directory):
        raise EmbeddingsNotFoundError(
            f"{version_dir} has no {model_artifact.EMBEDDINGS_DIR}/ folder: the model has no embedding "
            "layer to search (trained with trainer.use_embeddings false: the n-gram branch alone), "
            "or was pushed without its embeddings"
        )
    matrix_path = os.path.join(directory, MATRIX_FILES[which])
    vocabulary_path = os.path.join(directory, model_artifact.VOCABULARY_FILE)
    for path in (matrix_path, vocabulary_path):
        if not tf.io.gfile.exists(path):
            raise EmbeddingsNotFoundError(
                f"{path} does not exist: the model was not pushed with its embeddings"
            )
    try:
        matrix = model_artifact.read_matrix(matrix_path)
    except (ValueError, EOFError, OSError, tf.errors.OpError) as error:  # ValueError: a truncated .npy
        raise EmbeddingsUnreadableError(_unreadable(matrix_path, error)) from error
    try:
        vocabulary = tuple(model_artifact.read_vocabulary(vocabulary_path))
    except DamagedFileError as error:  # its message names the file
        raise EmbeddingsUnreadableError(str(error)) from error
    try:
        return Embeddings(vocabulary, matrix, source=matrix_path)
    except ValueError as error:
        where = f" in {vocabulary_path}" if isinstance(error, MatrixShapeError) else ""
        raise EmbeddingsUnreadableError(f"{error}{where}") from error


def _unreadable(path: str, error: BaseException) -> str:
    text = str(error).strip()
    return f"{path} cannot be read (truncated or damaged?): {text.splitlines()[0] if text else type(error).__name__}"
