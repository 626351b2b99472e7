"""The ExampleStatistics artifact: per-split statistics of ExampleGen's examples.

Layout, as TFX's StatisticsGen writes it (so TFX tools that read an
ExampleStatistics artifact find its files), plus a JSON summary that holds the
same figures as plain values for this pipeline's readers (the drift check and
the run report):

    <uri>/Split-<name>/FeatureStats.pb       tensorflow_metadata DatasetFeatureStatisticsList
    <uri>/Split-<name>/token_counts.tsv.gz   every distinct token and its count (gzip, most frequent first)
    <uri>/summary.json                       every split's figures and the duplicate texts
    <uri>/vocabulary.txt                     the vocabulary the out-of-vocabulary shares were measured against

The last two let a later span's drift check count its tokens outside this
span's vocabulary; artifacts written before them lack them.

Custom properties: ``span`` (the Examples' span, ExampleGen's property of the
same name: a window of several spans' last), ``first_span`` (the window's first,
which ExampleGen records too; both compared by the drift check's resolver) and
per split ``<split>_examples``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
import dataclasses
import itertools
import math
import os
from typing import Any

import pydantic

from components.artifacts.files import DamagedFileError, read_json, read_lines, write_json
from components.plural import counted
from schemas import features

STATISTICS_KEY = "statistics"
SPLIT_PREFIX = "Split-"
STATISTICS_FILE = "FeatureStats.pb"
SUMMARY_FILE = "summary.json"
TOKEN_COUNTS_FILE = "token_counts.tsv.gz"
VOCABULARY_FILE = "vocabulary.txt"
SPAN_PROPERTY = "span"
FIRST_SPAN_PROPERTY = "first_span"

# Label names as the report and the drift messages show them.
POSITIVE = "positive"
NEGATIVE = "negative"
UNLABELED = "unlabeled"
LABEL_NAMES = {features.POSITIVE_LABEL: POSITIVE, features.NEGATIVE_LABEL: NEGATIVE}
NO_LABEL = -1
NO_RATING = -1

# Review lengths are also counted in buckets of this many tokens, the last one
# open-ended: the histogram of the feature statistics and the drift check's
# Jensen-Shannon divergence use these buckets.
LENGTH_BUCKET_TOKENS = 25
LENGTH_BUCKETS = 40
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)

# Names of the derived statistics in FeatureStats.pb (custom statistics of the text feature).
TOKEN_LENGTH_STAT = "token_length"
TOKEN_LENGTH_QUANTILES_STAT = "token_length_quantiles"
OOV_SHARE_STAT = "out_of_vocabulary_share"
EMPTY_REVIEWS_STAT = "token_less_reviews"
TOP_TOKENS_STAT = "top_tokens"
DUPLICATES_STAT = "duplicates_within_split"


def out_of_vocabulary(tokens: Mapping[str, int], vocabulary: Iterable[str]) -> int:
    """Occurrences of the ``tokens`` (token -> count) outside ``vocabulary``, its reserved tokens aside."""
    known = set(features.vocabulary_words(vocabulary))
    return sum(count for token, count in tokens.items() if token not in known)


@dataclasses.dataclass(frozen=True)
class SplitStatistics:
    """The figures of one split.

    Attributes:
        name: Split name.
        examples: Number of examples.
        labels: Examples per label name (``negative``, ``positive``, ``unlabeled``).
        ratings: Examples per rating (1-10; unlabeled reviews have none).
        lengths: Reviews per length in tokens.
        tokens: Tokens in all reviews.
        oov_tokens: Tokens that are not in the Transform's vocabulary (the
            reserved tokens aside); None when no vocabulary was given.
        empty_reviews: Reviews without a token (empty, white space, HTML only).
        top_tokens: The most frequent tokens with their counts, most frequent first.
        distinct_tokens: Distinct tokens in the split.
        duplicates: Reviews that repeat an earlier review of the split (labeled splits).
        word_positive_share: For the most frequent vocabulary words, the share of
            positive reviews among the split's labeled reviews holding the word.
    """

    name: str
    examples: int
    labels: dict[str, int]
    ratings: dict[int, int]
    lengths: dict[int, int]
    tokens: int
    oov_tokens: int | None
    empty_reviews: int
    top_tokens: tuple[tuple[str, int], ...]
    distinct_tokens: int
    duplicates: int | None = None
    word_positive_share: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def labeled(self) -> int:
        return self.labels.get(POSITIVE, 0) + self.labels.get(NEGATIVE, 0)

    @property
    def positive_share(self) -> float | None:
        """Share of positive reviews among the labeled ones; None without a labeled review."""
        return self.labels.get(POSITIVE, 0) / self.labeled if self.labeled else None

    @property
    def label_distribution(self) -> dict[str, float]:
        """Label name -> share of the labeled reviews; empty for an unlabeled split."""
        if not self.labeled:
            return {}
        return {name: self.labels.get(name, 0) / self.labeled for name in (NEGATIVE, POSITIVE)}

    @property
    def oov_share(self) -> float | None:
        """Share of tokens outside the vocabulary; None without a vocabulary or a token."""
        if self.oov_tokens is None or not self.tokens:
            return None
        return self.oov_tokens / self.tokens

    def quantile(self, q: float) -> int | None:
        """The review length at quantile ``q`` (nearest rank: the smallest length with at least q of the reviews)."""
        lengths = sorted(self.lengths)
        reviews_up_to = list(itertools.accumulate(self.lengths[length] for length in lengths))
        total = reviews_up_to[-1] if lengths else 0
        if not total:
            return None
        return lengths[bisect.bisect_left(reviews_up_to, max(1, math.ceil(q * total)))]

    @property
    def quantiles(self) -> dict[float, int]:
        return {q: self.quantile(q) for q in QUANTILES} if self.examples else {}

    @property
    def length_buckets(self) -> list[int]:
        """Reviews per bucket of ``LENGTH_BUCKET_TOKENS`` tokens; the last bucket holds every longer review."""
        buckets = [0] * LENGTH_BUCKETS
        for length, count in self.lengths.items():
            buckets[min(length // LENGTH_BUCKET_TOKENS, LENGTH_BUCKETS - 1)] += count
        return buckets

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["ratings"] = {str(rating): count for rating, count in sorted(self.ratings.items())}
        values["lengths"] = {str(length): count for length, count in sorted(self.lengths.items())}
        values["positive_share"] = self.positive_share
        values["oov_share"] = self.oov_share
        values["quantiles"] = {str(q): value for q, value in self.quantiles.items()}
        return values


@dataclasses.dataclass(frozen=True)
class DuplicateGroup:
    """Reviews with the same text once tokenised, seen in more than one split.

    Attributes:
        members: (split, source file, label name) of each review in the group.
        snippet: The start of the text, to recognise it.
    """

    members: tuple[tuple[str, str, str], ...]
    snippet: str

    @property
    def conflicting_labels(self) -> bool:
        return len({label for _split, _source, label in self.members}) > 1


@dataclasses.dataclass(frozen=True)
class Duplicates:
    """Exact duplicates (once tokenised) between the splits a model learns from and is scored on.

    Attributes:
        leaks: (split scored, splits learnt from, reviews of the split, reviews
            whose text appears in the splits learnt from), e.g.
            ``("test", ("train", "eval"), 25000, 118)``.
        groups: Number of distinct texts shared across splits.
        shown_groups: The largest of those groups.
        within_split: Per labeled split, reviews that repeat an earlier review of the same split.
    """

    leaks: tuple[tuple[str, tuple[str, ...], int, int], ...]
    groups: int
    shown_groups: tuple[DuplicateGroup, ...]
    within_split: dict[str, int]


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Everything an ExampleStatistics artifact holds.

    Attributes:
        splits: Split name -> its figures, in ExampleGen's split order.
        duplicates: Duplicate texts within and across the labeled splits;
            None when there is no labeled split.
        span: The span of the examples (of a window of several spans, the last); None when unknown.
        first_span: The first span of that window (for one span, the span); None when unknown.
        vocabulary_size: Vocabulary rows the out-of-vocabulary share was measured
            against (reserved tokens included); None without a vocabulary.
    """

    splits: dict[str, SplitStatistics]
    duplicates: Duplicates | None
    span: int | None = None
    vocabulary_size: int | None = None
    first_span: int | None = None

    @property
    def earliest_span(self) -> int | None:
        """The first span read: ``first_span``, or ``span`` in statistics written before windows were recorded."""
        return self.first_span if self.first_span is not None else self.span

    def span_name(self, unknown: str) -> str:
        return spans_name(self.first_span, self.span) if self.span is not None else unknown

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "splits": [split.to_json() for split in self.splits.values()]}

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> Statistics:
        # pydantic gives the JSON's string keys and arrays back as the fields' ints and tuples.
        splits = {split["name"]: split for split in values["splits"]}
        return pydantic.TypeAdapter(cls).validate_python({**values, "splits": splits})


