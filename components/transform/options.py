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
        ngram_vocab_size: Most frequent n-grams (by number of train reviews
            holding them) that get an id; the others are dropped.
        ngram_min_frequency: N-grams in fewer train reviews than this get no id.
    """

    SECTION = "transform"

    vocab_size: int = 20_000
    min_frequency: int = 2
    max_length: int = 400
    ngram_max: int = 3
    ngram_vocab_size: int = 500_000
    ngram_min_frequency: int = 2

    def validate(self) -> None:
        self.check_range("vocab_size", len(features.RESERVED_TOKENS) + 1, 5_000_000)
        self.check_range("min_frequency", 1, None)
        self.check_range("max_length", 1, 10_000)
        self.check_range("ngram_max", 0, 5)
        self.check_range("ngram_vocab_size", 1, 50_000_000)
        self.check_range("ngram_min_frequency", 1, None)

    @property
    def top_k(self) -> int:
        """Learned vocabulary entries: the rows left after the reserved ones."""
        return self.vocab_size - len(features.RESERVED_TOKENS)
