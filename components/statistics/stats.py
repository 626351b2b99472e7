"""Per-split statistics of ExampleGen's examples, as one Beam graph (:class:`ComputeStatistics`).

Reviews are tokenised with the shared tokeniser (components/text.py), the one
the Transform graph and so the served model use: lengths are what the model
would read before truncation, the out-of-vocabulary share is measured against
the Transform's own token vocabulary, and duplicates are texts the model
cannot tell apart (found by the one duplicate detector, components/duplicates.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
import dataclasses
import heapq
import re
from typing import NamedTuple

import apache_beam as beam
import numpy as np

from components import duplicates
from components.artifacts.statistics import (
    LABEL_NAMES,
    NO_LABEL,
    NO_RATING,
    UNLABELED,
    DuplicateGroup,
    Duplicates,
    SplitStatistics,
    Statistics,
    out_of_vocabulary,
)
from schemas import features

TOP_TOKENS = 20
# Vocabulary words (most frequent first) whose positive share the report colours its projection with.
SHARED_WORDS = 300
SHOWN_GROUPS = 10
SNIPPET_CHARS = 160
# Scored split -> the splits the model learnt from: a scored review whose text
# is in those splits measures memory, not generalisation.
LEAK_CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (features.TEST, (features.TRAIN, features.EVAL)),
    (features.EVAL, (features.TRAIN,)),
)
_LINE_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_BATCH = 256


def snippet(text: bytes) -> str:
    """The start of a review as plain text (HTML line breaks and runs of white space as one space)."""
    plain = _LINE_BREAK.sub(" ", text.decode("utf-8", "replace"))
    plain = " ".join(plain.split())
    return plain if len(plain) <= SNIPPET_CHARS else plain[: SNIPPET_CHARS - 1] + "…"


class _Counts(NamedTuple):
    """One split's counts over some of its reviews; tokens are kept as UTF-8 bytes until the end.

    ``containing`` and ``positive`` count, per shared word (by its position
    among the shared words), the labeled reviews holding it and the positive
    ones among them.
    """

    labels: Counter
    ratings: Counter
    lengths: Counter
    tokens: Counter
    containing: Counter
    positive: Counter


def _sum(partials: Iterable[_Counts]) -> _Counts:
    """The sum of partial counts, into new counters (Beam's inputs are not modified)."""
    total = _Counts(*(Counter() for _field in _Counts._fields))
    for partial in partials:
        for counts, more in zip(total, partial, strict=True):
            counts.update(more)
    return total


class _BatchStatistics(beam.DoFn):
    """A batch of ``(split, serialized tf.Example)`` -> per split in it, one partial :class:`_Counts`.

    The batch is parsed, tokenised (the shared tokeniser) and joined back to
    text in one TensorFlow call; the counts are NumPy sums over its flat
    tokens, so nothing is done per token in Python (only per distinct token of
    the batch: its place among the shared words, found in a dict). Each labeled
    review also goes to the ``texts`` output as ``(its tokens joined by spaces,
    (split, source, label name, snippet))`` for the duplicate groups.

    Args:
        shared_words: The vocabulary words whose positive share is counted.
    """

    TEXTS = "texts"

    def __init__(self, shared_words: list[str]):
        super().__init__()
        # Shared word, as the tokens' UTF-8 -> its position among the shared words.
        self._positions = {word.encode("utf-8"): i for i, word in enumerate(shared_words)}

    def setup(self) -> None:
        import tensorflow as tf

        from components.text import tokenize

        spec = {
            features.TEXT: tf.io.RaggedFeature(tf.string),
            features.SOURCE: tf.io.RaggedFeature(tf.string),
            features.LABEL: tf.io.RaggedFeature(tf.int64),
            features.RATING: tf.io.RaggedFeature(tf.int64),
        }

        def batch_tensors(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
            parsed = tf.io.parse_example(serialized, spec)

            def first(name: str, default):
                return parsed[name].to_tensor(default_value=default, shape=[None, 1])[:, 0]

            text = first(features.TEXT, b"")
            tokens = tokenize(text)
            distinct, token_index = tf.unique(tokens.values, out_idx=tf.int64)
            return {
                "text": text,
                "source": first(features.SOURCE, b""),
                "label": first(features.LABEL, NO_LABEL),
                "rating": first(features.RATING, NO_RATING),
                "lengths": tokens.row_lengths(),
                "joined": tf.strings.reduce_join(tokens, axis=1, separator=" "),
                "distinct": distinct,
                "token_index": token_index,
            }

        # Traced once per DoFn instance, not once per batch.
        self._batch_tensors = tf.function(batch_tensors, input_signature=[tf.TensorSpec([None], tf.string)])

    def process(self, batch: Sequence[tuple[str, bytes]]):
        import tensorflow as tf

        names = sorted({split for split, _serialized in batch})
        row_split = np.array([names.index(split) for split, _serialized in batch], np.int64)
        serialized = tf.constant([example for _split, example in batch], tf.string)
        arrays = {key: value.numpy() for key, value in self._batch_tensors(serialized).items()}
        labels, lengths = arrays["label"], arrays["lengths"]
        distinct = arrays["distinct"]
        # Each distinct token's position among the shared words; -1 for any other token.
        word_index = np.array([self._positions.get(token, -1) for token in distinct.tolist()], np.int64)
        token_row = np.repeat(np.arange(len(batch)), lengths)
        # Occurrences of each distinct token per split of the batch.
        token_counts = np.bincount(
            row_split[token_row] * len(distinct) + arrays["token_index"], minlength=len(names) * len(distinct)
        ).reshape(len(names), len(distinct))
        # (review, shared word) pairs of the labeled reviews, each pair once.
        labeled = (labels == features.NEGATIVE_LABEL) | (labels == features.POSITIVE_LABEL)
        shared = max(len(self._positions), 1)
        token_word = word_index[arrays["token_index"]]
        held = (token_word >= 0) & labeled[token_row]
        pair_row, pair_word = np.divmod(np.unique(token_row[held] * shared + token_word[held]), shared)
        for code, split in enumerate(names):
            rows = row_split == code
            ratings = arrays["rating"][rows]
            counts = token_counts[code]
            present = np.flatnonzero(counts)
            in_split = row_split[pair_row] == code
            positive = in_split & (labels[pair_row] == features.POSITIVE_LABEL)
            partial = _Counts(
                labels=Counter(LABEL_NAMES.get(label, UNLABELED) for label in labels[rows].tolist()),
                ratings=Counter(ratings[ratings != NO_RATING].tolist()),
                lengths=Counter(lengths[rows].tolist()),
                tokens=Counter(dict(zip(distinct[present].tolist(), counts[present].tolist(), strict=True))),
                containing=Counter(pair_word[in_split].tolist()),
                positive=Counter(pair_word[positive].tolist()),
            )
            yield split, partial
        for row in np.flatnonzero(labeled):
            source = arrays["source"][row].decode("utf-8", "replace")
            member = (batch[row][0], source, LABEL_NAMES[int(labels[row])], snippet(arrays["text"][row]))
            yield beam.pvalue.TaggedOutput(self.TEXTS, (arrays["joined"][row], member))


def split_statistics(split: str, counts: _Counts, vocabulary: Sequence[str] | None) -> SplitStatistics:
    """One split's :class:`SplitStatistics` (without duplicates) from its summed counts (tokens as text)."""
    # Most frequent first; ties in token order, so the output does not depend on the input order.
    top = heapq.nsmallest(TOP_TOKENS, counts.tokens.items(), key=lambda item: (-item[1], item[0]))
    words = features.vocabulary_words(vocabulary or ())
    return SplitStatistics(
        name=split,
        examples=sum(counts.lengths.values()),
        labels=dict(sorted(counts.labels.items())),
        ratings=dict(sorted(counts.ratings.items())),
        lengths=dict(sorted(counts.lengths.items())),
        tokens=sum(counts.tokens.values()),
        oov_tokens=out_of_vocabulary(counts.tokens, vocabulary) if vocabulary is not None else None,
        empty_reviews=counts.lengths[0],
        top_tokens=tuple(top),
        distinct_tokens=len(counts.tokens),
        word_positive_share={
            word: counts.positive[index] / counts.containing[index]
            for index, word in enumerate(words[:SHARED_WORDS])
            if counts.containing[index]
        },
    )


def summarise_duplicates(
    groups: Iterable[Sequence[tuple[str, str, str, str]]], sizes: dict[str, int]
) -> Duplicates:
    """Counts duplicates within and across splits from the groups of reviews sharing a text; keeps the
    ``SHOWN_GROUPS`` largest cross-split groups.

    Args:
        groups: Per distinct text seen more than once, ``(split, source, label
            name, snippet)`` of each review holding it.
        sizes: Reviews per labeled split.
    """
    within = dict.fromkeys(sizes, 0)
    shared = []
    leaked = {scored: 0 for scored, _learnt in LEAK_CHECKS}
    for group in groups:
        members = sorted(group, key=lambda member: (member[0], member[1]))
        splits = Counter(split for split, _source, _label, _snippet in members)
        for split, count in splits.items():
            within[split] = within.get(split, 0) + count - 1
        for scored, learnt_from in LEAK_CHECKS:
            if scored in splits and any(split in splits for split in learnt_from):
                leaked[scored] += splits[scored]
        if len(splits) > 1:
            shared.append(members)
    leaks = tuple(
        (scored, learnt_from, sizes[scored], leaked[scored])
        for scored, learnt_from in LEAK_CHECKS
        if scored in sizes and any(split in sizes for split in learnt_from)
    )
    # Largest groups first; among equals, by their first member, so the order is stable.
    largest = sorted(shared, key=lambda members: (-len(members), members[0][0], members[0][1]))[:SHOWN_GROUPS]
    return Duplicates(
        leaks=leaks,
        groups=len(shared),
        shown_groups=tuple(
            DuplicateGroup(
                tuple((split, source, label) for split, source, label, _ in members), members[0][3]
            )
            for members in largest
        ),
        within_split=within,
    )


def _assemble(
    _none: None,
    partials: Iterable[tuple[str, _Counts]],
    groups: Iterable[list],
    split_order: Sequence[str],
    vocabulary: Sequence[str] | None,
) -> tuple[Statistics, dict[str, Counter]]:
    summed = dict(partials)
    counts = {name: summed.get(name, _sum(())) for name in split_order}
    # The tokens as text, once per distinct token (the tokeniser gives valid UTF-8).
    tokens = {
        name: Counter({t.decode("utf-8"): n for t, n in counts[name].tokens.items()}) for name in split_order
    }
    splits = {
        name: split_statistics(name, counts[name]._replace(tokens=tokens[name]), vocabulary)
        for name in split_order
    }
    labeled = {name: split.examples for name, split in splits.items() if name in features.LABELED_SPLITS}
    found = summarise_duplicates(groups, labeled) if labeled else None
    for name, repeated in found.within_split.items() if found else ():
        splits[name] = dataclasses.replace(splits[name], duplicates=repeated)
    size = len(vocabulary) if vocabulary is not None else None
    return Statistics(splits=splits, duplicates=found, vocabulary_size=size), tokens


class ComputeStatistics(beam.PTransform):
    """PCollection[(split, serialized tf.Example)] -> one ``(Statistics, split -> token -> count)``.

    Each batch of examples gives one partial count per split it holds
    (:class:`_BatchStatistics`), summed per split; only the labeled reviews'
    texts travel one by one, keyed by their digest, to find the duplicates.

    Args:
        splits: The split names, in the order the statistics list them; every
            split is there, an empty one with zero counts.
        vocabulary: The Transform's token vocabulary (file order, reserved
            tokens first); None leaves the out-of-vocabulary share out.
    """

    def __init__(self, splits: Sequence[str], vocabulary: Sequence[str] | None):
        super().__init__()
        self._splits = tuple(splits)
        self._vocabulary = list(vocabulary) if vocabulary is not None else None

    def expand(self, examples: beam.PCollection) -> beam.PCollection:
        counted = (
            examples
            | "Batch" >> beam.BatchElements(min_batch_size=_BATCH, max_batch_size=_BATCH)
            | "CountBatch"
            >> beam.ParDo(
                _BatchStatistics(features.vocabulary_words(self._vocabulary or ())[:SHARED_WORDS])
            ).with_outputs(_BatchStatistics.TEXTS, main="partials")
        )
        summed = counted.partials | "SumPerSplit" >> beam.CombinePerKey(_sum)
        groups = (
            counted[_BatchStatistics.TEXTS]
            | "GroupSameText" >> duplicates.GroupByText()
            | "Repeated" >> beam.Filter(lambda group: len(group) > 1)
        )
        root = examples.pipeline | "One" >> beam.Create([None])
        return root | "Assemble" >> beam.Map(
            _assemble,
            beam.pvalue.AsList(summed),
            beam.pvalue.AsList(groups),
            self._splits,
            self._vocabulary,
        )
