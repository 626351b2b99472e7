"""Options of the Transform step."""

import dataclasses

from components.options import Options
from schemas import features


@dataclasses.dataclass(frozen=True)
class TransformOptions(Options):
    """How review text becomes fixed-length token-id sequences.

    Attributes:
        vocab_size: Vocabulary rows, including the reserved ``<pad>`` and ``<unk>``.
        min_frequency: Tokens seen fewer times than this in the train split are
            left out of the vocabulary (they map to ``<unk>``).
        max_length: Tokens kept per review; shorter reviews are padded with
            ``<pad>``, longer ones truncated.
        ngram_max: Longest word n-gram of the bag-of-n-grams feature (1 = words
            only, 2 adds bigrams, 3 trigrams); 0 turns the feature off.
        ngram_buckets: Number of n-gram ids: an n-gram's id is its hash bucket
            (no vocabulary is analysed). The Trainer gives no weight to ids
            held by too few train reviews (``trainer.ngram_min_frequency``).
    """

    SECTION = "transform"

    vocab_size: int = 20_000
    min_frequency: int = 2
    max_length: int = 400
    ngram_max: int = 3
    ngram_buckets: int = 2**23

    def validate(self) -> None:
        self.check_range("vocab_size", len(features.RESERVED_TOKENS) + 1, 5_000_000)
        self.check_range("min_frequency", 1, None)
        self.check_range("max_length", 1, 10_000)
        self.check_range("ngram_max", 0, 5)
        # to_hash_bucket_fast takes any positive count; 2**30 keeps a review's
        # (row, id) key in an int64 and the Trainer's per-id arrays sane.
        self.check_range("ngram_buckets", 1, 2**30)

    @property
    def top_k(self) -> int:
        """Learned vocabulary entries: the rows left after the reserved ones."""
        return self.vocab_size - len(features.RESERVED_TOKENS)
