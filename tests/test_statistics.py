"""StatisticsGen's Beam graph, its artifact and the drift check, on tiny real reviews counted by hand."""

from __future__ import annotations

from collections import Counter
import dataclasses
import gzip
import json
import logging
import os
import shutil
import tarfile
import tempfile

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts

from components.artifacts import drift_anomalies, statistics
from components.artifacts.statistics import DuplicateGroup, Duplicates
from components.statistics import drift
from components.statistics.executor import DriftCheckExecutor, StatisticsGenExecutor
from components.statistics.options import DriftOptions
from components.statistics.stats import ComputeStatistics, _BatchStatistics, summarise_duplicates
from components.transform.options import TransformOptions
from pipeline.config import SAMPLE_DATA
from pipeline.pipeline import beam_args_with_dependencies
from schemas import features
from tests.conftest import analyze, examples_artifact


def _sample_text(member: str) -> bytes:
    with tarfile.open(SAMPLE_DATA) as archive:
        return archive.extractfile(f"aclImdb/{member}").read()


def _example(text: bytes, label: int, rating: int, source: str) -> bytes:
    feature = {
        features.TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text])),
        features.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        features.RATING: tf.train.Feature(int64_list=tf.train.Int64List(value=[rating])),
        features.SOURCE: tf.train.Feature(bytes_list=tf.train.BytesList(value=[source.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


# Real reviews of the bundled sample, tokenised by hand with the shared tokeniser's rules.
TERRIBLE = _sample_text("train/neg/12384_1.txt")  # "If you haven't seen this, it's terrible. ..."
TERRIBLE_TOKENS = [
    "if",
    "you",
    "have",
    "n't",
    "seen",
    "this",
    ",",
    "it",
    "'s",
    "terrible",
    ".",
    "it",
    "is",
    "pure",
    "trash",
    ".",
    "i",
    "saw",
    "this",
    "about",
    "17",
    "years",
    "ago",
    ",",
    "and",
    "i",
    "'m",
    "still",
    "screwed",
    "up",
    "from",
    "it",
    ".",
]
PACINO = _sample_text("train/pos/1434_10.txt")  # "Kept my attention from start to finish. ..."
PACINO_TOKENS = [
    "kept",
    "my",
    "attention",
    "from",
    "start",
    "to",
    "finish",
    ".",
    "great",
    "performances",
    "added",
    "to",
    "this",
    "tremendous",
    "film",
    ".",
    "mr",
    ".",
    "pacino",
    "once",
    "again",
    "gives",
    "us",
    "another",
    "brilliant",
    "character",
    "to",
    "enjoy",
    ".",
]
PRIMARY = _sample_text("test/neg/5147_1.txt")  # "Primary plot!Primary direction!Poor interpretation."
PRIMARY_TOKENS = ["primary", "plot", "!", "primary", "direction", "!", "poor", "interpretation", "."]
VOCABULARY = ["<pad>", "<unk>", ".", "to", "this", "it", "from", "i", "primary"]

EXAMPLES = [
    (features.TRAIN, _example(TERRIBLE, 0, 1, "train/neg/12384_1.txt")),
    (features.TRAIN, _example(PACINO, 1, 10, "train/pos/1434_10.txt")),
    # Real input too: a review of HTML line breaks only has no token.
    (features.TRAIN, _example(b"<br /><br />", 1, 8, "train/pos/1_8.txt")),
    (features.TEST, _example(PRIMARY, 0, 1, "test/neg/5147_1.txt")),
    # The train review again, in the test split: a leak.
    (features.TEST, _example(TERRIBLE, 0, 1, "test/neg/99_1.txt")),
]


def _compute(uri: str, examples=EXAMPLES, vocabulary=VOCABULARY) -> statistics.Statistics:
    """Runs ComputeStatistics, writes its one element as the executor does, reads it back."""
    with TestPipeline(runner="FnApiRunner") as pipeline:
        result = (
            pipeline
            | beam.Create(examples)
            | ComputeStatistics([features.TRAIN, features.EVAL, features.TEST], vocabulary)
        )
        assert_that(result | beam.combiners.Count.Globally(), equal_to([1]), label="OneElement")
        _ = result | beam.MapTuple(
            lambda found, token_counts: statistics.write_statistics(found, uri, token_counts, vocabulary)
        )
    return statistics.read_statistics(uri)


@pytest.fixture(scope="module")
def computed_uri(tmp_path_factory) -> str:
    uri = str(tmp_path_factory.mktemp("statistics"))
    _compute(uri)
    return uri


@pytest.fixture(scope="module")
def computed(computed_uri) -> statistics.Statistics:
    return statistics.read_statistics(computed_uri)


def test_the_hand_tokenised_reviews_are_what_the_shared_tokeniser_gives():
    from components.text import tokenize

    tokens = tokenize(tf.constant([TERRIBLE, PACINO, PRIMARY])).to_list()
    assert [[token.decode() for token in row] for row in tokens] == [
        TERRIBLE_TOKENS,
        PACINO_TOKENS,
        PRIMARY_TOKENS,
    ]
    assert (len(TERRIBLE_TOKENS), len(PACINO_TOKENS), len(PRIMARY_TOKENS)) == (33, 29, 9)


def test_counts_labels_ratings_and_lengths_per_split(computed):
    assert list(computed.splits) == [features.TRAIN, features.EVAL, features.TEST]
    train, empty_eval, test = computed.splits.values()
    assert (train.examples, train.labels, train.ratings) == (
        3,
        {"negative": 1, "positive": 2},
        {1: 1, 8: 1, 10: 1},
    )
    assert train.lengths == {0: 1, 29: 1, 33: 1}
    assert (train.tokens, train.empty_reviews) == (62, 1)
    assert train.distinct_tokens == len({*TERRIBLE_TOKENS, *PACINO_TOKENS}) == 47
    assert train.positive_share == pytest.approx(2 / 3)
    assert (empty_eval.examples, empty_eval.labels, empty_eval.positive_share) == (0, {}, None)
    assert (test.examples, test.labels, test.lengths, test.empty_reviews) == (
        2,
        {"negative": 2},
        {9: 1, 33: 1},
        0,
    )
    assert test.positive_share == 0.0


def test_length_quantiles_are_nearest_rank(computed):
    train, _eval, test = computed.splits.values()
    # Lengths 0, 29, 33: q -> the length at rank ceil(q * 3) (at least 1).
    assert train.quantiles == {0.0: 0, 0.1: 0, 0.25: 0, 0.5: 29, 0.75: 33, 0.9: 33, 0.99: 33, 1.0: 33}
    assert (test.quantile(0.5), test.quantile(0.51), test.quantile(1.0)) == (9, 33, 33)


def test_out_of_vocabulary_share_against_the_vocabulary_less_its_reserved_tokens(computed):
    train, _eval, test = computed.splits.values()
    # In the vocabulary: TERRIBLE this x2, it x3, . x3, i x2, from x1 = 11 of 33; PACINO from, to x3, . x4, this = 9 of 29.
    assert (train.oov_tokens, train.tokens) == (33 - 11 + 29 - 9, 62)
    assert train.oov_share == pytest.approx(42 / 62)
    # PRIMARY: primary x2, . x1 = 3 of 9; the repeated TERRIBLE 22 of 33.
    assert (test.oov_tokens, test.oov_share) == (6 + 22, pytest.approx(28 / 42))


def test_most_frequent_tokens_and_positive_shares(computed):
    train = computed.splits[features.TRAIN]
    assert train.top_tokens[:7] == (
        (".", 7),
        ("it", 3),
        ("this", 3),
        ("to", 3),
        (",", 2),
        ("from", 2),
        ("i", 2),
    )
    # Of the labeled train reviews holding each vocabulary word, the positive share (PACINO is the positive one).
    assert train.word_positive_share == {".": 0.5, "to": 1.0, "this": 0.5, "it": 0.0, "from": 0.5, "i": 0.0}


def test_duplicates_across_and_within_splits(computed):
    assert computed.duplicates == Duplicates(
        leaks=(("test", ("train", "eval"), 2, 1), ("eval", ("train",), 0, 0)),
        groups=1,
        shown_groups=(
            DuplicateGroup(
                (("test", "test/neg/99_1.txt", "negative"), ("train", "train/neg/12384_1.txt", "negative")),
                TERRIBLE.decode(),
            ),
        ),
        within_split={"train": 0, "eval": 0, "test": 0},
    )
    assert computed.splits[features.TRAIN].duplicates == 0


def test_the_artifact_holds_statistics_gen_layout_and_reads_back(computed, tmp_path):
    uri = str(tmp_path / "statistics")
    statistics.write_statistics(dataclasses.replace(computed, span=3, vocabulary_size=len(VOCABULARY)), uri)
    assert sorted(p.name for p in (tmp_path / "statistics").iterdir()) == [
        "Split-eval",
        "Split-test",
        "Split-train",
        "summary.json",
    ]
    back = statistics.read_statistics(uri)
    assert back.splits == computed.splits and back.duplicates == computed.duplicates
    assert (back.span, back.vocabulary_size) == (3, 9)

    with open(
        os.path.join(statistics.split_dir(uri, features.TRAIN), statistics.STATISTICS_FILE), "rb"
    ) as file:
        proto = statistics_pb2.DatasetFeatureStatisticsList.FromString(file.read())
    (dataset,) = proto.datasets
    assert (dataset.name, dataset.num_examples) == ("train", 3)
    by_name = {feature.path.step[0]: feature for feature in dataset.features}
    ranks = {b.label: b.sample_count for b in by_name[features.LABEL].string_stats.rank_histogram.buckets}
    assert ranks == {"1": 2, "0": 1}
    custom = {stat.name: stat for stat in by_name[features.TEXT].custom_stats}
    assert custom[statistics.OOV_SHARE_STAT].num == pytest.approx(42 / 62)
    assert custom[statistics.EMPTY_REVIEWS_STAT].num == 1
    cut_points = [b.low_value for b in custom[statistics.TOKEN_LENGTH_QUANTILES_STAT].histogram.buckets]
    assert cut_points == [0, 0, 0, 29, 33, 33, 33]
    assert [b.sample_count for b in custom[statistics.TOKEN_LENGTH_STAT].histogram.buckets][:2] == [1, 2]


def test_the_artifact_keeps_each_split_s_token_counts_and_the_vocabulary_measured_against(computed_uri):
    assert sorted(os.listdir(computed_uri)) == [
        "Split-eval",
        "Split-test",
        "Split-train",
        "summary.json",
        "vocabulary.txt",
    ]
    assert sorted(os.listdir(os.path.join(computed_uri, "Split-train"))) == [
        "FeatureStats.pb",
        "token_counts.tsv.gz",
    ]
    assert statistics.read_vocabulary(computed_uri, len(VOCABULARY)) == VOCABULARY
    train, test = Counter(TERRIBLE_TOKENS + PACINO_TOKENS), Counter(PRIMARY_TOKENS + TERRIBLE_TOKENS)
    assert statistics.read_token_counts(computed_uri, features.TRAIN, train.total()) == train
    assert statistics.read_token_counts(computed_uri, features.TEST, test.total()) == test
    assert statistics.read_token_counts(computed_uri, features.EVAL, 0) == {}
    with open(os.path.join(computed_uri, "Split-train", "token_counts.tsv.gz"), "rb") as file:
        packed = file.read()
    # Most frequent first, ties in token order; no time stamp in the gzip header (bytes 4-7).
    assert gzip.decompress(packed).decode().split("\n")[:5] == [".\t7", "it\t3", "this\t3", "to\t3", ",\t2"]
    assert packed[4:8] == bytes(4)


def test_statistics_written_without_token_counts_read_as_none(computed, tmp_path):
    statistics.write_statistics(computed, str(tmp_path))
    assert statistics.read_vocabulary(str(tmp_path), computed.vocabulary_size) is None
    assert statistics.read_token_counts(str(tmp_path), features.TRAIN, 0) is None


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    counts=st.dictionaries(
        # Any text but a newline, the line separator: tabs, U+0085 and U+2028 included.
        st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=8),
        st.integers(1, 10**12),
        max_size=20,
    )
)
def test_token_counts_read_back_exactly(counts):
    with tempfile.TemporaryDirectory() as uri:
        statistics.write_statistics(statistics.Statistics({}, None), uri, {"train": counts}, ["<pad>"])
        assert statistics.read_token_counts(uri, "train", sum(counts.values())) == counts


def _split(name, positive, negative, lengths, oov_tokens=10, tokens=100):
    return statistics.SplitStatistics(
        name=name,
        examples=positive + negative,
        labels={"negative": negative, "positive": positive},
        ratings={},
        lengths=lengths,
        tokens=tokens,
        oov_tokens=oov_tokens,
        empty_reviews=0,
        top_tokens=(),
        distinct_tokens=0,
    )


def test_the_label_distribution_of_a_split_without_labeled_reviews_is_empty():
    """Before: ZeroDivisionError for an unlabeled split (unsup)."""
    unlabeled = dataclasses.replace(_split("unsup", 0, 0, {10: 3}), examples=3, labels={"unlabeled": 3})
    assert unlabeled.label_distribution == {}
    assert _split("train", 3, 1, {10: 4}).label_distribution == {"negative": 0.25, "positive": 0.75}


def test_drift_messages_name_the_statistic_both_values_and_the_threshold():
    before = statistics.Statistics({"train": _split("train", 50, 50, {100: 100})}, None, span=1)
    after = statistics.Statistics({"train": _split("train", 80, 20, {100: 100}, oov_tokens=20)}, None, span=2)
    findings = {f.check: f for f in drift.check(after, before, DriftOptions().thresholds())}
    assert findings["label"].message == (
        "label balance of train moved from 0.50 positive (span 1) to 0.80 positive (span 2): L-infinity 0.300 > 0.1"
    )
    assert findings["label"].exceeded and not findings["length"].exceeded
    assert findings["length"].distance == 0.0
    assert findings["oov"].message == (
        "out-of-vocabulary share of train moved from 0.100 (span 1) to 0.200 (span 2): change 0.100 > 0.05"
    )


def test_drift_messages_name_a_window_of_several_spans_by_its_first_and_last_span():
    before = statistics.Statistics({"train": _split("train", 50, 50, {100: 100})}, None, span=2, first_span=1)
    after = statistics.Statistics({"train": _split("train", 80, 20, {100: 100})}, None, span=4, first_span=3)
    findings = {f.check: f for f in drift.check(after, before, DriftOptions().thresholds())}
    assert findings["label"].message == (
        "label balance of train moved from 0.50 positive (spans 1 to 2) to 0.80 positive (spans 3 to 4): "
        "L-infinity 0.300 > 0.1"
    )
    alone = dataclasses.replace(before, first_span=2)  # a window of one span is named as the span
    findings = {f.check: f for f in drift.check(after, alone, DriftOptions().thresholds())}
    assert findings["label"].message.startswith("label balance of train moved from 0.50 positive (span 2) to")


def test_drift_counts_this_span_s_tokens_outside_the_previous_span_s_vocabulary():
    """Span 2's words are new: each span's own vocabulary holds all its tokens (no change), the
    previous span's vocabulary 60 of 100 (reserved tokens aside); with the same words, no change."""
    before = statistics.Statistics({"train": _split("train", 50, 50, {100: 100}, oov_tokens=0)}, None, span=1)
    after = statistics.Statistics(
        {
            "train": _split("train", 50, 50, {100: 100}, oov_tokens=0),
            "test": _split("test", 50, 50, {100: 100}, oov_tokens=0),
        },
        None,
        span=2,
    )
    vocabulary = ["<pad>", "<unk>", "good", "film"]

    def oov(token_counts):
        findings = drift.check(after, before, DriftOptions().thresholds(), 1, None, token_counts, vocabulary)
        return [(f.kind, f.split, f.distance, f.message) for f in findings if f.check == "oov"]

    new_words = {"train": {"bon": 50, "<unk>": 10, "film": 40}, "test": {"good": 100}}
    assert oov(new_words) == [
        (
            "drift",
            "train",
            0.6,
            "out-of-vocabulary share of train moved from 0.000 (span 1) to 0.600 "
            "(span 2, against span 1's vocabulary): change 0.600 > 0.05",
        ),
        # Train against test of one span: each against the span's own vocabulary.
        ("skew", "train", 0.0, "out-of-vocabulary share of train (0.000) and test (0.000) differ in span 2: "
         "change 0.000 <= 0.05"),
    ]  # fmt: skip
    same_words = {"train": {"good": 60, "film": 40}}
    assert oov(same_words)[0][2:] == (
        0.0,
        "out-of-vocabulary share of train moved from 0.000 (span 1) to 0.000 "
        "(span 2, against span 1's vocabulary): change 0.000 <= 0.05",
    )
    # Without token counts (statistics written before they were kept): each span's own share, as before.
    assert oov(None)[0][2:] == (
        0.0,
        "out-of-vocabulary share of train moved from 0.000 (span 1) to 0.000 (span 2): change 0.000 <= 0.05",
    )


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    counts=st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(1, 1000), min_size=1),
    previous_oov=st.integers(0, 100),
)
def test_the_change_is_the_previous_share_inside_the_previous_vocabulary_and_its_rest_outside(
    counts, previous_oov
):
    before = statistics.Statistics(
        {"train": _split("train", 50, 50, {100: 100}, oov_tokens=previous_oov, tokens=100)}, None, span=1
    )
    after = statistics.Statistics(
        {"train": _split("train", 50, 50, {100: 100}, oov_tokens=0, tokens=sum(counts.values()))},
        None,
        span=2,
    )

    def change(vocabulary):
        findings = drift.check(
            after, before, DriftOptions().thresholds(), 1, None, {"train": counts}, vocabulary
        )
        return next(finding.distance for finding in findings if finding.check == "oov")

    assert change(["<pad>", "<unk>", *counts]) == pytest.approx(previous_oov / 100)
    assert change(["<pad>", "<unk>"]) == pytest.approx(1 - previous_oov / 100)