# --- FeatureStats.pb ------------------------------------------------------------------------------


def feature_statistics(split: SplitStatistics) -> Any:
    """One split's figures as tensorflow_metadata's ``DatasetFeatureStatisticsList``.

    ``label`` is a categorical INT feature (string statistics, as TFDV gives a
    categorical integer: its rank histogram is what an L-infinity drift
    comparator reads), ``rating`` a numeric one with one histogram bucket per
    rating, and ``text`` a string feature whose derived figures (lengths in
    tokens, out-of-vocabulary share, token-less reviews, most frequent
    tokens, duplicates) are custom statistics.
    """
    from tensorflow_metadata.proto.v0 import path_pb2, statistics_pb2

    dataset = statistics_pb2.DatasetFeatureStatistics(name=split.name, num_examples=split.examples)

    def feature(name: str, type_: int) -> statistics_pb2.FeatureNameStatistics:
        return dataset.features.add(path=path_pb2.Path(step=[name]), type=type_)

    def common(present: int) -> statistics_pb2.CommonStatistics:
        return statistics_pb2.CommonStatistics(
            num_non_missing=present,
            num_missing=split.examples - present,
            min_num_values=1 if present else 0,
            max_num_values=1 if present else 0,
            avg_num_values=1.0 if present else 0.0,
            tot_num_values=present,
        )

    labeled = split.labeled
    if labeled:
        string_stats = feature(features.LABEL, statistics_pb2.FeatureNameStatistics.INT).string_stats
        string_stats.common_stats.CopyFrom(common(labeled))
        ordered = sorted(
            ((value, split.labels.get(name, 0)) for value, name in LABEL_NAMES.items()),
            key=lambda item: -item[1],
        )
        string_stats.unique = sum(1 for _value, count in ordered if count)
        for rank, (value, count) in enumerate(ordered):
            string_stats.top_values.add(value=str(value), frequency=count)
            string_stats.rank_histogram.buckets.add(
                low_rank=rank, high_rank=rank, label=str(value), sample_count=count
            )

    rated = sum(split.ratings.values())
    if rated:
        num = feature(features.RATING, statistics_pb2.FeatureNameStatistics.INT).num_stats
        num.common_stats.CopyFrom(common(rated))
        values = sorted(split.ratings)
        num.mean = sum(value * count for value, count in split.ratings.items()) / rated
        num.std_dev = math.sqrt(
            sum(count * (value - num.mean) ** 2 for value, count in split.ratings.items()) / rated
        )
        num.min, num.max = values[0], values[-1]
        histogram = num.histograms.add(type=statistics_pb2.Histogram.STANDARD)
        for value in range(values[0], values[-1] + 1):
            histogram.buckets.add(
                low_value=value, high_value=value + 1, sample_count=split.ratings.get(value, 0)
            )

    text = feature(features.TEXT, statistics_pb2.FeatureNameStatistics.STRING)
    text.string_stats.common_stats.CopyFrom(common(split.examples))
    lengths = text.custom_stats.add(name=TOKEN_LENGTH_STAT).histogram
    lengths.type = statistics_pb2.Histogram.STANDARD
    for i, count in enumerate(split.length_buckets):
        high = (i + 1) * LENGTH_BUCKET_TOKENS if i < LENGTH_BUCKETS - 1 else float("inf")
        lengths.buckets.add(low_value=i * LENGTH_BUCKET_TOKENS, high_value=high, sample_count=count)
    quantiles = text.custom_stats.add(name=TOKEN_LENGTH_QUANTILES_STAT).histogram
    quantiles.type = statistics_pb2.Histogram.QUANTILES
    cut_points = list(split.quantiles.values())
    for low, high in itertools.pairwise(cut_points):
        quantiles.buckets.add(
            low_value=low, high_value=high, sample_count=split.examples / (len(cut_points) - 1)
        )
    if split.oov_share is not None:
        text.custom_stats.add(name=OOV_SHARE_STAT, num=split.oov_share)
    text.custom_stats.add(name=EMPTY_REVIEWS_STAT, num=split.empty_reviews)
    if split.duplicates is not None:
        text.custom_stats.add(name=DUPLICATES_STAT, num=split.duplicates)
    top = text.custom_stats.add(name=TOP_TOKENS_STAT).rank_histogram
    for rank, (token, count) in enumerate(split.top_tokens):
        top.buckets.add(low_rank=rank, high_rank=rank, label=token, sample_count=count)
    return statistics_pb2.DatasetFeatureStatisticsList(datasets=[dataset])


