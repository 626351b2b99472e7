"""The token vocabulary and its counts, analysed in one pass.

``tft.compute_and_apply_vocabulary`` writes the vocabulary (reserved tokens
first, line i is token id i) and a second ``tft.vocabulary(...,
store_frequency=True)`` wrote the same words with their counts: two analyses
of every token. Each of them also hands Beam one ``(token, count)`` element per
distinct token of every batch, which Beam moves through Python one at a time;
that was the largest share of the Transform's time (see the README's
"Where the Transform's time goes").

Here each batch's distinct tokens and counts (``tf.unique_with_counts``, as
tf.Transform's own vocabulary does) reach one Beam combiner as two arrays, the
counts are summed in a dictionary, and both files are written from the one
result, in tf.Transform's order and formats:

* ``features.VOCABULARY_NAME``: the reserved tokens, then the ``top_k`` most
  frequent tokens (ties: the greater token first, byte-wise) seen at least
  ``frequency_threshold`` times, one per line (``tft.vocabulary``'s text file);
* ``features.TOKEN_COUNTS_NAME``: the same tokens as ``<count> <token>``
  (``store_frequency=True``), without the reserved tokens.

As ``tft.vocabulary`` does, empty tokens and tokens with a line break (which a
line-based file cannot hold) are left out. (The tokeniser gives neither, nor a
token equal to a reserved one, which is ``ranked_tokens``' one difference
between the two files.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import os

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam

from schemas import features

# What the trace of the preprocessing_fn sees before the analysis has run.
_PLACEHOLDER = b"\n".join(token.encode() for token in features.RESERVED_TOKENS)


def _add(counts: dict[bytes, int], tokens: np.ndarray, token_counts: np.ndarray) -> dict[bytes, int]:
    get = counts.get
    for token, count in zip(tokens.tolist(), token_counts.tolist(), strict=True):
        counts[token] = get(token, 0) + count
    return counts


class _SumCounts(beam.CombineFn):
    """Sums per-batch (distinct tokens, counts) arrays; outputs the ranked (count, token) entries.

    The output is the ranked list rather than the whole dictionary: Beam's
    CombineGlobally passes its result on as a side input, whose size Beam's
    cache measures object by object.
    """

    def __init__(self, top_k: int, frequency_threshold: int):
        self._top_k = top_k
        self._frequency_threshold = frequency_threshold

    def create_accumulator(self) -> dict[bytes, int]:
        return {}

    def add_input(self, accumulator: dict[bytes, int], batch: Sequence[np.ndarray]) -> dict[bytes, int]:
        tokens, token_counts = batch
        return _add(accumulator, tokens, token_counts)

    def merge_accumulators(self, accumulators: Iterable[dict[bytes, int]]) -> dict[bytes, int]:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for accumulator in accumulators:
            if len(accumulator) > len(merged):
                merged, accumulator = accumulator, merged
            get = merged.get
            for token, count in accumulator.items():
                merged[token] = get(token, 0) + count
        return merged

    def extract_output(self, accumulator: dict[bytes, int]) -> list[tuple[int, bytes]]:
        return ranked_tokens(accumulator, self._top_k, self._frequency_threshold)


def ranked_tokens(counts: dict[bytes, int], top_k: int, frequency_threshold: int) -> list[tuple[int, bytes]]:
    """The ``top_k`` largest (count, token) pairs at or above the threshold, largest first.

    tf.Transform's order (``beam.combiners.Top.Of``): by count, ties by the
    greater token, byte-wise. Empty tokens and tokens with a line break never
    enter.
    """
    kept = [
        (count, token)
        for token, count in counts.items()
        if count >= frequency_threshold and token and b"\n" not in token and b"\r" not in token
    ]
    kept.sort(reverse=True)
    return kept[:top_k]


class TokenVocabularies(tft_beam.experimental.PTransformAnalyzer):
    """Counts tokens once and writes the vocabulary and the count file; outputs their paths."""

    def __init__(self, top_k: int, frequency_threshold: int, reserved_tokens: Sequence[str]):
        super().__init__()
        self._top_k = top_k
        self._frequency_threshold = frequency_threshold
        self._reserved_tokens = tuple(reserved_tokens)

    def _write(self, entries: list[tuple[int, bytes]]) -> tuple[str, str]:
        reserved = [token.encode() for token in self._reserved_tokens]
        tf.io.gfile.makedirs(self.base_temp_dir)
        vocabulary_path = os.path.join(self.base_temp_dir, features.VOCABULARY_NAME)
        counts_path = os.path.join(self.base_temp_dir, features.TOKEN_COUNTS_NAME)
        # As tf.Transform does, a learned token equal to a reserved one keeps only
        # its reserved line in the vocabulary (which then has one word less),
        # while the count file, which has no reserved lines, keeps it.
        lines = reserved + [token for _, token in entries if token not in reserved]
        with tf.io.gfile.GFile(vocabulary_path, "wb") as out:
            out.write(b"".join(line + b"\n" for line in lines))
        with tf.io.gfile.GFile(counts_path, "wb") as out:
            out.write(b"".join(b"%d %s\n" % (count, token) for count, token in entries))
        return vocabulary_path, counts_path

    def expand(self, batches: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        paths = (
            batches
            | "SumCounts" >> beam.CombineGlobally(_SumCounts(self._top_k, self._frequency_threshold))
            | "WriteFiles" >> beam.Map(self._write)
        )
        return (
            paths | "VocabularyPath" >> beam.Map(lambda both: np.array(both[0])),
            paths | "CountsPath" >> beam.Map(lambda both: np.array(both[1])),
        )


def token_vocabulary(tokens: tf.RaggedTensor, top_k: int, frequency_threshold: int) -> tf.Tensor:
    """Analyses ``tokens`` once; returns the vocabulary file (``features.VOCABULARY_NAME``) for
    ``tft.apply_vocabulary``. The count file (``features.TOKEN_COUNTS_NAME``) is written beside it."""
    distinct, _, counts = tf.unique_with_counts(tokens.flat_values, out_idx=tf.int64)
    vocabulary_path, _ = tft.experimental.ptransform_analyzer(
        [distinct, counts],
        TokenVocabularies(top_k, frequency_threshold, features.RESERVED_TOKENS),
        output_dtypes=[tf.string, tf.string],
        output_shapes=[[], []],
        output_asset_default_values=[_PLACEHOLDER, b""],
        name="token_vocabulary",
    )
    return vocabulary_path