def test_jensen_shannon_of_disjoint_and_equal_histograms():
    assert drift.jensen_shannon([1, 0], [0, 1]) == 1.0
    assert drift.jensen_shannon([2, 2], [1, 1]) == 0.0
    # Half the mass moved to a new bucket: 0.5 * (0.5 log2(0.5/0.25)) * 2 = 0.5, the rest contributes 0.
    assert drift.jensen_shannon([1, 1, 0], [1, 0, 1]) == pytest.approx(0.5)
    assert drift.l_infinity(
        {"positive": 0.5, "negative": 0.5}, {"positive": 0.8, "negative": 0.2}
    ) == pytest.approx(0.3)


def test_skew_compares_train_with_test_of_the_same_span():
    current = statistics.Statistics(
        {"train": _split("train", 50, 50, {10: 100}), "test": _split("test", 50, 50, {300: 100})},
        None,
        span=4,
    )
    (label, length, oov) = drift.check(current, None, DriftOptions().thresholds())
    assert (label.kind, label.exceeded, length.exceeded, oov.exceeded) == ("skew", False, True, False)
    assert length.message == (
        "review length of train (median 10 tokens) and test (median 300 tokens) differ in span 4: "
        "Jensen-Shannon divergence 1.000 > 0.1"
    )


def test_splits_smaller_than_min_examples_are_not_compared_and_say_so():
    """Sampling noise is not drift: 57 train against 24 test reviews differ by chance alone."""
    current = statistics.Statistics(
        {"train": _split("train", 21, 36, {200: 57}), "test": _split("test", 12, 12, {225: 24})},
        None,
        span=3,
    )
    previous = statistics.Statistics(
        {"train": _split("train", 300, 300, {200: 600}), "test": _split("test", 12, 12, {200: 24})},
        None,
        span=2,
    )
    skipped: list[drift_anomalies.NotCompared] = []
    findings = drift.check(
        current, previous, DriftOptions().thresholds(), DriftOptions().min_examples, skipped
    )
    assert findings == []
    assert [entry.message for entry in skipped] == [
        "train of span 3 and span 2 not compared: 57 and 600 examples, fewer than drift.min_examples (500)",
        "test of span 3 and span 2 not compared: 24 and 24 examples, fewer than drift.min_examples (500)",
        "train and test of span 3 not compared: 24 and 57 examples, fewer than drift.min_examples (500)",
    ]
    # At the limit the splits are compared: the label balance 0.37 against 0.50 then stops the run.
    (label, *_rest) = drift.check(current, None, DriftOptions().thresholds(), 24)
    assert (label.kind, label.exceeded) == ("skew", True)