# --- write and read -------------------------------------------------------------------------------


def split_dir(uri: str, split: str) -> str:
    return os.path.join(uri, f"{SPLIT_PREFIX}{split}")


def write_statistics(
    statistics: Statistics,
    uri: str,
    token_counts: Mapping[str, Mapping[str, int]] | None = None,
    vocabulary: Sequence[str] | None = None,
) -> None:
    """Writes ``Split-<name>/FeatureStats.pb`` per split and ``summary.json`` under ``uri``; with them,
    ``token_counts`` (split -> token -> count) and the ``vocabulary`` measured against."""
    import gzip

    import tensorflow as tf
    from tfx.utils import io_utils

    from components.artifacts.model import write_vocabulary  # imports TensorFlow: only when writing

    for name, split in statistics.splits.items():
        path = os.path.join(split_dir(uri, name), STATISTICS_FILE)
        io_utils.write_bytes_file(path, feature_statistics(split).SerializeToString())
    for name, counts in (token_counts or {}).items():
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        lines = "".join(f"{token}\t{count}\n" for token, count in ordered).encode("utf-8")
        packed = gzip.compress(lines, mtime=0)  # no time stamp: the same counts, the same bytes
        io_utils.write_bytes_file(os.path.join(split_dir(uri, name), TOKEN_COUNTS_FILE), packed)
    tf.io.gfile.makedirs(uri)
    if vocabulary is not None:
        write_vocabulary(os.path.join(uri, VOCABULARY_FILE), vocabulary)
    write_json(os.path.join(uri, SUMMARY_FILE), statistics.to_json(), indent=1, sort_keys=True)


