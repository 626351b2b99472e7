"""Tests of the IMDb ExampleGen: reader transforms, split rule, component helpers, executor."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import re

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import strategies as st
import pytest
import tensorflow as tf
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from components.artifacts import quarantine
from components.example_gen import component, executor, ingest, reader
from components.example_gen.options import ExampleGenOptions
from components.example_gen.reader import ImdbDataError, Review
from schemas import features
from tests.imdb_files import (
    EVAL_PERCENT,
    movie_bucket,
    run_example_gen,
    url,
    urls_file,
    write_archive,
    write_dataset,
)

SAMPLE_ARCHIVE = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "aclImdb_sample.tar.gz"

# A tiny dataset in the published layout. Movies tt0000001 and tt0000003 hash
# to buckets 70 and 95 (train at 10%), tt0000004 to bucket 0 (eval); the tests
# recompute this with the documented rule rather than trusting these comments.
REVIEW_FILES = {
    "train/pos/0_9.txt": b"A wonderful film.",
    "train/pos/1_7.txt": "Café scenes were lovely — très bien.".encode(),
    "train/neg/0_1.txt": b"Awful.<br /><br />Just awful.",
    "train/neg/1_3.txt": b"Boring, too long.",
    "train/neg/2_4.txt": b"Not for me.",
    "train/unsup/0_0.txt": b"Saw it twice.",
    "test/pos/0_10.txt": b"A masterpiece.",
    "test/neg/0_2.txt": b"Dull.",
}
# No test/urls_neg.txt: that review's movie is unknown.
URLS_FILES = {
    "train/urls_pos.txt": urls_file("tt0000001", "tt0000004"),
    "train/urls_neg.txt": urls_file("tt0000001", "tt0000004", "tt0000003"),
    "train/urls_unsup.txt": urls_file("tt0000001"),
    "test/urls_pos.txt": urls_file("tt0000004"),
}
OTHER_FILES = {
    "README": b"Large Movie Review Dataset v1.0 (tiny test copy)\n",
    "imdb.vocab": b"the\nand\n",
    "train/labeledBow.feat": b"0 0:1\n",
}

EXPECTED_REVIEWS = [
    Review("train/pos/0_9.txt", "train", "pos", 0, 9, "A wonderful film.", "tt0000001"),
    Review("train/pos/1_7.txt", "train", "pos", 1, 7, "Café scenes were lovely — très bien.", "tt0000004"),
    Review("train/neg/0_1.txt", "train", "neg", 0, 1, "Awful.<br /><br />Just awful.", "tt0000001"),
    Review("train/neg/1_3.txt", "train", "neg", 1, 3, "Boring, too long.", "tt0000004"),
    Review("train/neg/2_4.txt", "train", "neg", 2, 4, "Not for me.", "tt0000003"),
    Review("train/unsup/0_0.txt", "train", "unsup", 0, 0, "Saw it twice.", "tt0000001"),
    Review("test/pos/0_10.txt", "test", "pos", 0, 10, "A masterpiece.", "tt0000004"),
    Review("test/neg/0_2.txt", "test", "neg", 0, 2, "Dull.", None),
]


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    root = write_dataset(tmp_path / "data" / "aclImdb", {**REVIEW_FILES, **URLS_FILES})
    for name, data in OTHER_FILES.items():
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def dataset_archive(tmp_path: Path) -> Path:
    files = {**REVIEW_FILES, **URLS_FILES, **OTHER_FILES}
    return write_archive(tmp_path / "aclImdb_tiny.tar.gz", files)


def expected_split(movie_id: str) -> str:
    """The documented rule (movie_bucket), written out independently of the reader."""
    return features.EVAL if movie_bucket(movie_id) < EVAL_PERCENT else features.TRAIN


# --- ReadImdbReviews -------------------------------------------------------------------------------


def test_reads_directory_with_movie_ids_joined(dataset_dir: Path):
    with TestPipeline(runner="FnApiRunner") as pipeline:
        reviews = (pipeline | reader.ReadImdbReviews(str(dataset_dir / component.DIRECTORY_PATTERN)))[
            reader.REVIEWS
        ]
        assert_that(reviews, equal_to(EXPECTED_REVIEWS))


def test_reads_archive_to_the_same_records_ignoring_other_members(dataset_archive: Path):
    with TestPipeline(runner="FnApiRunner") as pipeline:
        reviews = (pipeline | reader.ReadImdbReviews(str(dataset_archive)))[reader.REVIEWS]
        assert_that(reviews, equal_to(EXPECTED_REVIEWS))


def test_archive_top_folder_may_have_any_name(tmp_path: Path):
    files = {
        "train/pos/3_8.txt": b"Fine.",
        "train/urls_pos.txt": urls_file(*(f"tt{i}" for i in range(40, 44))),
    }
    archive = write_archive(tmp_path / "renamed.tgz", files, top="imdb-copy/v1")
    with TestPipeline(runner="FnApiRunner") as pipeline:
        reviews = (pipeline | reader.ReadImdbReviews(str(archive)))[reader.REVIEWS]
        assert_that(reviews, equal_to([Review("train/pos/3_8.txt", "train", "pos", 3, 8, "Fine.", "tt43")]))


def test_two_datasets_in_one_pattern_join_their_own_urls(tmp_path: Path):
    """Same folder and review id in two datasets: each gets the movie of its own urls file."""
    write_dataset(tmp_path / "a", {"train/pos/0_9.txt": b"A", "train/urls_pos.txt": urls_file("tt1")})
    write_dataset(tmp_path / "b", {"train/pos/0_9.txt": b"B", "train/urls_pos.txt": urls_file("tt2")})
    with TestPipeline(runner="FnApiRunner") as pipeline:
        read = pipeline | reader.ReadImdbReviews(str(tmp_path / "*" / component.DIRECTORY_PATTERN))
        reviews = read[reader.REVIEWS]
        assert_that(
            reviews,
            equal_to(
                [
                    Review("train/pos/0_9.txt", "train", "pos", 0, 9, "A", "tt1"),
                    Review("train/pos/0_9.txt", "train", "pos", 0, 9, "B", "tt2"),
                ]
            ),
        )


def test_split_assignment_keeps_each_movie_on_one_side(dataset_archive: Path):
    by_movie = {review.movie_id: expected_split(review.movie_id) for review in EXPECTED_REVIEWS[:5]}
    # The tiny dataset is only a meaningful test if both sides are used.
    assert by_movie == {"tt0000001": features.TRAIN, "tt0000003": features.TRAIN, "tt0000004": features.EVAL}

    with TestPipeline(runner="FnApiRunner") as pipeline:
        read = pipeline | reader.ReadImdbReviews(str(dataset_archive))
        splits = read[reader.REVIEWS] | reader.SplitReviews(EVAL_PERCENT)
        sources = {
            split: reviews | f"Source[{split}]" >> beam.Map(lambda review: review.source)
            for split, reviews in splits.items()
        }
        assert_that(
            sources[features.TRAIN],
            equal_to(["train/pos/0_9.txt", "train/neg/0_1.txt", "train/neg/2_4.txt"]),
            label="Train",
        )
        assert_that(
            sources[features.EVAL], equal_to(["train/pos/1_7.txt", "train/neg/1_3.txt"]), label="Eval"
        )
        assert_that(sources[features.TEST], equal_to(["test/pos/0_10.txt", "test/neg/0_2.txt"]), label="Test")
        assert_that(sources[features.UNSUP], equal_to(["train/unsup/0_0.txt"]), label="Unsup")


def example_row(example: tf.train.Example) -> tuple:
    """(source, text, label, movie id) of an example; None for a feature it does not have."""
    values = example_values(example)

    def value(name: str):
        return values[name][1][0] if name in values else None

    return (
        value(features.SOURCE).decode(),
        value(features.TEXT).decode(),
        value(features.LABEL),
        value(features.MOVIE_ID),
    )


# (source, text, label, movie id) of every example IngestImdbReviews gives for the tiny dataset.
INGESTED_ROWS = {
    features.TRAIN: [
        ("train/pos/0_9.txt", "A wonderful film.", 1, b"tt0000001"),
        ("train/neg/0_1.txt", "Awful.<br /><br />Just awful.", 0, b"tt0000001"),
        ("train/neg/2_4.txt", "Not for me.", 0, b"tt0000003"),
    ],
    features.EVAL: [
        ("train/pos/1_7.txt", "Café scenes were lovely — très bien.", 1, b"tt0000004"),
        ("train/neg/1_3.txt", "Boring, too long.", 0, b"tt0000004"),
    ],
    features.TEST: [
        ("test/pos/0_10.txt", "A masterpiece.", 1, b"tt0000004"),
        ("test/neg/0_2.txt", "Dull.", 0, None),
    ],
    features.UNSUP: [("train/unsup/0_0.txt", "Saw it twice.", None, b"tt0000001")],
}


def test_ingest_transform_gives_the_examples_of_every_split_and_sets_aside_a_test_copy(dataset_dir: Path):
    """The ExampleGen's whole graph, without the executor: a train copy of a test review is
    set aside, the rest lands in its split as examples, and the summary counts both."""
    (dataset_dir / "train" / "pos" / "2_8.txt").write_bytes(b"A masterpiece.")
    quarantine_dir = str(dataset_dir.parent / "quarantine")
    with TestPipeline(runner="FnApiRunner") as pipeline:
        splits = pipeline | ingest.IngestImdbReviews(
            str(dataset_dir / "*" / "*" / "*.txt"), EVAL_PERCENT, ExampleGenOptions(), quarantine_dir
        )
        for split, examples in splits.items():
            rows = examples | f"Row[{split}]" >> beam.Map(example_row)
            assert_that(rows, equal_to(INGESTED_ROWS[split]), label=f"Check[{split}]")
    summary = quarantine.read_summary(quarantine_dir)
    assert summary.split_folders == {
        features.TRAIN: {"neg": 2, "pos": 1},
        features.EVAL: {"neg": 1, "pos": 1},
        features.TEST: {"neg": 1, "pos": 1},
        features.UNSUP: {"unsup": 1},
    }
    assert (summary.set_aside, summary.describe_reasons()) == (
        1,
        f"in_test_split 1 ({dataset_dir / 'train' / 'pos' / '2_8.txt'})",
    )


# --- Errors (bad records set aside: tests/test_bad_data.py) -----------------------------------------


def run_reader(pattern: str) -> None:
    with TestPipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | reader.ReadImdbReviews(pattern)


def test_pattern_that_matches_nothing(tmp_path: Path):
    pattern = str(tmp_path / "nothing" / "*.tar.gz")
    with pytest.raises(ImdbDataError, match=re.escape(f"no IMDb reviews found under {pattern}")):
        run_reader(pattern)


def test_archive_without_reviews(tmp_path: Path):
    archive = write_archive(tmp_path / "empty.tar.gz", OTHER_FILES)
    with pytest.raises(ImdbDataError, match=re.escape(f"no IMDb reviews found under {archive}")):
        run_reader(str(archive))


@pytest.mark.parametrize(
    ("folder", "rating", "message"),
    [
        ("pos", 6, "f: rating 6 contradicts folder 'pos' (pos needs a rating of 7-10)"),
        ("neg", 5, "f: rating 5 contradicts folder 'neg' (neg needs a rating of 1-4)"),
        ("unsup", 3, "f: rating 3 contradicts folder 'unsup' (unsup needs a rating of 0)"),
    ],
)
def test_check_rating_rejects(folder: str, rating: int, message: str):
    with pytest.raises(ImdbDataError) as error:
        reader.check_rating(folder, rating, "f")
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("folder", "rating"), [("pos", 7), ("pos", 10), ("neg", 1), ("neg", 4), ("unsup", 0)]
)
def test_check_rating_accepts_bounds(folder: str, rating: int):
    reader.check_rating(folder, rating, "f")


def test_urls_lines_without_title_id_give_none_for_their_review_only():
    lines = [
        url("tt1").encode() + b"\n",
        b"http://example.com/\n",  # no title id
        b"\n",  # empty
        url("tt2").encode() + b"\r\n",
        b"http://www.imdb.com/title/t\n",  # cut short
        b"\xff\xfe\n",  # not UTF-8
        b"\xff" + url("tt3").encode(),  # a stray byte beside a title id: not UTF-8 either; no final newline
    ]
    assert reader.parse_movie_ids(b"".join(lines)) == ["tt1", None, None, "tt2", None, None, None]
    # Other scripts' digits are not an IMDb title id.
    assert reader.parse_movie_ids("http://www.imdb.com/title/tt٣/\n".encode()) == [None]


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(data=st.data(), bad=st.integers(0x80, 0xFF))
def test_a_urls_line_with_a_byte_that_is_not_utf8_anywhere_gives_no_movie_id(data, bad):
    # Any byte from 0x80 in an ASCII line makes it not UTF-8: before, inside or after the title id.
    line = url("tt0453418").encode()
    at = data.draw(st.integers(0, len(line)), label="at")
    damaged = line[:at] + bytes([bad]) + line[at:]
    assert reader.parse_movie_ids(damaged + b"\n" + line + b"\n") == [None, "tt0453418"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/d/aclImdb/train/pos/12_8.txt",
            reader.ReviewPath("/d/aclImdb", "train/pos/12_8.txt", "train", "pos", 12, 8),
        ),
        (
            "./aclImdb/test/neg/0_2.txt",
            reader.ReviewPath("./aclImdb", "test/neg/0_2.txt", "test", "neg", 0, 2),
        ),
        ("train/unsup/5_0.txt", reader.ReviewPath("", "train/unsup/5_0.txt", "train", "unsup", 5, 0)),
        ("aclImdb/train/urls_pos.txt", None),
        ("aclImdb/train/pos/notes.md", None),
        ("aclImdb/dev/pos/1_9.txt", None),
        ("aclImdb/README", None),
    ],
)
def test_parse_review_path(path: str, expected: reader.ReviewPath | None):
    assert reader.parse_review_path(path) == expected


# --- to_tf_example and assign_split ---------------------------------------------------------------


def example_values(example: tf.train.Example) -> dict[str, list]:
    """Feature name -> list of values, so tests compare kinds and values exactly."""
    values = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        values[name] = (kind, list(getattr(feature, kind).value))
    return values


def test_to_tf_example_labeled_with_movie():
    example = reader.to_tf_example(EXPECTED_REVIEWS[1])
    assert example_values(example) == {
        features.TEXT: ("bytes_list", ["Café scenes were lovely — très bien.".encode()]),
        features.LABEL: ("int64_list", [1]),
        features.REVIEW_ID: ("int64_list", [1]),
        features.RATING: ("int64_list", [7]),
        features.MOVIE_ID: ("bytes_list", [b"tt0000004"]),
        features.SOURCE: ("bytes_list", [b"train/pos/1_7.txt"]),
    }


def test_to_tf_example_negative_without_movie():
    assert example_values(reader.to_tf_example(EXPECTED_REVIEWS[7])) == {
        features.TEXT: ("bytes_list", [b"Dull."]),
        features.LABEL: ("int64_list", [0]),
        features.REVIEW_ID: ("int64_list", [0]),
        features.RATING: ("int64_list", [2]),
        features.SOURCE: ("bytes_list", [b"test/neg/0_2.txt"]),
    }


def test_to_tf_example_unsup_has_no_label():
    assert example_values(reader.to_tf_example(EXPECTED_REVIEWS[5])) == {
        features.TEXT: ("bytes_list", [b"Saw it twice."]),
        features.REVIEW_ID: ("int64_list", [0]),
        features.RATING: ("int64_list", [0]),
        features.MOVIE_ID: ("bytes_list", [b"tt0000001"]),
        features.SOURCE: ("bytes_list", [b"train/unsup/0_0.txt"]),
    }


@pytest.mark.parametrize(("text", "bucket"), [("Café", 80), ("Dull.", 6)])
def test_assign_split_uses_text_when_movie_unknown(text: str, bucket: int):
    assert int(hashlib.sha256(b"text:" + text.encode()).hexdigest(), 16) % 100 == bucket
    review = Review("train/pos/0_9.txt", "train", "pos", 0, 9, text, None)
    assert reader.assign_split(review, bucket) == features.TRAIN
    assert reader.assign_split(review, bucket + 1) == features.EVAL


def test_assign_split_prefers_the_movie_over_the_text():
    review = Review("train/pos/0_9.txt", "train", "pos", 0, 9, "Café", "tt0000004")  # movie bucket 0
    assert reader.assign_split(review, 1) == features.EVAL


def test_assign_split_test_and_unsup_ignore_the_hash():
    test_review = Review("test/pos/0_10.txt", "test", "pos", 0, 10, "x", "tt0000004")  # bucket 0
    unsup_review = Review("train/unsup/0_0.txt", "train", "unsup", 0, 0, "x", "tt0000004")
    assert reader.assign_split(test_review, 50) == features.TEST
    assert reader.assign_split(unsup_review, 50) == features.UNSUP


# --- component helpers ------------------------------------------------------------------------------


def test_dataset_input_archive(dataset_archive: Path):
    assert component.dataset_input(str(dataset_archive)) == (
        str(dataset_archive.parent),
        "aclImdb_tiny.tar.gz",
    )


def test_dataset_input_root_and_parent_folder(dataset_dir: Path):
    assert component.dataset_input(str(dataset_dir)) == (str(dataset_dir), "*/*/*.txt")
    assert component.dataset_input(str(dataset_dir.parent) + "/") == (str(dataset_dir), "*/*/*.txt")


def test_dataset_input_rejects_other_folders_and_missing_paths(tmp_path: Path):
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError) as error:
        component.dataset_input(str(tmp_path / "other"))
    assert str(error.value) == (
        f"{tmp_path}/other is not an IMDb dataset: expected train/ and test/ folders or an aclImdb/ folder"
    )
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path}/missing.tar.gz does not exist")):
        component.dataset_input(str(tmp_path / "missing.tar.gz"))


def test_make_output_config():
    config = component.make_output_config(15)
    assert proto_utils.proto_to_json(config) == proto_utils.proto_to_json(
        example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=85),
                    example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=15),
                ],
                partition_feature_name="movie_id",
            )
        )
    )
    assert executor.eval_percent_from_output_config(config) == 15


@pytest.mark.parametrize("eval_percent", [0, 51, True, 10.0])
def test_eval_percent_out_of_range(eval_percent):
    message = f"eval_percent must be a whole number between 1 and 50, got {eval_percent!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        component.make_output_config(eval_percent)


def test_output_config_of_another_shape_is_refused():
    config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=2),
                example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1),
            ]
        )
    )
    with pytest.raises(ValueError) as error:
        executor.eval_percent_from_output_config(config)
    assert str(error.value) == (
        "output_config must split into 'train' and 'eval' with hash_buckets (100 - p, p) and "
        "partition_feature_name 'movie_id' (see make_output_config); got splits [('train', 2), ('eval', 1)] "
        "and partition_feature_name ''"
    )


def test_create_example_gen(dataset_archive: Path):
    example_gen = component.create_example_gen(str(dataset_archive), eval_percent=20)
    properties = example_gen.exec_properties
    assert properties[standard_component_specs.INPUT_BASE_KEY] == str(dataset_archive.parent)
    input_config = proto_utils.json_to_proto(
        properties[standard_component_specs.INPUT_CONFIG_KEY], example_gen_pb2.Input()
    )
    assert input_config == example_gen_pb2.Input(
        splits=[example_gen_pb2.Input.Split(name="all", pattern="aclImdb_tiny.tar.gz")]
    )
    output_config = proto_utils.json_to_proto(
        properties[standard_component_specs.OUTPUT_CONFIG_KEY], example_gen_pb2.Output()
    )
    assert output_config == component.make_output_config(20)
    assert example_gen.executor_spec.executor_class is executor.Executor
    assert executor.options_from_exec_properties(properties) == ExampleGenOptions()


def test_create_example_gen_packs_the_options_into_custom_config(dataset_archive: Path):
    options = ExampleGenOptions(max_review_bytes=5_000, max_bad_share=0.2, quarantine_duplicates=False)
    example_gen = component.create_example_gen(str(dataset_archive), options=options)
    # As TFX hands it to the executor: the CustomConfig proto as JSON.
    assert executor.options_from_exec_properties(example_gen.exec_properties) == options
    assert executor.options_from_exec_properties({}) == ExampleGenOptions()


# --- the executor, end to end ----------------------------------------------------------------------


def read_split(uri: str, split: str) -> dict[str, dict[str, list]]:
    """Reads one written split back: source -> feature values."""
    files = sorted(tf.io.gfile.glob(f"{uri}/Split-{split}/*"))
    assert files, f"no files in Split-{split}"
    records = tf.data.TFRecordDataset(files, compression_type="")
    examples = [tf.train.Example.FromString(record.numpy()) for record in records]
    return {example_values(e)[features.SOURCE][1][0].decode(): example_values(e) for e in examples}


def test_executor_writes_four_splits(tmp_path: Path, dataset_archive: Path):
    examples = run_example_gen(tmp_path, dataset_archive)  # the real executor, as TFX runs it

    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval", "test", "unsup"]
    assert json.loads(examples.split_names) == ["train", "eval", "test", "unsup"]
    assert sorted(read_split(examples.uri, features.TRAIN)) == [
        "train/neg/0_1.txt",
        "train/neg/2_4.txt",
        "train/pos/0_9.txt",
    ]
    assert read_split(examples.uri, features.EVAL) == {
        "train/pos/1_7.txt": example_values(reader.to_tf_example(EXPECTED_REVIEWS[1])),
        "train/neg/1_3.txt": {
            features.TEXT: ("bytes_list", [b"Boring, too long."]),
            features.LABEL: ("int64_list", [0]),
            features.REVIEW_ID: ("int64_list", [1]),
            features.RATING: ("int64_list", [3]),
            features.MOVIE_ID: ("bytes_list", [b"tt0000004"]),
            features.SOURCE: ("bytes_list", [b"train/neg/1_3.txt"]),
        },
    }
    assert sorted(read_split(examples.uri, features.TEST)) == ["test/neg/0_2.txt", "test/pos/0_10.txt"]
    assert read_split(examples.uri, features.UNSUP) == {
        "train/unsup/0_0.txt": {
            features.TEXT: ("bytes_list", [b"Saw it twice."]),
            features.REVIEW_ID: ("int64_list", [0]),
            features.RATING: ("int64_list", [0]),
            features.MOVIE_ID: ("bytes_list", [b"tt0000001"]),
            features.SOURCE: ("bytes_list", [b"train/unsup/0_0.txt"]),
        }
    }


# --- the bundled sample ------------------------------------------------------------------------------


def test_bundled_sample_counts():
    """pipeline/data/aclImdb_sample.tar.gz: the counts pipeline/data/README.md documents."""
    with TestPipeline(runner="FnApiRunner") as pipeline:
        reviews = (pipeline | reader.ReadImdbReviews(str(SAMPLE_ARCHIVE)))[reader.REVIEWS]
        folders = (
            reviews
            | "Folder" >> beam.Map(lambda review: f"{review.split_dir}/{review.folder}")
            | "CountFolders" >> beam.combiners.Count.PerElement()
        )
        assert_that(
            folders,
            equal_to(
                [
                    ("train/pos", 1004),
                    ("train/neg", 1008),
                    ("test/pos", 502),
                    ("test/neg", 501),
                    ("train/unsup", 1013),
                ]
            ),
            label="PerFolder",
        )
        without_movie = reviews | "WithoutMovie" >> beam.Filter(lambda review: review.movie_id is None)
        assert_that(without_movie, equal_to([]), label="AllHaveMovies")
        splits = (
            reviews
            | "Split" >> beam.Map(reader.assign_split, EVAL_PERCENT)
            | "CountSplits" >> beam.combiners.Count.PerElement()
        )
        assert_that(
            splits,
            equal_to([("train", 1736), ("eval", 276), ("test", 1003), ("unsup", 1013)]),
            label="PerSplit",
        )


_NAME_CHARACTERS = st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.text(_NAME_CHARACTERS, min_size=1, max_size=12), min_size=1, max_size=4, unique=True)
)
@hypothesis_example(names=["12\\_8", "0_9", "a\nb\\"])
def test_every_file_the_pattern_names_is_listed(tmp_path_factory, names):
    """The reader's listing has every file, whatever its name holds (\\, newline, ...): Beam's match does not."""
    root = tmp_path_factory.mktemp("names") / "aclImdb"
    folder = root / "train" / "pos"
    folder.mkdir(parents=True)
    names = [name + ".txt" for name in names if name not in (".", "..")]
    for name in names:
        (folder / name).write_bytes(b"A fine film.")
    pattern = str(root / "*/*/*.txt")

    assert sorted(m.path for m in reader.list_dataset(pattern)) == sorted(
        str(folder / name) for name in names
    )
    assert sorted(reader.list_local_files(pattern)) == sorted(str(folder / name) for name in names)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    folder=st.text(alphabet="ab [*?]\\.", min_size=1, max_size=8).filter(
        lambda name: name not in (".", "..")
    ),
    linked=st.booleans(),
)
@hypothesis_example(folder="d [1]", linked=True)
def test_an_archive_path_with_glob_characters_is_listed_for_the_reader_as_for_the_fingerprint(
    tmp_path_factory, folder, linked
):
    """An archive's escaped path (``[[]``) is one file for the reader and for the input fingerprint alike,
    reached as its plain path is: through a link to a folder on the way (``data [1]/current/x.tar.gz``).

    Seen: with a linked folder below ``d [1]``, the fingerprint's own glob counted the archive while
    Beam's match, which the reader used, listed nothing.
    """
    root = tmp_path_factory.mktemp("archives")
    real = root / "real"
    real.mkdir()
    (root / folder).mkdir()
    holder = root / folder / "current"
    if linked:
        holder.symlink_to(real, target_is_directory=True)
    else:
        holder.mkdir()
    archive = holder / "aclImdb_v1.tar.gz"
    archive.write_bytes(b"x" * 77)
    (holder / "other.tar.gz").write_bytes(b"y")
    input_base, pattern = component.dataset_input(str(archive))
    full = f"{input_base}/{pattern}"

    listed = list(reader.list_dataset(full))

    assert [(m.path, m.size_in_bytes) for m in listed] == [(str(archive), 77)]
    assert reader.list_local_files(full) == [str(archive)]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "output_data_format",
            example_gen_pb2.FORMAT_PARQUET,
            "output_data_format must be FORMAT_TF_EXAMPLE (6) or unset: this ExampleGen writes "
            "tf.train.Example records to TFRecord files; got 15 (FORMAT_PARQUET)",
        ),
        (
            "output_data_format",
            example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE,
            "output_data_format must be FORMAT_TF_EXAMPLE (6) or unset: this ExampleGen writes "
            "tf.train.Example records to TFRecord files; got 7 (FORMAT_TF_SEQUENCE_EXAMPLE)",
        ),
        (
            "output_file_format",
            example_gen_pb2.FILE_FORMAT_PARQUET,
            "output_file_format must be FORMAT_TFRECORDS_GZIP (5) or unset: this ExampleGen writes "
            "tf.train.Example records to TFRecord files; got 16 (FILE_FORMAT_PARQUET)",
        ),
        (
            "output_file_format",
            3,
            "output_file_format must be FORMAT_TFRECORDS_GZIP (5) or unset: this ExampleGen writes "
            "tf.train.Example records to TFRecord files; got 3 (not a FileFormat)",
        ),
    ],
)
def test_executor_refuses_output_formats_it_does_not_write(tmp_path: Path, key, value, message):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    with pytest.raises(ValueError) as error:
        executor.Executor().Do({}, {"examples": [examples]}, {key: value})
    assert str(error.value) == message
    assert not (tmp_path / "examples").exists()


def test_output_formats_of_create_example_gen_and_unset_ones_are_accepted(dataset_archive: Path):
    properties = component.create_example_gen(str(dataset_archive)).exec_properties
    assert properties["output_data_format"] == example_gen_pb2.FORMAT_TF_EXAMPLE
    assert properties["output_file_format"] == example_gen_pb2.FORMAT_TFRECORDS_GZIP
    for accepted in (properties, {}, {"output_data_format": 0, "output_file_format": 0}):
        assert executor.check_output_formats(accepted) is None
