"""The embedding matrix aligned row-for-row with the Transform vocabulary (row i = vocabulary line i).

:func:`align` reads a stream of ``(word, vector)`` pairs once and keeps only
vocabulary rows. The matching rules (reserved tokens, exact, lower-cased,
missing) are the README's "Word vectors"; an exact match wins over a lower-cased
one wherever it comes, and among repeats or spellings the first in the file wins.
"""

from collections.abc import Iterable, Mapping, Sequence
import dataclasses
import itertools
from typing import Any

import numpy as np

from components.embeddings.options import EmbeddingOptions, RowInit
from components.matching import Normalizer, transform_token
from components.options import OptionsError
from components.plural import counted
from schemas import features

# Most frequent missing words in coverage.json and in the run-log summary.
TOP_MISSING = 20
_SAMPLE_WORDS = 5
# File words normalised per batch for the lower-case fallback.
_BATCH_SIZE = 4096

# The spread of random rows in a dimension where the found vectors have none (one distinct
# vector, or a dimension they all share): the bound of Keras's default embedding initialiser.
FALLBACK_SPREAD = 0.05

# Row sources, for the per-row bookkeeping of align().
_MISSING, _LOWERCASE, _EXACT = 0, 1, 2


class AlignmentError(ValueError):
    """The vocabulary and the vector file cannot be aligned."""


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How much of the vocabulary (reserved tokens aside), and of the train-split tokens, the file covers.

    ``token_share`` and ``top_missing`` need token counts (else None and empty);
    ``duplicates`` counts repeated vectors of vocabulary words (the first is used).
    """

    vocabulary_words: int
    exact: int
    lowercase: int
    missing: int
    token_share: float | None
    top_missing: tuple[tuple[str, int], ...]
    dimension: int
    vectors_read: int
    duplicates: int

    @property
    def found(self) -> int:
        """Words that got a vector from the file."""
        return self.exact + self.lowercase

    @property
    def word_share(self) -> float:
        """Share of vocabulary words that got a vector from the file."""
        return self.found / self.vocabulary_words if self.vocabulary_words else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary, for ``coverage.json``."""
        return {
            **dataclasses.asdict(self),
            "found": self.found,
            "word_share": self.word_share,
            "top_missing": [{"word": word, "count": count} for word, count in self.top_missing],
        }

    def summary(self) -> str:
        """One line for the run log."""
        line = (
            f"coverage: {self.found:,} of {self.vocabulary_words:,} words "
            f"({self.word_share:.1%}: {self.exact:,} exact, {self.lowercase:,} lower-cased)"
        )
        if self.token_share is not None:
            line += f", {self.token_share:.1%} of token occurrences"
        line += f"; {self.missing:,} missing; {counted(self.vectors_read, 'vector')} read"
        if self.duplicates:
            line += f" ({counted(self.duplicates, 'repeat')} of vocabulary words ignored)"
        if self.top_missing:
            shown = ", ".join(f"{_printable(word)} ({count:,})" for word, count in self.top_missing)
            line += f"; most frequent missing: {shown}"
        return line


def _printable(word: str) -> str:
    # IMDb text has stray control characters (U+0096, a mis-decoded dash) that
    # become tokens; quote them so the log line shows something.
    return word if word.isprintable() and word.strip() else repr(word)


def align(
    vocabulary: Sequence[str],
    vectors: Iterable[tuple[str, np.ndarray]],
    options: EmbeddingOptions,
    token_counts: Mapping[str, int] | None = None,
    normalize: Normalizer = transform_token,
    vectors_source: str = "the vector file",
) -> tuple[np.ndarray, Coverage]:
    """Builds the float32 ``[len(vocabulary), dimension]`` matrix whose row i is the vector of ``vocabulary[i]``.

    Missing rows follow ``options.oov_init`` (``random``: normal with the
    per-dimension spread of the found vectors, :data:`FALLBACK_SPREAD` where
    they have none, seeded by ``options.seed``).
    ``options.dimension``, when set, is checked against the first vector, so a
    file of another length fails at once (OptionsError). ``normalize`` maps a
    batch of file words to their vocabulary form (None: no single token) for the
    lower-case fallback; ``token_counts`` (train-split counts) feed the coverage.

    Raises:
        AlignmentError: A vocabulary without the reserved tokens first or with
            repeats, vectors of different lengths, or no vocabulary word with a vector.
    """
    _check_vocabulary(vocabulary)
    rows = {word: row for row, word in enumerate(vocabulary) if word not in features.RESERVED_TOKENS}
    if not rows:
        raise AlignmentError("the vocabulary has no words besides the reserved tokens")

    matrix: np.ndarray | None = None
    source = np.full(len(vocabulary), _MISSING, dtype=np.int8)
    file_sample: list[str] = []
    read = duplicates = 0
    stream = iter(vectors)
    while batch := list(itertools.islice(stream, _BATCH_SIZE)):
        # Words without an exact match, in file order, for the fallback.
        unmatched: list[tuple[str, np.ndarray]] = []
        for word, vector in batch:
            if matrix is None:
                if problem := options.dimension_conflict(len(vector), vectors_source):
                    raise OptionsError(problem)
                matrix = np.zeros((len(vocabulary), len(vector)), dtype=np.float32)
            elif len(vector) != matrix.shape[1]:
                raise AlignmentError(
                    f"vector of {word!r} has {len(vector)} values, earlier ones have {matrix.shape[1]}"
                )
            read += 1
            if len(file_sample) < _SAMPLE_WORDS:
                file_sample.append(word)
            row = rows.get(word)
            if row is None:
                unmatched.append((word, vector))
            elif source[row] == _EXACT:
                duplicates += 1
            else:
                matrix[row] = vector
                source[row] = _EXACT
        if options.lowercase_fallback and unmatched:
            keys = normalize([word for word, _ in unmatched])
            for (_word, vector), key in zip(unmatched, keys, strict=True):
                row = rows.get(key) if key is not None else None
                if row is not None and source[row] == _MISSING:
                    matrix[row] = vector
                    source[row] = _LOWERCASE

    if matrix is None:
        raise AlignmentError("the vector file holds no vectors")
    found = source != _MISSING
    if not found.any():
        raise AlignmentError(
            f"none of the {len(rows):,} vocabulary words has a vector (vocabulary starts "
            f"{list(rows)[:_SAMPLE_WORDS]}, the vector file {file_sample}): the file probably "
            "uses another tokenisation or is not in the expected format"
        )

    _fill_missing_rows(matrix, found, options)
    coverage = _coverage(vocabulary, source, token_counts, matrix.shape[1], read, duplicates)
    return matrix, coverage


