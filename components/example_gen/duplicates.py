"""Duplicate reviews, and train reviews that are also test reviews (README: "When the input is bad").

The test split is the official benchmark and is never changed: train copies of
a test review are set aside as ``in_test_split``, extra copies within the train
folders as ``duplicate`` (the smallest origin is kept); unlabeled reviews,
which only train word vectors, are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam

from components import duplicates
from components.artifacts import quarantine
from components.example_gen import reader
from components.example_gen.reader import Review


def _origin(review: Review) -> quarantine.Origin:
    return review.origin or quarantine.Origin(review.source)


def _set_aside(review: Review, reason: str, detail: str) -> beam.pvalue.TaggedOutput:
    return reader.set_aside(_origin(review), reason, detail, review.text.encode("utf-8"))


def judge_copies(
    reviews: Iterable[Review], quarantine_duplicates: bool, quarantine_test_overlap: bool
) -> Iterator:
    """Given the labeled reviews that share one text, yields those kept and the others set aside:
    ``quarantine_duplicates`` sets aside train copies after the first (by origin), ``quarantine_test_overlap``
    every train copy when a test review has the text."""
    ordered = sorted(reviews, key=lambda review: str(_origin(review)))
    test = [review for review in ordered if review.split_dir == reader.TEST_DIR]
    train = [review for review in ordered if review.split_dir != reader.TEST_DIR]
    yield from test
    if test and quarantine_test_overlap:
        for review in train:
            yield _set_aside(review, quarantine.IN_TEST_SPLIT, f"same text as test review {_origin(test[0])}")
        return
    for position, review in enumerate(train):
        if position > 0 and quarantine_duplicates:
            yield _set_aside(review, quarantine.DUPLICATE, f"same text as train review {_origin(train[0])}")
        else:
            yield review


@beam.ptransform_fn
def SetAsideDuplicates(
    reviews: beam.PCollection, quarantine_duplicates: bool = True, quarantine_test_overlap: bool = True
) -> dict[str, beam.PCollection]:
    """PCollection[Review] -> {REVIEWS: kept reviews, QUARANTINE: QuarantinedRecord set aside}.

    Reviews are the same when their texts are byte for byte equal (lower-casing and collapsing white
    space finds the same 123 train/test groups in IMDb).
    """
    labeled, unlabeled = reviews | "LabeledOrNot" >> beam.Partition(
        lambda review, _count: 0 if review.folder in reader.LABELS else 1, 2
    )
    judged = (
        labeled
        | "KeyByText" >> beam.Map(lambda review: (review.text, review))
        | "GroupCopies" >> duplicates.GroupByText()
        | "JudgeCopies"
        >> beam.FlatMap(judge_copies, quarantine_duplicates, quarantine_test_overlap).with_outputs(
            reader.QUARANTINE, main=reader.REVIEWS
        )
    )
    kept = (judged[reader.REVIEWS], unlabeled) | "MergeKept" >> beam.Flatten()
    return {reader.REVIEWS: kept, reader.QUARANTINE: judged[reader.QUARANTINE]}
