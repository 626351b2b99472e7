"""Per-split statistics of ExampleGen's examples, as one Beam graph (:class:`ComputeStatistics`).

Reviews are tokenised with the shared tokeniser (components/text.py), the one
the Transform graph and so the served model use: lengths are what the model
would read before truncation, the out-of-vocabulary share is measured against
the Transform's own token vocabulary, and duplicates are texts the model
cannot tell apart (found by the one duplicate detector, components/duplicates.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
import dataclasses
import re

import apache_beam as beam

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


@dataclasses.dataclass(frozen=True)
class Review:
    """What the statistics need of one example."""

    split: str
    label: int
    rating: int
    source: str
    text: bytes


@dataclasses.dataclass(frozen=True)
class TokenisedReview:
    """A review with its tokens (the shared tokeniser's)."""

    split: str
    label: int
    rating: int
    source: str
    snippet: str
    tokens: tuple[str, ...]


def parse_example(split: str, serialized: bytes) -> Review:
    """The fields of one serialized ``tf.train.Example`` of ExampleGen (raw schema names)."""
    import tensorflow as tf

    feature = tf.train.Example.FromString(serialized).features.feature

    def first_int(key: str, default: int) -> int:
        values = feature[key].int64_list.value if key in feature else ()
        return int(values[0]) if values else default

    def first_bytes(key: str) -> bytes:
        values = feature[key].bytes_list.value if key in feature else ()
        return values[0] if values else b""

    return Review(
        split=split,
        label=first_int(features.LABEL, NO_LABEL),
        rating=first_int(features.RATING, NO_RATING),
        source=first_bytes(features.SOURCE).decode("utf-8", "replace"),
        text=first_bytes(features.TEXT),
    )


def snippet(text: bytes) -> str:
    """The start of a review as plain text (HTML line breaks and runs of white space as one space)."""
    plain = _LINE_BREAK.sub(" ", text.decode("utf-8", "replace"))
    plain = " ".join(plain.split())
    return plain if len(plain) <= SNIPPET_CHARS else plain[: SNIPPET_CHARS - 1] + "…"


class _TokeniseBatch(beam.DoFn):
    """A batch of reviews -> one :class:`TokenisedReview` each, tokenised in one TensorFlow call."""

    def process(self, batch: Sequence[Review]) -> Iterator[TokenisedReview]:
        import tensorflow as tf

        from components.text import tokenize

        tokens = tokenize(tf.constant([review.text for review in batch])).to_list()
        for review, review_tokens in zip(batch, tokens, strict=True):
            yield TokenisedReview(
                split=review.split,
                label=review.label,
                rating=review.rating,
                source=review.source,
                snippet=snippet(review.text) if review.label != NO_LABEL else "",
                tokens=tuple(token.decode("utf-8") for token in review_tokens),
            )


class _Accumulator:
    def __init__(self):
        self.examples = 0
        self.labels: Counter = Counter()
        self.ratings: Counter = Counter()
        self.lengths: Counter = Counter()
        self.token_counts: Counter = Counter()
        self.oov_tokens = 0
        self.empty = 0
        self.containing: Counter = Counter()
        self.positive: Counter = Counter()


class SplitStatisticsFn(beam.CombineFn):
    """Combines one split's :class:`TokenisedReview` into its :class:`SplitStatistics` (without duplicates).

    Args:
        split: The split's name.
        vocabulary: The Transform's token vocabulary in file order (reserved
            tokens first); None measures no out-of-vocabulary share.
    """

    def __init__(self, split: str, vocabulary: Sequence[str] | None):
        self._split = split
        self._vocabulary = list(vocabulary) if vocabulary is not None else None

    def setup(self):
        vocabulary = self._vocabulary
        words = [token for token in vocabulary or () if token not in features.RESERVED_TOKENS]
        self._known = frozenset(words) if vocabulary is not None else None
        self._shared = frozenset(words[:SHARED_WORDS])

    def create_accumulator(self) -> _Accumulator:
        return _Accumulator()

    def add_input(self, accumulator: _Accumulator, review: TokenisedReview) -> _Accumulator:
        if not hasattr(self, "_shared"):
            self.setup()
        tokens = review.tokens
        accumulator.examples += 1
        accumulator.labels[LABEL_NAMES.get(review.label, UNLABELED)] += 1
        if review.rating != NO_RATING:
            accumulator.ratings[review.rating] += 1
        accumulator.lengths[len(tokens)] += 1
        accumulator.empty += not tokens
        accumulator.token_counts.update(tokens)
        if self._known is not None:
            known = self._known
            accumulator.oov_tokens += sum(1 for token in tokens if token not in known)
        if review.label in LABEL_NAMES and self._shared:
            held = self._shared.intersection(tokens)
            accumulator.containing.update(held)
            if review.label == features.POSITIVE_LABEL:
                accumulator.positive.update(held)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[_Accumulator]) -> _Accumulator:
        merged = _Accumulator()
        for accumulator in accumulators:
            merged.examples += accumulator.examples
            merged.labels.update(accumulator.labels)
            merged.ratings.update(accumulator.ratings)
            merged.lengths.update(accumulator.lengths)
            merged.token_counts.update(accumulator.token_counts)
            merged.oov_tokens += accumulator.oov_tokens
            merged.empty += accumulator.empty
            merged.containing.update(accumulator.containing)
            merged.positive.update(accumulator.positive)
        return merged

    def extract_output(self, accumulator: _Accumulator) -> SplitStatistics:
        if not hasattr(self, "_shared"):
            self.setup()
        # Most frequent first; ties in token order, so the output does not depend on the input order.
        top = sorted(accumulator.token_counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_TOKENS]
        shared = [word for word in self._vocabulary or () if word in self._shared]
        return SplitStatistics(
            name=self._split,
            examples=accumulator.examples,
            labels=dict(sorted(accumulator.labels.items())),
            ratings=dict(sorted(accumulator.ratings.items())),
            lengths=dict(sorted(accumulator.lengths.items())),
            tokens=sum(accumulator.token_counts.values()),
            oov_tokens=accumulator.oov_tokens if self._known is not None else None,
            empty_reviews=accumulator.empty,
            top_tokens=tuple(top),
            distinct_tokens=len(accumulator.token_counts),
            word_positive_share={
                word: accumulator.positive[word] / accumulator.containing[word]
                for word in shared
                if accumulator.containing[word]
            },
        )


