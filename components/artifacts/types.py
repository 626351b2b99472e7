"""Artifact types of this pipeline that TFX does not define.

Type names are ``<namespace>.<Title>``, the form Kubeflow Pipelines requires of
custom artifact types.
"""

from tfx.types import artifact


class EmbeddingVectors(artifact.Artifact):
    """Word vectors for the EmbeddingAligner.

    Written by the Word2Vec step as ``vectors.txt`` (word2vec text format,
    ``<count> <dim>`` header), or a user's pretrained file registered by an
    Importer: then the URI is that file, in any format components/embeddings/
    vectors.py reads (GloVe, word2vec text or binary, KeyedVectors; plain or gzip).
    Layout: :mod:`components.artifacts.embedding_vectors`.
    """

    TYPE_NAME = "imdb.EmbeddingVectors"


class EmbeddingMatrix(artifact.Artifact):
    """A matrix aligned row-for-row with a Transform vocabulary.

    Files: ``matrix.npy`` (float32, one row per vocabulary line),
    ``vocabulary.txt`` (the vocabulary it was built for, same order) and
    ``coverage.json``. Custom properties record the TransformGraph it was built
    from and the SHA-256 of that vocabulary, which the Trainer checks.
    Layout: :mod:`components.artifacts.embedding_matrix`.
    """

    TYPE_NAME = "imdb.EmbeddingMatrix"


class RunReport(artifact.Artifact):
    """A run report: ``report.html`` (figures embedded) and ``report.json`` (library versions).

    Layout: :mod:`components.artifacts.run_report`.
    """

    TYPE_NAME = "imdb.RunReport"