def test_a_split_one_span_lacks_or_holds_no_example_of_is_reported_not_compared():
    """Span 2 without unsup reviews, without a test split, with a split span 1 never had: each pair
    that cannot be compared says why, and the pairs that can are compared."""
    current = statistics.Statistics(
        {
            "train": _split("train", 300, 300, {200: 600}),
            "unsup": _split("unsup", 0, 0, {}),
            "extra": _split("extra", 300, 300, {200: 600}),
        },
        None,
        span=2,
    )
    previous = statistics.Statistics(
        {
            "train": _split("train", 300, 300, {200: 600}),
            "test": _split("test", 300, 300, {200: 600}),
            "unsup": _split("unsup", 300, 300, {200: 600}),
        },
        None,
        span=1,
    )
    skipped: list[drift_anomalies.NotCompared] = []
    findings = drift.check(current, previous, DriftOptions().thresholds(), 500, skipped)
    assert [(finding.kind, finding.split, finding.check) for finding in findings] == [
        ("drift", "train", "label"),
        ("drift", "train", "length"),
        ("drift", "train", "oov"),
    ]
    assert [entry.message for entry in skipped] == [
        "unsup of span 2 and span 1 not compared: span 2 has no unsup examples",
        "extra of span 2 and span 1 not compared: span 1 has no extra split",
        "test of span 2 and span 1 not compared: span 2 has no test split",
        "train and test of span 2 not compared: span 2 has no test split",
    ]
    # Each named as its findings would be: the split and the baseline span (skew: train and test).
    assert [(entry.kind, entry.split, entry.baseline, entry.reason) for entry in skipped] == [
        ("drift", "unsup", "span 1", "span 2 has no unsup examples"),
        ("drift", "extra", "span 1", "span 1 has no extra split"),
        ("drift", "test", "span 1", "span 2 has no test split"),
        ("skew", "train", "test", "span 2 has no test split"),
    ]


