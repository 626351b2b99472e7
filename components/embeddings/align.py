"""The embedding matrix aligned row-for-row with the Transform vocabulary.

Line i of the Transform vocabulary is token id i, so row i of the matrix must be
the vector of vocabulary word i. :func:`align` builds that matrix in one pass
over a stream of ``(word, vector)`` pairs, keeping only vocabulary rows: memory
is ``vocabulary size x dimension`` whatever the size of the vector file.

Matching rules, in order (see :mod:`components.matching`):

1. **Reserved tokens** (``<pad>``, ``<unk>``) never take a vector from the file,
   even one spelled the same: ``<pad>`` is zeros, ``<unk>`` follows
   ``EmbeddingOptions.unk_init``.
2. **Exact**: a file word spelled as a vocabulary word gives that row its
   vector. An exact match always wins over a lower-cased one, wherever it comes
   in the file. If the file repeats a word, its first vector is used (and the
   repeats are counted in the coverage report).
3. **Lower-cased** (``EmbeddingOptions.lowercase_fallback``, on by default):
   otherwise a file word whose Transform token (lower-cased, typographic quotes
   and dashes made ASCII, exactly as review text is normalised) is a
   vocabulary word gives its vector, so ``The`` in a cased file serves
   ``the``. If several file words normalise to the same vocabulary word
   (``Paris``, ``PARIS``), the first in the file wins: files list words by
   descending frequency, so that is the most common spelling.
4. **Missing** words (OOV for the file) get ``EmbeddingOptions.oov_init``:
   zeros, the mean found vector, or seeded random values with the
   per-dimension spread of the found vectors.
5. Without ``EmbeddingOptions.pretrained``, every word row is such a random
   row, found or not: the vectors give only the dimension and the spread.

The :class:`Coverage` report counts the words of each kind, the share of
train-split token occurrences covered, and the most frequent missing words.
"""

from collections.abc import Iterable, Mapping, Sequence
import dataclasses
import itertools
from typing import Any

import numpy as np

from components.embeddings.options import EmbeddingOptions, RowInit
from components.matching import Normalizer, transform_token
from components.options import OptionsError
from schemas import features

# Most frequent missing words in coverage.json and in the run-log summary.
TOP_MISSING = 20
_SAMPLE_WORDS = 5
# File words normalised per batch for the lower-case fallback.
_BATCH_SIZE = 4096

# Row sources, for the per-row bookkeeping of align().
_MISSING, _LOWERCASE, _EXACT = 0, 1, 2