def summarise_duplicates(
    groups: Iterable[Sequence[tuple[str, str, str, str]]], sizes: dict[str, int], shown: int = SHOWN_GROUPS
) -> Duplicates:
    """Counts duplicates within and across splits from the groups of reviews sharing a text.

    Args:
        groups: Per distinct text seen more than once, ``(split, source, label
            name, snippet)`` of each review holding it.
        sizes: Reviews per labeled split.
        shown: How many cross-split groups to keep, largest first.
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
    largest = sorted(shared, key=lambda members: (-len(members), members[0][0], members[0][1]))[:shown]
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
    splits: Iterable[SplitStatistics], groups: Iterable[list], split_order: Sequence[str]
) -> Statistics:
    by_name = {split.name: split for split in splits}
    labeled = {
        name: by_name[name].examples
        for name in split_order
        if name in by_name and name in features.LABELED_SPLITS
    }
    found = summarise_duplicates(groups, labeled) if labeled else None
    ordered = {}
    for name in split_order:
        if name not in by_name:
            continue
        split = by_name[name]
        if found is not None and name in found.within_split:
            split = dataclasses.replace(split, duplicates=found.within_split[name])
        ordered[name] = split
    return Statistics(splits=ordered, duplicates=found)


class ComputeStatistics(beam.PTransform):
    """PCollection[(split, serialized tf.Example)] -> PCollection[Statistics], one element.

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
        reviews = (
            examples
            | "Parse" >> beam.MapTuple(parse_example)
            | "Batch" >> beam.BatchElements(min_batch_size=_BATCH, max_batch_size=_BATCH)
            | "Tokenise" >> beam.ParDo(_TokeniseBatch())
        )
        per_split = []
        for split in self._splits:
            per_split.append(
                reviews
                | f"Only_{split}" >> beam.Filter(lambda review, name: review.split == name, split)
                | f"Statistics_{split}" >> beam.CombineGlobally(SplitStatisticsFn(split, self._vocabulary))
            )
        split_statistics = tuple(per_split) | "AllSplits" >> beam.Flatten()
        groups = (
            reviews
            | "Labeled" >> beam.Filter(lambda review: review.label in LABEL_NAMES)
            | "KeyByTokens"
            >> beam.Map(
                lambda review: (
                    " ".join(review.tokens),
                    (review.split, review.source, LABEL_NAMES[review.label], review.snippet),
                )
            )
            | "GroupSameText" >> duplicates.GroupByText()
            | "Repeated" >> beam.Filter(lambda group: len(group) > 1)
        )
        root = examples.pipeline | "One" >> beam.Create([None])
        return root | "Assemble" >> beam.Map(
            lambda _none, splits, found, order: _assemble(splits, found, order),
            beam.pvalue.AsList(split_statistics),
            beam.pvalue.AsList(groups),
            self._splits,
        )
