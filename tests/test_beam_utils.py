"""ReadSplits: the records of an Examples artifact's splits, keyed by split, on a real Beam runner."""

from __future__ import annotations

import re

from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
import pytest
from tfx.types import artifact_utils

from components.beam_utils import ReadSplits
from tests.conftest import examples_artifact


def test_reads_every_file_of_the_named_splits_keyed_by_split(tmp_path):
    examples = examples_artifact(
        tmp_path / "examples",
        {
            "train": [[b"t1", b"t2"], [b"t3"]],
            "test": [[b"s1"]],
            # Not asked for: not read.
            "unsup": [[b"u1"]],
        },
    )
    with TestPipeline(runner="FnApiRunner") as pipeline:
        records = pipeline | ReadSplits(examples, ["train", "test"])
        assert_that(
            records, equal_to([("train", b"t1"), ("train", b"t2"), ("train", b"t3"), ("test", b"s1")])
        )


def test_a_split_folder_in_brackets_is_read_as_itself(tmp_path):
    """A glob character in the artifact's folder is escaped: the records of that folder, not an error."""
    examples = examples_artifact(tmp_path / "runs [v1]" / "examples", {"test": [[b"s1", b"s2"]]})
    with TestPipeline(runner="FnApiRunner") as pipeline:
        assert_that(pipeline | ReadSplits(examples, ["test"]), equal_to([("test", b"s1"), ("test", b"s2")]))


def test_a_split_without_files_is_refused_naming_it_and_the_artifact(tmp_path):
    examples = examples_artifact(tmp_path / "examples", {"train": [[b"t1"]]})
    (tmp_path / "examples" / "Split-test").mkdir()
    examples.split_names = artifact_utils.encode_split_names(["train", "test"])
    message = f"split 'test' of {examples.uri} has no files ({examples.uri}/Split-test/*)"
    with pytest.raises(ValueError, match=re.escape(message)):
        ReadSplits(examples, ["train", "test"])


def test_a_split_the_artifact_does_not_have_is_refused_naming_its_splits(tmp_path):
    examples = examples_artifact(tmp_path / "examples", {"train": [[b"t1"]], "eval": [[b"e1"]]})
    message = f"split 'test' is not a split of {examples.uri} (its splits: train, eval)"
    with pytest.raises(ValueError, match=re.escape(message)):
        ReadSplits(examples, ["test"])