def read_statistics(uri: str) -> Statistics:
    """Reads ``summary.json`` of the ExampleStatistics artifact at ``uri``."""
    values = read_json(os.path.join(uri, SUMMARY_FILE))
    if values is None:
        raise FileNotFoundError(
            f"{uri} holds no {SUMMARY_FILE}: not an ExampleStatistics artifact of this pipeline"
        )
    try:
        return Statistics.from_json(values)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{os.path.join(uri, SUMMARY_FILE)}: unexpected content ({error!r})") from None


def read_vocabulary(uri: str, rows: int | None) -> list[str] | None:
    """The vocabulary the out-of-vocabulary shares were measured against, of the ``rows`` that
    ``summary.json`` records; None in an artifact without one.

    Raises:
        DamagedFileError: The file is damaged (:func:`components.artifacts.model.read_vocabulary`), holds
            no word besides the reserved tokens, or not ``rows`` lines (cut short at a line's end).
    """
    from components.artifacts.model import read_vocabulary  # imports TensorFlow: only when reading

    path = os.path.join(uri, VOCABULARY_FILE)
    try:
        vocabulary = read_vocabulary(path)
    except FileNotFoundError:
        return None
    if not features.vocabulary_words(vocabulary):
        raise DamagedFileError(f"{path} holds no vocabulary word")
    if rows is not None and len(vocabulary) != rows:
        raise DamagedFileError(
            f"{path} holds {counted(len(vocabulary), 'token')}, its {SUMMARY_FILE} records {rows:,}"
        )
    return vocabulary


