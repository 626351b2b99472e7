"""Options of the Word2Vec and embedding-alignment steps."""

import enum

from pydantic import Field

from components.options import Bool, Epochs, Int, Options, Seed, Share


class RowInit(enum.StrEnum):
    """How a row of the matrix without a vector starts."""

    RANDOM = "random"
    ZEROS = "zeros"
    MEAN = "mean"


class VectorFormat(enum.StrEnum):
    """Word-vector file formats, read by components/embeddings/vector_files.py.

    Named here so that building the configuration does not import TensorFlow.
    """

    AUTO = "auto"
    GLOVE = "glove"
    WORD2VEC = "word2vec"
    WORD2VEC_BINARY = "word2vec_binary"
    KEYED_VECTORS = "keyedvectors"


class Word2VecAlgorithm(enum.StrEnum):
    SKIPGRAM = "skipgram"
    CBOW = "cbow"


GLOVE = VectorFormat.GLOVE.value
WORD2VEC = VectorFormat.WORD2VEC.value
WORD2VEC_BINARY = VectorFormat.WORD2VEC_BINARY.value
KEYED_VECTORS = VectorFormat.KEYED_VECTORS.value
VECTOR_FORMATS = (GLOVE, WORD2VEC, WORD2VEC_BINARY, KEYED_VECTORS)
AUTO_FORMAT = VectorFormat.AUTO.value


class Word2VecOptions(Options):
    """gensim word2vec trained on the run's own text (train and unsup splits)."""

    SECTION = "word2vec"

    dimension: Int = Field(
        50,
        ge=2,
        le=2_000,
        description="Vector size. gensim's time hardly depends on it; the Trainer's embedding branch costs less "
        "with fewer.",
    )
    window: Int = Field(
        5, ge=1, le=100, description="Maximum distance between the current and predicted word."
    )
    min_count: Int = Field(2, ge=1, description="Words rarer than this in the corpus get no vector.")
    epochs: Epochs = Field(
        1,
        description="Passes over the corpus. Each costs about 11 CPU s on the full IMDb train + unsup text with "
        "the default negative and sample (22 s with gensim's 5 and 0.001); more epochs did not raise the test "
        "accuracy there.",
    )
    algorithm: Word2VecAlgorithm = Field(
        Word2VecAlgorithm.CBOW, description=", ".join(Word2VecAlgorithm) + "."
    )
    negative: Int = Field(
        2,
        ge=1,
        le=100,
        description="Negative samples drawn per predicted word; training time grows with them.",
    )
    sample: Share = Field(
        1e-4,
        description="Subsampling threshold: occurrences of words more frequent than this share of the corpus "
        "are skipped at random (the more frequent, the more often), which speeds up training; 0 keeps every "
        "occurrence.",
    )
    workers: Int = Field(
        1,
        ge=1,
        le=256,
        description="Training threads. More is faster; only 1 gives bit-for-bit repeatable vectors for a given "
        "seed.",
    )
    seed: Seed = Field(42, description="Seed of gensim's random number generator.")


class EmbeddingOptions(Options):
    """How the embedding matrix is aligned with the Transform vocabulary."""

    SECTION = "embedding"

    oov_init: RowInit = Field(
        RowInit.RANDOM,
        description="Rows of vocabulary words without a vector: random (seeded, normal with the per-dimension "
        "spread of the found vectors), zeros or mean (the mean found vector).",
    )
    unk_init: RowInit = Field(
        RowInit.ZEROS, description="The <unk> row, with the same choices. <pad> is always zeros."
    )
    pretrained: Bool = Field(
        True,
        description="Word rows take their vectors (word2vec's, or the --vectors file's). false draws every word "
        "row at random instead, as oov_init random does (seeded, normal with the per-dimension spread of the "
        "vectors): the vectors then give only the dimension and the scale, the baseline that shows what "
        "pretrained vectors buy. <pad> and <unk> follow their rules.",
    )
    lowercase_fallback: Bool = Field(
        True,
        description="When a vocabulary word has no exact match, use the vector of a file word that equals it "
        "after the Transform's own normalisation (lower-casing, typographic quotes and dashes made ASCII).",
    )
    vectors_format: VectorFormat = Field(
        VectorFormat.AUTO,
        description="Format of the --vectors file: auto (detected from its content), glove, word2vec (text "
        "with a header, also fastText .vec), word2vec_binary; keyedvectors (a gensim KeyedVectors.save pickle) is refused with the "
        "one-line command that converts it. "
        "Vectors trained by the Word2Vec step are always read as word2vec.",
    )
    dimension: Int = Field(
        0,
        ge=0,
        le=10_000,
        description="The vector length the run expects; 0 takes the vectors' own. When set, a --vectors file "
        "(or word2vec.dimension without one) of another length is refused before any work starts, so a run "
        "configured for 300-dimensional vectors does not train a model on a 50-dimensional file given by "
        "mistake.",
    )
    seed: Seed = Field(42, description="Seed for random rows.")

    def dimension_conflict(self, actual: int, source: str) -> str | None:
        """Why vectors of length ``actual`` from ``source`` contradict ``dimension``, or None.

        One message for the pre-flight and the one in the EmbeddingAligner (for
        files it alone can read, such as ``gs://``).
        """
        if self.dimension in (0, actual):
            return None
        return (
            f"embedding.dimension is {self.dimension}, but {source} has {actual}-dimensional vectors; "
            f"set embedding.dimension to {actual}, or to 0 to take the vectors' dimension"
        )


def word2vec_dimension_conflict(embedding: EmbeddingOptions, word2vec: Word2VecOptions) -> str | None:
    """Why word2vec's vectors (trained when no --vectors file is given) contradict ``embedding.dimension``."""
    if embedding.dimension in (0, word2vec.dimension):
        return None
    return (
        f"embedding.dimension is {embedding.dimension}, but word2vec.dimension (the vectors trained when no "
        f"--vectors file is given) is {word2vec.dimension}; set them equal, or embedding.dimension to 0"
    )
