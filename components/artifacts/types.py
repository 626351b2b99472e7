"""Artifact types of this pipeline that TFX does not define.

Type names are ``<namespace>.<Title>``, the form Kubeflow Pipelines requires of
custom artifact types.
"""

from tfx.types import artifact


class EmbeddingVectors(artifact.Artifact):
    """Word vectors for the EmbeddingAligner; layout: :mod:`components.artifacts.embedding_vectors`."""

    TYPE_NAME = "imdb.EmbeddingVectors"


class EmbeddingMatrix(artifact.Artifact):
    """A matrix aligned with a Transform vocabulary; layout: :mod:`components.artifacts.embedding_matrix`."""

    TYPE_NAME = "imdb.EmbeddingMatrix"


class RunReport(artifact.Artifact):
    """A run report (``report.html``, ``report.json``); layout: :mod:`components.artifacts.run_report`."""

    TYPE_NAME = "imdb.RunReport"