def read_token_counts(uri: str, split: str, tokens: int) -> dict[str, int] | None:
    """Token -> count of one split, whose counts add up to its ``tokens``; None in an artifact without them.

    Raises:
        DamagedFileError: The file is damaged: not gzip or UTF-8, a line not ``<token>\t<count>``, a
            token twice, or counts that do not add up to the split's tokens.
    """
    path = os.path.join(split_dir(uri, split), TOKEN_COUNTS_FILE)
    lines = read_lines(path, gzipped=True)
    if lines is None:
        return None
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        token, tab, count = line.rpartition("\t")
        if not tab or not count.isascii() or not count.isdigit() or len(count) > 19 or token in counts:
            raise DamagedFileError(
                f"{path}, line {number}: not a new token, a tab and a count: {line[:80]!r}"
            )
        counts[token] = int(count)
    if sum(counts.values()) != tokens:
        raise DamagedFileError(
            f"{path}: its counts add up to {counted(sum(counts.values()), 'token')}, the split holds {tokens:,}"
        )
    return counts


def span_of(artifact: Any) -> int | None:
    """The ``span`` custom property of an artifact (Examples or ExampleStatistics), None without one."""
    if artifact.has_custom_property(SPAN_PROPERTY):
        return artifact.get_int_custom_property(SPAN_PROPERTY)
    return None


def first_span_of(artifact: Any) -> int | None:
    """The first span of the window an artifact's examples were read from: its ``first_span`` custom
    property, or for an artifact without one (one span, or written before windows were recorded) its span."""
    if artifact.has_custom_property(FIRST_SPAN_PROPERTY):
        return artifact.get_int_custom_property(FIRST_SPAN_PROPERTY)
    return span_of(artifact)


def set_first_span(artifact: Any, first_span: int) -> None:
    artifact.set_int_custom_property(FIRST_SPAN_PROPERTY, first_span)


def spans_name(first: int | None, last: int) -> str:
    """How messages name the examples of spans ``first`` to ``last``: ``span 3``, or ``spans 2 to 3``."""
    return f"span {last}" if first in (None, last) else f"spans {first} to {last}"


def describe(found: Statistics) -> str:
    """One line per run log: examples, positive share, median length and OOV share per split."""
    parts = []
    for name, split in found.splits.items():
        figures = [counted(split.examples, "example")]
        if split.positive_share is not None:
            figures.append(f"{split.positive_share:.2f} positive")
        if split.examples:
            figures.append(f"median {counted(split.quantile(0.5), 'token')}")
        if split.oov_share is not None:
            figures.append(f"OOV {split.oov_share:.3f}")
        parts.append(f"{name}: " + ", ".join(figures))
    return "; ".join(parts)