# A span's splits: each absent, or of that many examples.
_SPLIT_SIZES = st.dictionaries(st.sampled_from(["train", "test", "eval", "unsup"]), st.integers(0, 6))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(current=_SPLIT_SIZES, previous=st.none() | _SPLIT_SIZES, min_examples=st.integers(1, 5))
def test_every_pair_of_splits_is_compared_or_recorded_as_not_compared_and_drift_json_keeps_both(
    current, previous, min_examples
):
    """Splits missing, empty or small on either side: nothing is dropped silently."""

    def span(sizes, number):
        splits = {name: _split(name, n // 2, n - n // 2, {100: n} if n else {}) for name, n in sizes.items()}
        return statistics.Statistics(splits, None, span=number)

    skipped: list[drift_anomalies.NotCompared] = []
    before = span(previous, 1) if previous is not None else None
    findings = drift.check(span(current, 2), before, DriftOptions().thresholds(), min_examples, skipped)

    # (kind, split, baseline) of every pair: each split against span 1's, and train against test.
    sides = {("skew", "train", "test"): (current.get("train"), current.get("test"))}
    if previous is not None:
        for name in {*current, *previous}:
            sides[("drift", name, "span 1")] = (current.get(name), previous.get(name))
    compared = {(finding.kind, finding.split, finding.baseline) for finding in findings}
    not_compared = [(entry.kind, entry.split, entry.baseline) for entry in skipped]
    assert len(not_compared) == len(set(not_compared)) and not compared & set(not_compared)
    assert compared | set(not_compared) == set(sides)
    assert compared == {
        pair for pair, sizes in sides.items() if None not in sizes and min(sizes) >= max(min_examples, 1)
    }
    assert all(entry.message == f"{entry.what} not compared: {entry.reason}" for entry in skipped)

    with tempfile.TemporaryDirectory() as folder:
        artifact = standard_artifacts.ExampleAnomalies()
        artifact.uri = folder
        drift_anomalies.write_anomalies(artifact, findings, 2, 1 if before else None, [], (2, 1), skipped)
        assert drift_anomalies.read_findings(folder) == (findings, 2, 1 if before else None, 2, 1, skipped)
        assert artifact.get_int_custom_property(drift_anomalies.NOT_COMPARED_PROPERTY) == len(skipped)


def test_a_drift_json_written_before_comparisons_not_made_were_kept_has_none(tmp_path):
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(tmp_path)
    entry = drift_anomalies.NotCompared(
        "skew", "train", "test", "train and test of span 3", "span 3 has no test split"
    )
    drift_anomalies.write_anomalies(artifact, [], 3, None, [], (3, None), [entry])
    written = json.loads((tmp_path / drift_anomalies.DRIFT_FILE).read_text())
    assert written["not_compared"] == [
        {
            "kind": "skew",
            "split": "train",
            "baseline": "test",
            "what": "train and test of span 3",
            "reason": "span 3 has no test split",
            "message": "train and test of span 3 not compared: span 3 has no test split",
        }
    ]
    del written["not_compared"]
    (tmp_path / drift_anomalies.DRIFT_FILE).write_text(json.dumps(written))
    assert drift_anomalies.read_findings(str(tmp_path)).not_compared == []


def test_an_empty_split_is_not_compared_whatever_min_examples():
    """One example is enough with min_examples 1, none is not: an empty split has no distribution."""
    current = statistics.Statistics(
        {"train": _split("train", 1, 0, {200: 1}), "test": _split("test", 0, 0, {})}, None, span=3
    )
    skipped: list[drift_anomalies.NotCompared] = []
    assert drift.check(current, None, DriftOptions().thresholds(), 1, skipped) == []
    assert skipped == [
        drift_anomalies.NotCompared(
            "skew", "train", "test", "train and test of span 3", "span 3 has no test examples"
        )
    ]
    assert skipped[0].message == "train and test of span 3 not compared: span 3 has no test examples"


def test_anomalies_artifact_holds_tfdv_drift_measurements(tmp_path):
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    from tfx.types import standard_artifacts

    before = statistics.Statistics({"train": _split("train", 50, 50, {100: 100})}, None, span=1)
    after = statistics.Statistics({"train": _split("train", 80, 20, {100: 100})}, None, span=2)
    findings = drift.check(after, before, DriftOptions().thresholds())
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(tmp_path / "anomalies")
    drift_anomalies.write_anomalies(artifact, findings, 2, 1, [findings[0]])
    with open(tmp_path / "anomalies" / "Split-train" / "SchemaDiff.pb", "rb") as file:
        anomalies = anomalies_pb2.Anomalies.FromString(file.read())
    assert list(anomalies.anomaly_info) == ["label.label.drift"]
    label = next(info for info in anomalies.drift_skew_info if list(info.path.step) == ["label", "label"])
    assert label.drift_measurements[0].type == anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY
    assert (label.drift_measurements[0].value, label.drift_measurements[0].threshold) == (
        pytest.approx(0.3),
        pytest.approx(0.1),
    )
    assert drift_anomalies.read_findings(artifact.uri) == (findings, 2, 1, None, None, [])
    assert artifact.get_string_custom_property(drift_anomalies.WARNINGS_PROPERTY) == findings[0].message


def test_duplicates_count_scored_reviews_whose_text_the_model_learnt_from():
    # The groups GroupByText gives for repeated texts: "a great film", "dull", "bad".
    groups = [
        [
            (features.TRAIN, "train/pos/1_9.txt", "positive", "A great film"),
            (features.TRAIN, "train/pos/2_8.txt", "positive", "A GREAT film"),
            (features.TEST, "test/pos/5_9.txt", "positive", "A great film!"),
        ],
        [
            (features.TRAIN, "train/neg/3_1.txt", "negative", "Dull."),
            (features.EVAL, "train/neg/4_2.txt", "negative", "dull"),
            (features.TEST, "test/pos/6_9.txt", "positive", "Dull"),
        ],
        [
            (features.TEST, "test/neg/7_1.txt", "negative", "Bad"),
            (features.TEST, "test/neg/8_1.txt", "negative", "bad"),
        ],
    ]
    found = summarise_duplicates(groups, {features.TRAIN: 3, features.EVAL: 1, features.TEST: 4})
    assert found.leaks == (
        (features.TEST, (features.TRAIN, features.EVAL), 4, 2),
        (features.EVAL, (features.TRAIN,), 1, 1),
    )
    assert found.groups == 2  # "a great film" and "dull"; "bad" stays within test
    assert found.within_split == {features.TRAIN: 1, features.EVAL: 0, features.TEST: 1}
    first, second = found.shown_groups
    # Equal sizes: ordered by their first member (split, then source).
    assert first == DuplicateGroup(
        (
            (features.EVAL, "train/neg/4_2.txt", "negative"),
            (features.TEST, "test/pos/6_9.txt", "positive"),
            (features.TRAIN, "train/neg/3_1.txt", "negative"),
        ),
        "dull",
    )
    assert first.conflicting_labels  # "dull": negative in train and eval, positive in test
    assert not second.conflicting_labels
    assert second.members[0] == (features.TEST, "test/pos/5_9.txt", "positive")


# Words the shared tokeniser keeps whole, accented ones too (the shared words are matched as UTF-8).
SHARED_CANDIDATES = ["film", "good", "bad", "été", "naïve", "œuvre"]


@settings(max_examples=25, deadline=None)
@given(
    reviews=st.lists(
        st.tuples(st.lists(st.sampled_from(SHARED_CANDIDATES), max_size=5), st.sampled_from([0, 1, 7])),
        min_size=1,
        max_size=8,
    ),
    shared=st.lists(st.sampled_from(SHARED_CANDIDATES), unique=True, max_size=4),
)
def test_each_shared_word_counts_the_labeled_reviews_holding_it_and_the_positive_ones(reviews, shared):
    """Per shared word (by its position among them): labeled reviews holding it, once each however often."""
    batch_statistics = _BatchStatistics(shared)
    batch_statistics.setup()
    batch = [
        (features.TRAIN, _example(" ".join(words).encode(), label, 5, f"train/{i}.txt"))
        for i, (words, label) in enumerate(reviews)
    ]
    [(split, counts)] = [
        item for item in batch_statistics.process(batch) if not isinstance(item, beam.pvalue.TaggedOutput)
    ]
    containing, positive = Counter(), Counter()
    for words, label in reviews:
        for position, word in enumerate(shared):
            if label in (features.NEGATIVE_LABEL, features.POSITIVE_LABEL) and word in words:
                containing[position] += 1
                positive[position] += label
    assert (split, counts.containing, counts.positive) == (features.TRAIN, containing, positive)


def test_missing_features_and_other_labels_count_as_defaults_without_a_vocabulary(tmp_path):
    """An example without text or rating is a token-less review; a label other than 0/1 is unlabeled."""
    bare = tf.train.Example(
        features=tf.train.Features(
            feature={features.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))}
        )
    ).SerializeToString()
    computed = _compute(
        str(tmp_path / "statistics"),
        examples=[(features.TRAIN, bare), (features.TRAIN, _example(PRIMARY, 1, 9, "train/pos/1_9.txt"))],
        vocabulary=None,
    )
    train = computed.splits[features.TRAIN]
    assert (train.examples, train.labels, train.ratings) == (2, {"positive": 1, "unlabeled": 1}, {9: 1})
    assert (train.lengths, train.empty_reviews, train.tokens, train.oov_tokens) == ({0: 1, 9: 1}, 1, 9, None)
    assert train.top_tokens[:2] == (("!", 2), ("primary", 2))
    assert train.word_positive_share == {}
    assert (computed.duplicates.groups, computed.duplicates.within_split[features.TRAIN]) == (0, 0)