def _check_vocabulary(vocabulary: Sequence[str]) -> None:
    for token_id, token in ((features.PAD_ID, features.PAD_TOKEN), (features.UNK_ID, features.UNK_TOKEN)):
        if len(vocabulary) <= token_id or vocabulary[token_id] != token:
            raise AlignmentError(
                f"vocabulary line {token_id} must be {token!r}; is this a Transform vocabulary?"
            )
    if len(set(vocabulary)) != len(vocabulary):
        raise AlignmentError("the vocabulary repeats words, so rows would be ambiguous")


def _fill_missing_rows(matrix: np.ndarray, found: np.ndarray, options: EmbeddingOptions) -> None:
    """Sets the ``<pad>``, ``<unk>`` and missing-word rows in place (every word row without ``pretrained``)."""
    missing = ~found if options.pretrained else np.ones_like(found)
    missing[[features.PAD_ID, features.UNK_ID]] = False
    by_rule = {options.oov_init if options.pretrained else RowInit.RANDOM: np.flatnonzero(missing).tolist()}
    by_rule.setdefault(options.unk_init, []).append(features.UNK_ID)
    # From the file's vectors, before any row is filled (without pretrained, found rows are among them).
    mean = matrix[found].mean(axis=0, dtype=np.float64)
    std = matrix[found].std(axis=0, dtype=np.float64)
    std[~(np.isfinite(std) & (std > 0))] = FALLBACK_SPREAD
    for rule, rule_rows in by_rule.items():
        # Sorted rows: the random draw depends only on which rows need one.
        rule_rows.sort()
        if rule == RowInit.ZEROS:
            matrix[rule_rows] = 0.0
        elif rule == RowInit.MEAN:
            matrix[rule_rows] = mean
        else:  # RowInit.RANDOM
            rng = np.random.default_rng(options.seed)
            matrix[rule_rows] = rng.standard_normal((len(rule_rows), matrix.shape[1])) * std
    matrix[features.PAD_ID] = 0.0


def _coverage(
    vocabulary: Sequence[str],
    source: np.ndarray,
    token_counts: Mapping[str, int] | None,
    dimension: int,
    vectors_read: int,
    duplicates: int,
) -> Coverage:
    words = np.array([word not in features.RESERVED_TOKENS for word in vocabulary])
    missing_rows = np.flatnonzero(words & (source == _MISSING))
    token_share = None
    top_missing: tuple[tuple[str, int], ...] = ()
    if token_counts is not None:
        counts = np.array([token_counts.get(word, 0) for word in vocabulary], dtype=np.int64)
        total = int(counts[words].sum())
        token_share = (total - int(counts[missing_rows].sum())) / total if total else None
        # Stable sort: equal counts keep vocabulary order.
        ranked = missing_rows[np.argsort(-counts[missing_rows], kind="stable")[:TOP_MISSING]]
        top_missing = tuple((vocabulary[row], int(counts[row])) for row in ranked)
    return Coverage(
        vocabulary_words=int(words.sum()),
        exact=int(np.sum(words & (source == _EXACT))),
        lowercase=int(np.sum(words & (source == _LOWERCASE))),
        missing=len(missing_rows),
        token_share=token_share,
        top_missing=top_missing,
        dimension=dimension,
        vectors_read=vectors_read,
        duplicates=duplicates,
    )
