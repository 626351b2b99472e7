"""Options of the Transform step."""

from pydantic import Field

from components.options import Int, Options
from schemas import features


class TransformOptions(Options):
    """How review text becomes fixed-length token-id sequences."""

    SECTION = "transform"

    vocab_size: Int = Field(
        20_000,
        ge=len(features.RESERVED_TOKENS) + 1,
        le=5_000_000,
        description="Vocabulary rows, including the reserved <pad> and <unk>.",
    )
    min_frequency: Int = Field(
        2,
        ge=1,
        description="Tokens seen fewer times than this in the train split are left out of the vocabulary "
        "(they map to <unk>).",
    )
    max_length: Int = Field(
        400,
        ge=1,
        le=10_000,
        description="Tokens kept per review; shorter reviews are padded with <pad>, longer ones truncated.",
    )
    ngram_max: Int = Field(
        3,
        ge=0,
        le=5,
        description="Longest word n-gram of the bag-of-n-grams feature (1 = words only, 2 adds bigrams, "
        "3 trigrams); 0 turns the feature off.",
    )
    # to_hash_bucket_fast takes any positive count; 2**30 keeps a review's (row, id)
    # key in an int64 and the Trainer's per-id arrays sane.
    ngram_buckets: Int = Field(
        2**23,
        ge=1,
        le=2**30,
        description="Number of n-gram ids: an n-gram's id is its hash bucket (no vocabulary is analysed). The "
        "Trainer gives no weight to ids held by too few train reviews (trainer.ngram_min_frequency).",
    )

    @property
    def top_k(self) -> int:
        """Learned vocabulary entries: the rows left after the reserved ones."""
        return self.vocab_size - len(features.RESERVED_TOKENS)