# --- StatisticsGen and DriftCheck, executors on two spans ------------------------------------------

# (text, label) per split; span 2's words are all new, its label balance and lengths those of span 1.
SPAN_REVIEWS = {
    1: {
        features.TRAIN: [("A good film", 1), ("A bad film", 0)],
        features.TEST: [("Good acting", 1), ("Bad acting", 0)],
    },
    2: {
        features.TRAIN: [("Une belle œuvre", 1), ("Une pâle copie", 0)],
        features.TEST: [("Beau jeu", 1), ("Jeu raté", 0)],
    },
}


def _statistics_gen(
    root, span: int, first_span: int | None = None, reviews=None
) -> standard_artifacts.ExampleStatistics:
    """StatisticsGen's executor on span ``span``'s reviews (or ``reviews``), with a vocabulary the real Transform
    analysed from them; with ``first_span``, as ExampleGen records a window of spans ``first_span`` to ``span``."""
    reviews = reviews or SPAN_REVIEWS[span]
    examples = examples_artifact(
        root / f"examples-{span}",
        {
            split: [
                _example(text.encode(), label, 9 if label else 2, f"{split}/{i}.txt")
                for i, (text, label) in enumerate(rows)
            ]
            for split, rows in reviews.items()
        },
    )
    examples.set_int_custom_property(statistics.SPAN_PROPERTY, span)
    if first_span is not None:
        statistics.set_first_span(examples, first_span)
    graph = standard_artifacts.TransformGraph()
    graph.uri = str(root / f"transform-{span}")
    texts = [text for rows in reviews.values() for text, _label in rows]
    analyze(texts, TransformOptions(vocab_size=20, min_frequency=1, max_length=4), graph.uri)
    output = standard_artifacts.ExampleStatistics()
    output.uri = str(root / f"statistics-{span}")
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(["--runner=FnApiRunner"])
    )
    StatisticsGenExecutor(context).Do(
        {"examples": [examples], "transform_graph": [graph]}, {"statistics": [output]}, {}
    )
    return output


