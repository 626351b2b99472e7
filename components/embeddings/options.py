"""Options of the Word2Vec and embedding-alignment steps."""

import dataclasses

from components.options import Options

ROW_INITIALIZERS = ("random", "zeros", "mean")

# Word-vector file formats, read by components/embeddings/vectors.py (named here
# so that building the configuration does not import TensorFlow).
GLOVE = "glove"
WORD2VEC = "word2vec"
WORD2VEC_BINARY = "word2vec_binary"
KEYED_VECTORS = "keyedvectors"
VECTOR_FORMATS = (GLOVE, WORD2VEC, WORD2VEC_BINARY, KEYED_VECTORS)
AUTO_FORMAT = "auto"


@dataclasses.dataclass(frozen=True)
class Word2VecOptions(Options):
    """gensim word2vec trained on the run's own text (train and unsup splits).

    Attributes:
        dimension: Vector size.
        window: Maximum distance between the current and predicted word.
        min_count: Words rarer than this in the corpus get no vector.
        epochs: Passes over the corpus.
        algorithm: ``skipgram`` or ``cbow``.
        workers: Training threads. More is faster; only 1 gives bit-for-bit
            repeatable vectors for a given seed.
        seed: Seed of gensim's random number generator.
    """

    SECTION = "word2vec"

    dimension: int = 100
    window: int = 5
    min_count: int = 2
    epochs: int = 5
    algorithm: str = "cbow"
    workers: int = 1
    seed: int = 42

    def validate(self) -> None:
        self.check_range("dimension", 2, 2_000)
        self.check_range("window", 1, 100)
        self.check_range("min_count", 1, None)
        self.check_range("epochs", 1, 1_000)
        self.check_choice("algorithm", ("skipgram", "cbow"))
        self.check_range("workers", 1, 256)


@dataclasses.dataclass(frozen=True)
class EmbeddingOptions(Options):
    """How the embedding matrix is aligned with the Transform vocabulary.

    Attributes:
        oov_init: Rows of vocabulary words without a vector: ``random`` (seeded,
            normal with the per-dimension spread of the found vectors),
            ``zeros`` or ``mean`` (the mean found vector).
        unk_init: The ``<unk>`` row, with the same choices. ``<pad>`` is always zeros.
        lowercase_fallback: When a vocabulary word has no exact match, use the
            vector of a file word that equals it after the Transform's own
            normalisation (lower-casing, typographic quotes and dashes made ASCII).
        vectors_format: Format of the ``--vectors`` file: ``auto`` (detected
            from its content), ``glove``, ``word2vec`` (text with a header, also
            fastText ``.vec``), ``word2vec_binary`` or ``keyedvectors`` (gensim
            ``KeyedVectors.save``). Vectors trained by the Word2Vec step are
            always read as ``word2vec``.
        dimension: The vector length the run expects; 0 takes the vectors'
            own. When set, a ``--vectors`` file (or ``word2vec.dimension``
            without one) of another length is refused before any work starts,
            so a run configured for 300-dimensional vectors does not train a
            model on a 50-dimensional file given by mistake.
        seed: Seed for ``random`` rows.
    """

    SECTION = "embedding"

    oov_init: str = "random"
    unk_init: str = "zeros"
    lowercase_fallback: bool = True
    vectors_format: str = AUTO_FORMAT
    dimension: int = 0
    seed: int = 42

    def validate(self) -> None:
        self.check_choice("oov_init", ROW_INITIALIZERS)
        self.check_choice("unk_init", ROW_INITIALIZERS)
        self.check_choice("vectors_format", (AUTO_FORMAT, *VECTOR_FORMATS))
        self.check_range("dimension", 0, 10_000)

    def dimension_conflict(self, actual: int, source: str) -> str | None:
        """Why vectors of length ``actual`` from ``source`` contradict ``dimension``, or None.

        One message for the check before the run (the configuration) and the
        one in the EmbeddingAligner (for files it alone can read, such as ``gs://``).
        """
        if self.dimension in (0, actual):
            return None
        return (
            f"{self._name('dimension')} is {self.dimension}, but {source} has {actual}-dimensional vectors; "
            f"set {self._name('dimension')} to {actual}, or to 0 to take the vectors' dimension"
        )
