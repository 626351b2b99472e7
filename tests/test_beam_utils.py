"""ReadSplits and WriteExamples: the records of an Examples artifact's splits, on a real Beam runner."""

from __future__ import annotations

import os
import re

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given
from hypothesis import strategies as st
import pytest
import tensorflow as tf
from tfx.components.util import examples_utils, tfxio_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.beam_utils import EXAMPLES_FILE_PREFIX, ReadSplits, WriteExamples
from components.file_patterns import tfrecord_compression, tfrecord_compression_of
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


def _example(text: str) -> tf.train.Example:
    return tf.train.Example(
        features=tf.train.Features(
            feature={"text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}
        )
    )


def test_write_examples_writes_plain_tfrecords_that_tfx_readers_and_read_splits_read_back(tmp_path):
    """Examples and their bytes alike; no gzip (a ``.gz``-less name is read uncompressed by every reader);
    an older artifact's gzip split beside it is still read."""
    written = [_example("a good film"), _example("bad").SerializeToString(), _example("unsup text")]
    examples = examples_artifact(tmp_path / "examples", {"eval": [b"old gzip record"]})
    examples.split_names = artifact_utils.encode_split_names(["eval", "train"])
    split_dir = artifact_utils.get_split_uri([examples], "train")
    with TestPipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | beam.Create(written) | WriteExamples(split_dir)

    (name,) = os.listdir(split_dir)
    assert re.fullmatch(rf"{EXAMPLES_FILE_PREFIX}-00000-of-00001", name)
    expected = sorted(e if isinstance(e, bytes) else e.SerializeToString() for e in written)
    plain = tf.data.TFRecordDataset(os.path.join(split_dir, name), compression_type="")
    assert sorted(record.numpy() for record in plain) == expected
    # TFX's own reader of an Examples artifact (as TFX's StatisticsGen, Transform and TFMA use it).
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    factory = tfxio_utils.get_tfxio_factory_from_artifact(
        [examples], ["test"], read_as_raw_records=True, raw_record_column_name="raw"
    )
    with TestPipeline(runner="FnApiRunner") as pipeline:
        tfx_records = (
            pipeline
            | factory(os.path.join(split_dir, "*")).BeamSource()
            | beam.FlatMap(lambda batch: batch.column("raw").to_pylist())
            | beam.FlatMap(lambda values: values)
        )
        assert_that(tfx_records, equal_to(expected))
    with TestPipeline(runner="FnApiRunner") as pipeline:
        records = pipeline | ReadSplits(examples, ["eval", "train"])
        assert_that(records, equal_to([("eval", b"old gzip record"), *(("train", r) for r in expected)]))


# Beam's CompressionTypes.AUTO: the lower-cased name's suffix; a folder's name plays no part.
SUFFIX_COMPRESSION = {
    ".gz": "GZIP",
    ".GZ": "GZIP",
    ".Gz": "GZIP",
    ".gZ": "GZIP",
    "": "",
    ".tfrecord": "",
    ".gzip": "",
    ".gz.tmp": "",
    ".tgz": "",
    "-gz": "",
}
STEMS = st.text(alphabet="abcXYZ019-_ []", min_size=1, max_size=12)
FOLDERS = st.sampled_from(["", "split.gz/", "gs://bucket/old.GZ/"])


@given(FOLDERS, STEMS, st.sampled_from(sorted(SUFFIX_COMPRESSION)))
def test_tfrecord_compression_of_a_file_is_gzip_for_a_gz_suffix_in_any_case(folder, stem, suffix):
    name = folder + stem + suffix
    assert tfrecord_compression_of(name) == SUFFIX_COMPRESSION[suffix]
    # Beam's AUTO detection, which ReadFromTFRecord uses, says gzip for exactly these names.
    is_gzip = CompressionTypes.detect_compression_type(name) == CompressionTypes.GZIP
    assert is_gzip == (SUFFIX_COMPRESSION[suffix] == "GZIP")
    assert tfrecord_compression([name, name]) == SUFFIX_COMPRESSION[suffix]


@given(st.lists(st.tuples(STEMS, st.sampled_from([".gz", ".GZ", "", ".tfrecord"]))))
def test_tfrecord_compression_of_files_is_the_one_they_share_and_a_mix_is_refused(names):
    files = [stem + suffix for stem, suffix in names]
    kinds = {SUFFIX_COMPRESSION[suffix] for _stem, suffix in names}
    if len(kinds) > 1:
        gzipped = next(name for name in reversed(files) if name.lower().endswith(".gz"))
        plain = next(name for name in reversed(files) if not name.lower().endswith(".gz"))
        with pytest.raises(ValueError) as raised:
            tfrecord_compression(files)
        assert str(raised.value) == (
            f"TFRecord files of mixed compression: {gzipped} is gzip (its name ends in .gz), {plain} is not"
        )
    else:
        assert tfrecord_compression(files) == (kinds.pop() if kinds else "")


@pytest.mark.parametrize(("suffix", "kind"), [(".bz2", "bzip2"), (".ZST", "zstd"), (".xz", "lzma")])
def test_tfrecord_compression_of_refuses_what_beam_reads_and_tf_data_cannot(suffix, kind):
    with pytest.raises(ValueError) as error:
        tfrecord_compression_of("records" + suffix)
    assert str(error.value) == (
        f"records{suffix}: {kind} compressed TFRecords cannot be read; use gzip (.gz) or none"
    )


def test_beam_and_tf_data_read_an_upper_case_gz_file_alike(tmp_path):
    path = str(tmp_path / "records.GZ")
    with tf.io.TFRecordWriter(path, "GZIP") as writer:
        for record in (b"first", b"second"):
            writer.write(record)
    read = tf.data.TFRecordDataset(path, compression_type=tfrecord_compression_of(path))
    assert list(read.as_numpy_iterator()) == [b"first", b"second"]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        assert_that(pipeline | beam.io.ReadFromTFRecord(path), equal_to([b"first", b"second"]))
