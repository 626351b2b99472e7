"""The EmbeddingVectors artifact: word vectors for the EmbeddingAligner.

Written by the Word2Vec step as ``<uri>/vectors.txt`` (word2vec text format,
``<count> <dim>`` header) with the custom properties ``words`` and
``dimension``; or a user's pretrained file registered by an Importer, when the
URI is that file itself.
"""

import os
from typing import Any

VECTORS_FILE = "vectors.txt"
# Custom properties of the EmbeddingVectors artifact written by Word2Vec.
WORDS_PROPERTY = "words"
DIMENSION_PROPERTY = "dimension"


def vectors_path(uri: str) -> str:
    """Where the Word2Vec step writes (and the aligner reads) the vectors of an artifact at ``uri``."""
    return os.path.join(uri, VECTORS_FILE)


def set_properties(vectors: Any, words: int, dimension: int) -> None:
    """Records how many vectors of how many dimensions a Word2Vec output holds (for the step log)."""
    vectors.set_int_custom_property(DIMENSION_PROPERTY, dimension)
    vectors.set_int_custom_property(WORDS_PROPERTY, words)