def _drift_check(uri, current, previous) -> tuple[list, standard_artifacts.ExampleAnomalies]:
    """DriftCheck's executor on two spans' statistics; its out-of-vocabulary drift findings and its artifact."""
    anomalies = standard_artifacts.ExampleAnomalies()
    anomalies.uri = str(uri)
    DriftCheckExecutor().Do(
        {"statistics": [current], "baseline_statistics": [previous]},
        {"anomalies": [anomalies]},
        {"options": DriftOptions(min_examples=1).to_json()},
    )
    findings = drift_anomalies.read_findings(anomalies.uri).findings
    return [
        (f.kind, f.split, f.message) for f in findings if f.check == "oov" and f.kind == "drift"
    ], anomalies


def _written_before(artifact, uri) -> standard_artifacts.ExampleStatistics:
    """A copy of a statistics artifact as written before the vocabulary and the token counts were kept."""
    shutil.copytree(
        artifact.uri,
        uri,
        ignore=shutil.ignore_patterns(statistics.VOCABULARY_FILE, statistics.TOKEN_COUNTS_FILE),
    )
    old = standard_artifacts.ExampleStatistics()
    old.uri = str(uri)
    return old


@pytest.fixture(scope="module")
def two_spans(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-spans")
    return _statistics_gen(root, 1), _statistics_gen(root, 2)


def test_a_span_of_new_words_is_flagged_against_the_previous_span_s_vocabulary(two_spans, tmp_path):
    first, second = two_spans
    for artifact in (first, second):
        # Each span's own vocabulary holds all its words: its own share shows nothing.
        own = statistics.read_statistics(artifact.uri)
        assert [split.oov_share for split in own.splits.values()] == [0.0, 0.0]
    vocabulary = statistics.read_vocabulary(first.uri, 7)
    assert vocabulary == ["<pad>", "<unk>", "good", "film", "bad", "acting", "a"]
    assert statistics.read_token_counts(second.uri, features.TEST, 4) == {"beau": 1, "jeu": 2, "raté": 1}
    oov, anomalies = _drift_check(tmp_path / "anomalies", second, first)
    assert oov == [
        (
            "drift",
            split,
            f"out-of-vocabulary share of {split} moved from 0.000 (span 1) to 1.000 "
            "(span 2, against span 1's vocabulary): change 1.000 > 0.05",
        )
        for split in (features.TRAIN, features.TEST)
    ]
    # The out-of-vocabulary action is warn: recorded as the step's warnings, nothing else moved.
    assert anomalies.get_string_custom_property(drift_anomalies.WARNINGS_PROPERTY) == "; ".join(
        message for _kind, _split, message in oov
    )


def test_a_window_s_statistics_record_its_first_span_and_compare_only_with_spans_before_it(
    two_spans, tmp_path, caplog
):
    """Spans 2 to 3 read as one dataset: span 1 is before the window, span 2 (what TFX's
    LatestArtifactStrategy, the portable resolver, may hand over) is in it and not compared."""
    first, second = two_spans
    window = _statistics_gen(tmp_path, 3, first_span=2, reviews=SPAN_REVIEWS[2])
    assert (window.span, statistics.span_of(window), statistics.first_span_of(window)) == (3, 3, 2)
    assert (statistics.read_statistics(window.uri).first_span, statistics.first_span_of(second)) == (2, 2)

    with caplog.at_level(logging.INFO, logger="components.statistics.executor"):
        oov, anomalies = _drift_check(tmp_path / "against-1", window, first)
    # drift.json names the window, as the report says it (was "Span 3 against span 1").
    assert drift_anomalies.read_findings(anomalies.uri)[1:] == (3, 1, 2, 1, [])
    assert drift_anomalies.read_findings(anomalies.uri).compared() == "spans 2 to 3 against span 1"
    assert oov[0][2] == (
        "out-of-vocabulary share of train moved from 0.000 (span 1) to 1.000 "
        "(spans 2 to 3, against span 1's vocabulary): change 1.000 > 0.05"
    )
    assert f"DriftCheck: start, spans 2 to 3 against span 1 ({first.uri})" in caplog.messages
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="components.statistics.executor"):
        oov, anomalies = _drift_check(tmp_path / "against-2", window, second)
    assert oov == []
    assert caplog.messages[:2] == [
        "DriftCheck: start, spans 2 to 3 against no baseline: the statistics handed over are of span 2, "
        "not of earlier spans",
        f"DriftCheck: spans 2 to 3 against the baseline handed over not compared: {second.uri} holds span 2, "
        "not before this run's spans 2 to 3",
    ]
    assert drift_anomalies.read_findings(anomalies.uri)[1:] == (
        3,
        None,
        2,
        None,
        [
            drift_anomalies.NotCompared(
                "drift",
                None,
                "span 2",
                "spans 2 to 3 against the baseline handed over",
                f"{second.uri} holds span 2, not before this run's spans 2 to 3",
            )
        ],
    )
    # The step line counts it, as drift.json records it.
    assert anomalies.get_int_custom_property(drift_anomalies.NOT_COMPARED_PROPERTY) == 1
    assert drift_anomalies.read_findings(anomalies.uri).compared() == "spans 2 to 3"
    # As the report and the step line say it (was "no earlier span" above "spans 2 to 3 and span 2 not compared").
    assert drift_anomalies.read_findings(anomalies.uri).baseline_not_compared() == (
        "the statistics handed over are of span 2, not of earlier spans"
    )


