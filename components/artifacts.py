"""Artifact types of this pipeline that TFX does not define."""

from tfx.types import artifact


class EmbeddingVectors(artifact.Artifact):
    """Word vectors in word2vec text format (``vectors.txt``, ``<count> <dim>`` header).

    Written by the Word2Vec step, or imported from a user's pretrained file (then
    the URI is that file and its format is detected when it is read).
    """

    TYPE_NAME = "EmbeddingVectors"


class EmbeddingMatrix(artifact.Artifact):
    """A matrix aligned row-for-row with a Transform vocabulary.

    Files: ``matrix.npy`` (float32, one row per vocabulary line),
    ``vocabulary.txt`` (the vocabulary it was built for, same order) and
    ``coverage.json``. Custom properties record the TransformGraph it was built
    from and the SHA-256 of that vocabulary, which the Trainer checks.
    """

    TYPE_NAME = "EmbeddingMatrix"
