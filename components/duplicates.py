"""The one duplicate detector: groups of items whose texts are byte for byte equal.

ExampleGen uses it on the raw review text (to set extra copies and train copies
of test reviews aside), StatisticsGen on the text as the model sees it (the
shared tokeniser's tokens joined by spaces, to count duplicates within and
across splits). Texts are compared through their SHA-256 digests, so a group
key costs 32 bytes however long the review.
"""

from __future__ import annotations

import hashlib

import apache_beam as beam


def _keyed(element: tuple[str | bytes, object]) -> tuple[bytes, object]:
    """(SHA-256 of the text, UTF-8 encoded when given as ``str``; the value)."""
    text, value = element
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).digest(), value


class GroupByText(beam.PTransform):
    """PCollection[(text, value)] -> PCollection[list[value]]: one list per distinct text.

    Every distinct text gives one group, a text seen once a group of one, so
    a caller can keep, judge or count each item; ``len(group) > 1`` is a duplicate.
    """

    def expand(self, keyed_by_text: beam.PCollection) -> beam.PCollection:
        return (
            keyed_by_text
            | "DigestText" >> beam.Map(_keyed)
            | "GroupSameText" >> beam.GroupByKey()
            | "Members" >> beam.Map(lambda digest_and_values: list(digest_and_values[1]))
        )