class AlignmentError(ValueError):
    """The vocabulary and the vector file cannot be aligned."""


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How much of the vocabulary, and of the text, the vector file covers.

    Attributes:
        vocabulary_words: Vocabulary words, not counting the reserved tokens.
        exact: Words whose own spelling is in the vector file.
        lowercase: Words found only through a file word that normalises to
            them as the Transform normalises text (mostly lower-casing).
        missing: Words with no vector (initialised per ``EmbeddingOptions.oov_init``).
        token_share: Share of the train-split occurrences of vocabulary words
            that fall on a word with a vector; ``None`` without token counts.
            Word coverage alone understates a file: the missing words are mostly rare.
        top_missing: The most frequent missing words with their counts, most
            frequent first; empty without token counts.
        dimension: Length of the vectors.
        vectors_read: Vectors in the file.
        duplicates: Repeated vectors of vocabulary words (the first one is used).
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
            "vocabulary_words": self.vocabulary_words,
            "found": self.found,
            "exact": self.exact,
            "lowercase": self.lowercase,
            "missing": self.missing,
            "word_share": self.word_share,
            "token_share": self.token_share,
            "top_missing": [{"word": word, "count": count} for word, count in self.top_missing],
            "dimension": self.dimension,
            "vectors_read": self.vectors_read,
            "duplicates": self.duplicates,
        }

    def summary(self) -> str:
        """One line for the run log."""
        line = (
            f"coverage: {self.found:,} of {self.vocabulary_words:,} words "
            f"({self.word_share:.1%}: {self.exact:,} exact, {self.lowercase:,} lower-cased)"
        )
        if self.token_share is not None:
            line += f", {self.token_share:.1%} of token occurrences"
        line += f"; {self.missing:,} missing; {self.vectors_read:,} vectors read"
        if self.duplicates:
            line += f" ({self.duplicates:,} repeats of vocabulary words ignored)"
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
    """Builds the float32 matrix whose row i is the vector of ``vocabulary[i]``.

    Rows follow the matching rules of the module docstring: ``<pad>``
    (``features.PAD_ID``) zeros; ``<unk>`` (``features.UNK_ID``) per
    ``options.unk_init``; a word with the same spelling in the file gets that
    (first) vector; otherwise, with ``options.lowercase_fallback``, the first
    file word that ``normalize`` maps to it; otherwise per ``options.oov_init``:
    ``zeros``; ``mean``, the mean found vector; ``random``, normal with mean 0
    and the per-dimension standard deviation of the found vectors, drawn from
    ``options.seed`` so the same inputs give the same matrix.

    Args:
        vocabulary: The Transform vocabulary in id order, reserved tokens first.
        vectors: ``(word, vector)`` pairs, e.g. from ``vectors.iter_vectors``;
            read once, in order. The dimension is that of the first vector.
        options: Row initialisation and matching rules; a non-zero
            ``options.dimension`` is checked against the first vector, so a
            file of another length fails at its first batch, not after the
            whole (possibly multi-gigabyte) file.
        token_counts: Train-split count of each vocabulary word
            (``read_token_counts``), for the token share and top missing words.
        normalize: Maps a batch of file words to their vocabulary form for the
            lower-case fallback (None: no single token); the Transform's own
            normalisation by default.
        vectors_source: Where the vectors come from (the file's path), for the
            dimension message.

    Returns:
        The ``[len(vocabulary), dimension]`` float32 matrix and its coverage.

    Raises:
        AlignmentError: If the vocabulary does not start with the reserved
            tokens, repeats a word, or no vocabulary word has a vector (usually
            a tokenisation or file-format mismatch); or if vectors differ in length.
        OptionsError: If ``options.dimension`` is set and the first vector has
            another length (``EmbeddingOptions.dimension_conflict``).
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
                problem = options.dimension_conflict(len(vector), vectors_source)
                if problem:
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
    # Words without a vector; the reserved rows are set separately below.
    missing = ~found if options.pretrained else np.ones_like(found)
    missing[features.PAD_ID] = False
    missing[features.UNK_ID] = False
    by_rule: dict[str, list[int]] = {}
    for row in np.flatnonzero(missing):
        by_rule.setdefault(options.oov_init if options.pretrained else RowInit.RANDOM, []).append(int(row))
    by_rule.setdefault(options.unk_init, []).append(features.UNK_ID)
    # From the file's vectors, before any row is filled (without pretrained, found rows are among them).
    mean = matrix[found].mean(axis=0, dtype=np.float64)
    std = matrix[found].std(axis=0, dtype=np.float64)
    for rule, rule_rows in by_rule.items():
        # Sorted rows: the random draw depends only on which rows need one.
        rule_rows.sort()
        if rule == RowInit.ZEROS:
            matrix[rule_rows] = 0.0
        elif rule == RowInit.MEAN:
            matrix[rule_rows] = mean
        elif rule == RowInit.RANDOM:
            rng = np.random.default_rng(options.seed)
            matrix[rule_rows] = rng.standard_normal((len(rule_rows), matrix.shape[1])) * std
        else:
            raise ValueError(f"unknown row initialiser {rule!r}")
    matrix[features.PAD_ID] = 0.0


def _coverage(
    vocabulary: Sequence[str],
    source: np.ndarray,
    token_counts: Mapping[str, int] | None,
    dimension: int,
    vectors_read: int,
    duplicates: int,
) -> Coverage:
    words = [row for row, word in enumerate(vocabulary) if word not in features.RESERVED_TOKENS]
    exact = sum(1 for row in words if source[row] == _EXACT)
    lowercase = sum(1 for row in words if source[row] == _LOWERCASE)
    missing_rows = [row for row in words if source[row] == _MISSING]
    token_share = None
    top_missing: tuple[tuple[str, int], ...] = ()
    if token_counts is not None:
        total = sum(token_counts.get(vocabulary[row], 0) for row in words)
        covered = sum(token_counts.get(vocabulary[row], 0) for row in words if source[row] != _MISSING)
        token_share = covered / total if total else None
        # Stable sort: equal counts keep vocabulary order.
        ranked = sorted(missing_rows, key=lambda row: -token_counts.get(vocabulary[row], 0))
        top_missing = tuple(
            (vocabulary[row], token_counts.get(vocabulary[row], 0)) for row in ranked[:TOP_MISSING]
        )
    return Coverage(
        vocabulary_words=len(words),
        exact=exact,
        lowercase=lowercase,
        missing=len(missing_rows),
        token_share=token_share,
        top_missing=top_missing,
        dimension=dimension,
        vectors_read=vectors_read,
        duplicates=duplicates,
    )