def test_a_split_the_span_lacks_is_logged_and_recorded_in_drift_json_as_not_compared(
    two_spans, tmp_path, caplog
):
    first, _second = two_spans
    without_test = _statistics_gen(tmp_path, 3, reviews={features.TRAIN: SPAN_REVIEWS[1][features.TRAIN]})
    with caplog.at_level(logging.INFO, logger="components.statistics.executor"):
        _oov, anomalies = _drift_check(tmp_path / "anomalies", without_test, first)
    lines = [
        "test of span 3 and span 1 not compared: span 3 has no test split",
        "train and test of span 3 not compared: span 3 has no test split",
    ]
    assert [f"DriftCheck: {line}" for line in lines] == [
        record.message
        for record in caplog.records
        if record.name == "components.statistics.executor" and record.levelno == logging.WARNING
    ]
    drift_json = drift_anomalies.read_findings(anomalies.uri)
    assert [entry.message for entry in drift_json.not_compared] == lines
    assert [(entry.kind, entry.split, entry.baseline) for entry in drift_json.not_compared] == [
        ("drift", "test", "span 1"),
        ("skew", "train", "test"),
    ]
    assert {(finding.kind, finding.split) for finding in drift_json.findings} == {("drift", "train")}
    assert anomalies.get_int_custom_property(drift_anomalies.NOT_COMPARED_PROPERTY) == 2


@pytest.mark.parametrize("old_side", ["previous", "current"])
def test_statistics_written_before_fall_back_to_each_span_s_own_vocabulary_and_say_why(
    two_spans, tmp_path, caplog, old_side
):
    first, second = two_spans
    if old_side == "previous":
        first = _written_before(first, tmp_path / "old")
        lacking = f"{first.uri} holds no vocabulary.txt"
    else:
        second = _written_before(second, tmp_path / "old")
        lacking = f"{second.uri} holds no Split-*/token_counts.tsv.gz"
    with caplog.at_level(logging.INFO, logger="components.statistics.executor"):
        oov, _anomalies = _drift_check(tmp_path / "anomalies", second, first)
    assert oov == [
        ("drift", split, f"out-of-vocabulary share of {split} moved from 0.000 (span 1) to 0.000 (span 2): "
         "change 0.000 <= 0.05")
        for split in (features.TRAIN, features.TEST)
    ]  # fmt: skip
    assert (
        f"DriftCheck: {lacking} (statistics written before it was kept): "
        "each span's out-of-vocabulary share is measured against its own vocabulary"
    ) in caplog.messages


def _damaged(artifact, uri, name, data) -> standard_artifacts.ExampleStatistics:
    """A copy of a statistics artifact whose file ``name`` (below its folder) holds ``data`` (None: a folder)."""
    shutil.copytree(artifact.uri, uri)
    path = os.path.join(uri, name)
    os.remove(path)
    if data is None:
        os.mkdir(path)
    else:
        with open(path, "wb") as file:
            file.write(data)
    damaged = standard_artifacts.ExampleStatistics()
    damaged.uri = str(uri)
    return damaged


_COUNTS = os.path.join("Split-test", "token_counts.tsv.gz")


def _gzip(data: bytes) -> bytes:
    """gzip without a time stamp: the same bytes (and test ids) in every test process."""
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("vocabulary.txt", b"\xff\xfe", " cannot be read (UnicodeDecodeError: "),
        ("vocabulary.txt", None, " cannot be read ("),
        (
            "vocabulary.txt",
            b"",
            " does not start with the reserved tokens <pad>, <unk>: its first lines are []",
        ),
        ("vocabulary.txt", b"<pad>\n<unk>\n", " holds no vocabulary word"),
        ("vocabulary.txt", b"<pad>\n<unk>\ngood", " is cut short: its last line has no end"),
        ("vocabulary.txt", b"<pad>\n<unk>\ngood\nfilm\n", " holds 4 tokens, its summary.json records 7"),
        (
            "vocabulary.txt",
            b"\xef\xbb\xbf<pad>\n<unk>\ngood\nfilm\nbad\nacting\na\n",
            " does not start with the reserved tokens <pad>, <unk>: its first lines are ['\\ufeff<pad>', '<unk>']",
        ),
        (
            "vocabulary.txt",
            b"<pad>\r\n<unk>\r\ngood\r\nfilm\r\nbad\r\nacting\r\na\r\n",
            ", line 1: ends in a carriage return (CRLF line ends)",
        ),
        (
            "vocabulary.txt",
            b"good\nfilm\nbad\nacting\na\n",
            " does not start with the reserved tokens <pad>, <unk>: its first lines are ['good', 'film']",
        ),
        (_COUNTS, b"not gzip", " cannot be read (BadGzipFile: "),
        (_COUNTS, _gzip(b"beau\t1\njeu\t2\nrat\xc3\xa9\t1\n")[:-6], " cannot be read (EOFError: "),
        (_COUNTS, _gzip(b"beau 1\n"), ", line 1: not a new token, a tab and a count: 'beau 1'"),
        (_COUNTS, _gzip(b"beau\t-1\n"), ", line 1: not a new token, a tab and a count: 'beau\\t-1'"),
        (
            _COUNTS,
            _gzip(b"beau\t1_0\n"),
            ", line 1: not a new token, a tab and a count: 'beau\\t1_0'",
        ),
        (
            _COUNTS,
            _gzip(b"beau\t" + b"9" * 5000 + b"\n"),
            ", line 1: not a new token, a tab and a count: 'beau\\t999",
        ),
        (
            _COUNTS,
            _gzip(b"jeu\t2\njeu\t2\n"),
            ", line 2: not a new token, a tab and a count: 'jeu\\t2'",
        ),
        (_COUNTS, _gzip(b"beau\t1\n"), ": its counts add up to 1 token, the split holds 4"),
        (_COUNTS, _gzip(b""), ": its counts add up to 0 tokens, the split holds 4"),
        (_COUNTS, _gzip(b"beau\t1\njeu\t10000000000000000\n"), ": its counts add up to 10,000,000,"),
    ],
)
def test_damaged_statistics_files_fall_back_to_each_span_s_own_vocabulary_naming_file_and_fault(
    two_spans, tmp_path, caplog, name, data, problem
):
    """Were bare tracebacks (UnicodeDecodeError, EOFError, int()), or read silently: an empty vocabulary made every
    token out of vocabulary, a negative count a share of -2,062."""
    first, second = two_spans
    if name == "vocabulary.txt":
        first = _damaged(first, tmp_path / "damaged", name, data)
    else:
        second = _damaged(second, tmp_path / "damaged", name, data)
    with caplog.at_level(logging.INFO, logger="components.statistics.executor"):
        oov, _anomalies = _drift_check(tmp_path / "anomalies", second, first)
    assert [message for _kind, _split, message in oov] == [
        f"out-of-vocabulary share of {split} moved from 0.000 (span 1) to 0.000 (span 2): change 0.000 <= 0.05"
        for split in (features.TRAIN, features.TEST)
    ]
    (warning,) = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "vocabulary" in r.getMessage()
    ]
    assert warning.startswith(f"DriftCheck: {tmp_path / 'damaged' / name}{problem}")
    assert warning.endswith(": each span's out-of-vocabulary share is measured against its own vocabulary")


@pytest.mark.parametrize("side", ["previous", "current"])
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            b'{"span": 1, "splits": [',
            " cannot be read as a UTF-8 JSON document (JSONDecodeError: Expecting value: line 1 column 24 (char 23))",
        ),
        (b'{"span": 1, "splits": 3}', ": unexpected content (TypeError(\"'int' object is not iterable\"))"),
        (b"null", ": the document is null"),  # was "holds no summary.json"
    ],
)
def test_a_damaged_summary_stops_the_drift_check_naming_the_file_and_the_fault(
    two_spans, tmp_path, side, data, problem
):
    """Was json's bare JSONDecodeError, naming no file."""
    first, second = two_spans
    if side == "previous":
        first = _damaged(first, tmp_path / "damaged", statistics.SUMMARY_FILE, data)
    else:
        second = _damaged(second, tmp_path / "damaged", statistics.SUMMARY_FILE, data)
    with pytest.raises(ValueError) as raised:
        _drift_check(tmp_path / "anomalies", second, first)
    assert str(raised.value) == f"{tmp_path / 'damaged' / statistics.SUMMARY_FILE}{problem}"


_WRITE_SIX_ANOMALIES = """
import sys
from tfx.types import standard_artifacts
from components.artifacts import drift_anomalies
from components.artifacts.drift_anomalies import Finding
findings = [
    Finding(check, kind, "train", "span 1", 0.9, 0.1, f"{check} {kind}")
    for check in ("label", "length", "oov")
    for kind in ("drift", "skew")
]
artifact = standard_artifacts.ExampleAnomalies()
artifact.uri = sys.argv[1]
drift_anomalies.write_anomalies(artifact, findings, 2, 1, [])
"""


def test_schema_diff_bytes_do_not_depend_on_the_hash_seed(tmp_path):
    # Six exceeded comparisons make six anomaly_info map entries, whose order in protobuf's
    # default serialisation follows Python's string hashing: the same findings would give other
    # bytes in every process. Written deterministically, they give the same bytes.
    import subprocess
    import sys

    written = []
    for seed in ("1", "2", "3"):
        out = tmp_path / seed
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _WRITE_SIX_ANOMALIES, str(out)], check=True, env=environment)
        written.append((out / "Split-train" / "SchemaDiff.pb").read_bytes())
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    assert len(anomalies_pb2.Anomalies.FromString(written[0]).anomaly_info) == 6
    assert written[0] == written[1] == written[2]
