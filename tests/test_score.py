"""``imdb-pipeline score``: reading every input kind, setting bad records aside, RunInference, the CLI.

A tiny real SavedModel with the pipeline's text signature (probability = UTF-8
length * 0.01) makes exact expected values possible without training; the
comparison with ``predict`` uses the model pushed by the shared end-to-end run
(tests/conftest.py, ``pushed_run``).
"""

import bz2
import gzip
import json
import os
from pathlib import Path
import re
import shlex
import subprocess
import tempfile

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, SetupOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

from components.artifacts import quarantine
from components.artifacts.quarantine import Origin
from components.example_gen import reader
from components.example_gen.errors import BadRecordError
from pipeline import cli, predict, score
from schemas import features
from tests import score_outputs
from tests.conftest import BEAM_RUNNER, CLI
from tests.imdb_files import write_archive, write_dataset

MODEL_NAME = "imdb_sentiment"


class _LengthModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.TEXT_INPUT)])
    def serve(self, text):
        length = tf.cast(tf.strings.length(text), tf.float32)
        return {features.PROBABILITY_OUTPUT: length * 0.01}


def length_probability(text: str) -> float:
    """What the tiny model says, computed independently (float32, as the graph does)."""
    return float(np.float32(len(text.encode("utf-8"))) * np.float32(0.01))


@pytest.fixture(scope="module")
def length_model(tmp_path_factory) -> Path:
    """A serving root holding versions 1 and 7 of the tiny model (7 is the newest)."""
    root = tmp_path_factory.mktemp("serving") / MODEL_NAME
    module = _LengthModel()
    for version in (1, 7):
        tf.saved_model.save(
            module, str(root / str(version)), signatures={features.TEXT_SIGNATURE: module.serve}
        )
    return root


def _example(**values) -> bytes:
    feature = {}
    for name, value in values.items():
        if isinstance(value, bytes):
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _write_tfrecords(path: Path, records: list[bytes]) -> Path:
    with tf.io.TFRecordWriter(str(path), options="GZIP" if path.name.endswith(".gz") else None) as writer:
        for record in records:
            writer.write(record)
    return path


# --- Reading: one test per input kind, exact records and reasons -------------------------------------


def _run_read(source: score.ScoreInput, expected_reviews, expected_set_aside, max_review_bytes=1_000):
    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        read = pipeline | score.ReadReviews(source, max_review_bytes)
        assert_that(read[score.REVIEWS], equal_to(expected_reviews), label="Reviews")
        assert_that(
            read[score.QUARANTINE]
            | beam.Map(lambda record: (record.reason, str(record.origin), record.raw, record.size)),
            equal_to(expected_set_aside),
            label="SetAside",
        )


def test_a_text_file_gives_one_review_per_line_and_sets_bad_lines_aside(tmp_path):
    lines = [
        b"\xef\xbb\xbfgood one",
        b"",
        b"  \t",
        b"bad \xff byte",
        b"nul \x00 inside",
        b"x" * 1_001,
        b"last",
    ]
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"\r\n".join(lines) + b"\n")
    where = str(path)
    _run_read(
        score.ScoreInput(score.LINES, str(path)),
        [({"source": where, "line": 1}, "good one"), ({"source": where, "line": 7}, "last")],
        [
            (quarantine.EMPTY, f"{where}, line 2", b"", 0),
            (quarantine.WHITESPACE_ONLY, f"{where}, line 3", b"  \t", 3),
            (quarantine.INVALID_UTF8, f"{where}, line 4", b"bad \xff byte", 10),
            (quarantine.BINARY, f"{where}, line 5", b"nul \x00 inside", 12),
            (quarantine.TOO_LARGE, f"{where}, line 6", b"x" * 1_000, 1_001),
        ],
    )


def test_json_lines_need_an_object_with_a_string_text(tmp_path):
    lines = [
        '{"text": "fine", "id": 3}',
        "[1, 2]",
        '{"review": "no text key"}',
        '{"text": 5}',
        '{"text": ""}',
        '{"text": "\\udc80 lone surrogate"}',
        '{"text": "caf\u00e9"}',
    ]
    path = tmp_path / "reviews.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    where = str(path)
    raw = [line.encode() for line in lines]
    _run_read(
        score.ScoreInput("auto", str(path)),
        [({"source": where, "line": 1}, "fine"), ({"source": where, "line": 7}, "caf\u00e9")],
        [
            (predict.NOT_JSON_OBJECT, f"{where}, line 2", raw[1], len(raw[1])),
            (predict.NO_TEXT_FIELD, f"{where}, line 3", raw[2], len(raw[2])),
            (predict.NO_TEXT_FIELD, f"{where}, line 4", raw[3], len(raw[3])),
            (quarantine.EMPTY, f"{where}, line 5", raw[4], len(raw[4])),
            (quarantine.INVALID_UTF8, f"{where}, line 6", raw[5], len(raw[5])),
        ],
    )


def test_tfrecords_need_examples_with_one_text_string(tmp_path):
    records = [
        _example(text=b"a review", source=b"test/pos/0_9.txt"),
        b"\xff\xff\xff not a proto",
        _example(review_id=4),
        _example(text=7),
        _example(text=b"   "),
        _example(text=b"no source feature"),
        _example(text=b"an id that is not UTF-8", source=b"test/pos/\xff.txt"),
    ]
    folder = tmp_path / "Split-test"
    folder.mkdir()
    path = _write_tfrecords(folder / "data_tfrecord-00000-of-00001.gz", records)
    source = score.resolve_input(str(folder))
    assert source.kind == score.TFRECORD
    where = str(path)
    _run_read(
        source,
        [
            ({"source": where, "record": 1, "id": "test/pos/0_9.txt"}, "a review"),
            ({"source": where, "record": 6}, "no source feature"),
        ],
        [
            (score.NOT_TF_EXAMPLE, f"{where}, record 2", records[1], len(records[1])),
            (score.NO_TEXT_FEATURE, f"{where}, record 3", records[2], len(records[2])),
            (score.NO_TEXT_FEATURE, f"{where}, record 4", records[3], len(records[3])),
            (quarantine.WHITESPACE_ONLY, f"{where}, record 5", records[4], len(records[4])),
            (quarantine.INVALID_UTF8, f"{where}, record 7", records[6], len(records[6])),
        ],
    )
    with pytest.raises(BadRecordError) as raised:
        score._example_text(records[6], "r")
    # Before: scored with the id "test/pos/\ufffd.txt", which names no review.
    assert str(raised.value) == (
        "r: feature 'source' (the review's id) is not valid UTF-8 (invalid start byte at byte 9)"
    )


_SOURCE_VALUES = {
    "bytes_list": st.lists(st.binary(max_size=8).map(lambda b: b"id/" + b), max_size=3),
    "int64_list": st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
    "float_list": st.lists(st.floats(width=32, allow_nan=False), max_size=3),
}


@st.composite
def _source_features(draw):
    """A 'source' feature of any kind and count, or one of no kind (None): (kind, values, feature)."""
    kind = draw(st.sampled_from([None, *_SOURCE_VALUES]))
    if kind is None:
        return None, [], tf.train.Feature()
    values = draw(_SOURCE_VALUES[kind])
    lists = {
        "bytes_list": tf.train.BytesList,
        "int64_list": tf.train.Int64List,
        "float_list": tf.train.FloatList,
    }
    return kind, values, tf.train.Feature(**{kind: lists[kind](value=values)})


@given(_source_features())
def test_a_source_feature_is_an_id_only_as_one_string(source):
    """Before: two values, a number or no value gave a prediction without its id, silently."""
    kind, values, feature = source
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a review"])),
                "source": feature,
            }
        )
    )
    raw = example.SerializeToString()
    if kind == "bytes_list" and len(values) == 1:
        try:
            expected = values[0].decode("utf-8")
        except UnicodeDecodeError:
            with pytest.raises(BadRecordError) as raised:
                score._example_text(raw, "r")
            assert raised.value.reason == quarantine.INVALID_UTF8
            return
        assert score._example_text(raw, "r") == (b"a review", expected)
        return
    with pytest.raises(BadRecordError) as raised:
        score._example_text(raw, "r")
    found = "no values" if kind is None else f"{kind} of {len(values)} value{'' if len(values) == 1 else 's'}"
    assert (raised.value.reason, str(raised.value)) == (
        score.BAD_SOURCE_FEATURE,
        f"r: feature 'source' (the review's id) must hold one string (bytes_list), found {found}",
    )


def test_a_record_whose_source_is_not_one_string_is_set_aside_and_counted(length_model, tmp_path):
    records = [
        _example(text=b"two ids", source=b"a"),
        _example(text=b"a number for an id", source=7),
        _example(text=b"one id", source=b"test/pos/0_9.txt"),
    ]
    two = tf.train.Example.FromString(records[0])
    two.features.feature["source"].bytes_list.value.append(b"b")
    records[0] = two.SerializeToString()
    _write_tfrecords(tmp_path / "ids.tfrecord", records)
    done = _score_cli(
        "--model", str(length_model), "--input", "ids.tfrecord", "--output", "out", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == (
        f"scored 1 review of ids.tfrecord with {length_model}/7, set aside 2 (bad_source_feature 2): out\n"
    )
    assert [row["id"] for row in score_outputs.read_predictions(str(tmp_path / "out"))] == [
        "test/pos/0_9.txt"
    ]
    set_aside = sorted(score_outputs.read_quarantine(str(tmp_path / "out")), key=lambda r: r.origin.record)
    assert [(r.reason, str(r.origin), r.detail) for r in set_aside] == [
        (
            score.BAD_SOURCE_FEATURE,
            "ids.tfrecord, record 1",
            "feature 'source' (the review's id) must hold one string (bytes_list), found bytes_list of 2 values",
        ),
        (
            score.BAD_SOURCE_FEATURE,
            "ids.tfrecord, record 2",
            "feature 'source' (the review's id) must hold one string (bytes_list), found int64_list of 1 value",
        ),
    ]


IMDB_FILES = {
    "test/pos/0_9.txt": b"a moving film",
    "test/neg/1_2.txt": b"dull",
    "train/unsup/5_0.txt": b"no rating here",
    "test/pos/2_3.txt": b"rating contradicts folder",
    "test/neg/3_1.txt": b"",
    "test/neg/badname.txt": b"x",
}


def test_an_imdb_folder_and_archive_are_read_by_example_gens_reader(tmp_path):
    root = write_dataset(tmp_path / "aclImdb", IMDB_FILES)
    source = score.resolve_input(str(tmp_path))  # the folder holding aclImdb/
    assert source.kind == score.IMDB
    _run_read(
        source,
        [
            ({"source": f"{root}/test/pos/0_9.txt", "id": "test/pos/0_9.txt"}, "a moving film"),
            ({"source": f"{root}/test/neg/1_2.txt", "id": "test/neg/1_2.txt"}, "dull"),
            ({"source": f"{root}/train/unsup/5_0.txt", "id": "train/unsup/5_0.txt"}, "no rating here"),
        ],
        [
            (
                quarantine.RATING_CONTRADICTS_FOLDER,
                f"{root}/test/pos/2_3.txt",
                b"rating contradicts folder",
                25,
            ),
            (quarantine.EMPTY, f"{root}/test/neg/3_1.txt", b"", 0),
            (quarantine.BAD_FILE_NAME, f"{root}/test/neg/badname.txt", b"x", 1),
        ],
    )
    archive = write_archive(tmp_path / "imdb.tar.gz", IMDB_FILES)
    member = "aclImdb/test/neg/3_1.txt"
    _run_read(
        score.resolve_input(str(archive)),
        [
            (
                {"source": str(archive), "member": "aclImdb/test/pos/0_9.txt", "id": "test/pos/0_9.txt"},
                "a moving film",
            ),
            (
                {"source": str(archive), "member": "aclImdb/test/neg/1_2.txt", "id": "test/neg/1_2.txt"},
                "dull",
            ),
            (
                {
                    "source": str(archive),
                    "member": "aclImdb/train/unsup/5_0.txt",
                    "id": "train/unsup/5_0.txt",
                },
                "no rating here",
            ),
        ],
        [
            (
                quarantine.RATING_CONTRADICTS_FOLDER,
                f"{archive} (member aclImdb/test/pos/2_3.txt)",
                b"rating contradicts folder",
                25,
            ),
            (quarantine.EMPTY, f"{archive} (member {member})", b"", 0),
            (quarantine.BAD_FILE_NAME, f"{archive} (member aclImdb/test/neg/badname.txt)", b"x", 1),
        ],
    )


def _tfrecord_file(records: list[bytes]) -> bytes:
    """The bytes TensorFlow's writer gives ``records``, as one plain TFRecord file."""
    path = Path(tempfile.mkdtemp()) / "records.tfrecord"
    _write_tfrecords(path, records)
    return path.read_bytes()


_RECORDS = st.lists(st.binary(max_size=20), max_size=3)


@st.composite
def _cut_files(draw) -> bytes:
    """A file of whole records cut short anywhere."""
    data = _tfrecord_file(draw(_RECORDS))
    return data[: draw(st.integers(0, max(len(data) - 1, 0)))]


# TensorFlow's reader took a record header cut short (under 12 bytes) for the end of the file: a
# 4-byte junk file read as no records, a file cut after a record as whole.
@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    st.one_of(
        st.binary(max_size=40),
        _cut_files(),
        _RECORDS.map(_tfrecord_file),
    ),
    st.booleans(),
)
def test_a_tfrecord_file_reads_whole_or_is_an_error_naming_it(tmp_path_factory, data, gzipped):
    """Any bytes: either exactly the records that give the file back, or an error naming the file."""
    name = "generated.tfrecord.gz" if gzipped else "generated.tfrecord"
    path = tmp_path_factory.mktemp("tfrecords") / name
    path.write_bytes(gzip.compress(data) if gzipped else data)
    try:
        records = list(score.read_tfrecords(str(path), name, path.stat().st_size))
    except score.ScoreInputError as error:
        assert str(error).startswith(f"{name}: truncated or corrupt TFRecord file after record ")
        assert data != _tfrecord_file(_readable_records(data))
    else:
        assert _tfrecord_file(records) == data


def _readable_records(data: bytes) -> list[bytes]:
    """The whole records at the start of ``data`` (length, 4 bytes, data, 4 bytes), CRCs unchecked."""
    records, offset = [], 0
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset : offset + 8], "little")
        if offset + 16 + length > len(data):
            break
        records.append(data[offset + 12 : offset + 12 + length])
        offset += 16 + length
    return records


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"junk",
            "truncated or corrupt TFRecord file after record 0 (compression none): "
            "truncated record at 0: 4 bytes left, less than a record header (12 bytes)",
        ),
        (
            _tfrecord_file([b"a review"])[:20],
            # Before: "truncated record at 0' failed with Read less bytes than requested" (TensorFlow's quote).
            "truncated or corrupt TFRecord file after record 0 (compression none): "
            "truncated record at 0: Read less bytes than requested",
        ),
    ],
)
def test_a_corrupt_tfrecord_file_names_itself_and_what_is_wrong(tmp_path, data, message):
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(data)
    with pytest.raises(score.ScoreInputError) as raised:
        list(score.read_tfrecords(str(path), "bad.tfrecord", len(data)))
    assert str(raised.value) == f"bad.tfrecord: {message}"
    gzipped = tmp_path / "bad.tfrecord.gz"
    gzipped.write_bytes(gzip.compress(_tfrecord_file([b"a review"]) + b"x"))
    with pytest.raises(score.ScoreInputError) as raised:
        list(score.read_tfrecords(str(gzipped), "bad.tfrecord.gz", gzipped.stat().st_size))
    assert str(raised.value) == (
        "bad.tfrecord.gz: truncated or corrupt TFRecord file after record 1 (compression GZIP): "
        "truncated record at 24: 1 byte left, less than a record header (12 bytes)"
    )


# The rule for every line: set aside exactly when ExampleGen would set the same bytes aside, for
# the same reason; otherwise scored with its text.
@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=8))
def test_each_line_is_scored_or_set_aside_as_example_gen_would(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("lines") / "generated.txt"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    *results, kind = score._ReadRecordsFn(score.ScoreInput(score.LINES, str(path)), 20).process(
        FileMetadata(str(path), 0)
    )
    assert (kind.tag, kind.value) == (score.KINDS, score.LINES)  # after the file's last line
    assert len(results) == len(lines)
    for number, (line, result) in enumerate(zip(lines, results, strict=True), start=1):
        expected_text = line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line
        try:
            reader.check_review_bytes(line, len(line), 20, "x")
            reader.check_review_bytes(expected_text, len(expected_text), 20, "x")
        except BadRecordError as error:
            assert isinstance(result, beam.pvalue.TaggedOutput)
            assert (result.value.reason, result.value.origin) == (
                error.reason,
                Origin(str(path), line=number),
            )
            assert result.value.raw == line[:20]
        else:
            assert result == ({"source": str(path), "line": number}, expected_text.decode("utf-8"))


# --- Scoring: the PTransform on a few elements --------------------------------------------------------


def test_score_reviews_runs_inference_with_the_text_signature(length_model):
    reviews = [({"line": 1}, "great"), ({"line": 2}, "caf\u00e9 \u2014 ok"), ({"id": "x"}, "a" * 60)]
    expected = [
        {**key, "probability": length_probability(text), "label": int(length_probability(text) >= 0.5)}
        for key, text in reviews
    ]
    assert [row["label"] for row in expected] == [0, 0, 1]
    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        scored = pipeline | beam.Create(reviews) | score.ScoreReviews(str(length_model), max_batch_size=2)
        assert_that(scored[score.PREDICTIONS], equal_to(expected))
        assert_that(scored[score.QUARANTINE], equal_to([]), label="NothingSetAside")


# --- The command line ---------------------------------------------------------------------------------


def _score_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "score", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_standard_output_as_the_output_is_refused_saying_what_it_is_and_naming_predict(
    length_model, tmp_path
):
    """``imdb-pipeline score ... --output /dev/stdout``, its standard output a pipe (as here) or a terminal.

    Before: ``--output /dev/stdout is a file; scoring writes a folder`` (it is none)."""
    (tmp_path / "in.txt").write_text("fine\n", encoding="utf-8")
    done = _score_cli(
        "--model", str(length_model), "--input", "in.txt", "--output", "/dev/stdout", cwd=tmp_path
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "imdb-pipeline score: --output /dev/stdout is a FIFO; scoring writes a folder (imdb-pipeline predict "
        "prints predictions to standard output)\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


def test_the_command_writes_predictions_quarantine_and_summary(length_model, tmp_path):
    texts = ["short", "", "a" * 80, "caf\u00e9"]
    (tmp_path / "in.txt").write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")
    for output_format in ("jsonl", "tfrecord"):
        output = tmp_path / f"out-{output_format}"
        done = _score_cli(
            "--model", str(length_model), "--input", "in.txt", "--output", str(output),
            "--format", output_format, "--batch-size", "2", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout == (
            f"scored 3 reviews of in.txt with {length_model}/7, set aside 1 (empty 1): {output}\n"
        )
        predictions = sorted(score_outputs.read_predictions(str(output)), key=lambda row: row["line"])
        expected = [
            {"source": "in.txt", "line": line, "label": int(length_probability(text) >= 0.5)}
            for line, text in ((1, "short"), (3, "a" * 80), (4, "caf\u00e9"))
        ]
        assert [{k: v for k, v in row.items() if k != "probability"} for row in predictions] == expected
        assert [row["probability"] for row in predictions] == pytest.approx(
            [length_probability(t) for t in ("short", "a" * 80, "caf\u00e9")], abs=1e-7
        )
        assert [(r.reason, str(r.origin), r.detail) for r in score_outputs.read_quarantine(str(output))] == [
            (quarantine.EMPTY, "in.txt, line 2", "empty line (0 bytes)")
        ]
        summary = score.read_summary(str(output))
        assert (summary.scored, summary.quarantined, summary.model) == (3, {"empty": 1}, f"{length_model}/7")
        assert (summary.input, summary.kind) == ("in.txt", "lines")


def test_user_mistakes_are_one_line_errors_with_exit_code_2(length_model, tmp_path):
    (tmp_path / "in.txt").write_text("fine\n", encoding="utf-8")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    (tmp_path / "corrupt.tfrecord").write_bytes(b"\x00" * 40)
    (tmp_path / "array.txt").write_text('["a", "b"]\nfine\n', encoding="utf-8")
    (tmp_path / "document.jsonl").write_text('{\n  "text": "a"\n}\n', encoding="utf-8")
    # A plain TFRecord file named .gz, as a hostile user made one of an ExampleGen split's files.
    _write_tfrecords(tmp_path / "plain.tfrecord", [_example(text=b"fine")]).rename(
        tmp_path / "plain.tfrecord.gz"
    )
    model = str(length_model)
    cases = [
        (["--model", str(tmp_path / "nope"), "--input", "in.txt", "--output", "o1"], f"{tmp_path / 'nope'} does not exist"),
        (["--model", model, "--input", "missing.txt", "--output", "o2"], "--input missing.txt does not exist"),
        (
            ["--model", model, "--input", "in.txt", "--output", "full"],
            "--output full already holds files; scoring never overwrites: name a new or empty folder",
        ),
        (["--model", model, "--input", "in.txt", "--output", "o3", "--runer=DataflowRunner"], "did you mean --runner?"),
        (["--model", model, "--input", "in.txt", "--output", "o4", "--format", "csv"], "--format must be one of jsonl, tfrecord, got 'csv'"),
        (
            ["--model", model, "--input", "corrupt.tfrecord", "--output", "o5"],
            "corrupt.tfrecord: truncated or corrupt TFRecord file after record 0",
        ),
        (
            ["--model", model, "--input", "plain.tfrecord.gz", "--output", "o6"],
            "plain.tfrecord.gz: truncated or corrupt TFRecord file after record 0 (compression GZIP)",
        ),
        # A whole file refused by the job's reader: the exit code and one line of a user's mistake.
        (
            ["--model", model, "--input", "array.txt", "--output", "o7"],
            "array.txt, line 1 is a JSON array, not JSON Lines: give one JSON object per line",
        ),
        (
            ["--model", model, "--input", "document.jsonl", "--output", "o8"],
            "document.jsonl, line 1 starts a JSON document over several lines, not JSON Lines",
        ),
    ]  # fmt: skip
    for args, message in cases:
        done = _score_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr[-3000:])
        assert message in done.stderr, (args, done.stderr[-3000:])
        assert "Traceback" not in done.stderr
        if "TFRecord" in message or "JSON" in message:  # found by the job: once, not also in Beam's log line
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr[-3000:]
    assert sorted(path.name for path in (tmp_path / "full").iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("name", "content", "input_format", "kind"),
    [
        ("reviews.jsonl", b'{"text": "a wonderful film"}\n{"text": "awful"}\n', "auto", "jsonl"),
        ("reviews.txt", b"a wonderful film\nawful\n", "auto", "lines"),
        ("bom.txt", b'\xef\xbb\xbf{"text": "great"}\n', "auto", "jsonl"),
        ("empty.txt", b"", "auto", "lines"),  # no first line that is a JSON object
        ("forced.jsonl", b'{"text": "a wonderful film"}\n', "lines", "lines"),
        ("reviews.tfrecord", None, "auto", "tfrecord"),
        ("reviews.tar.gz", None, "auto", "imdb"),
    ],
)
def test_the_summary_names_the_kind_the_input_was_read_as(
    length_model, tmp_path, name, content, input_format, kind
):
    """``auto`` is resolved: summary.json says what the job read, never the option's ``auto``."""
    path = tmp_path / name
    if name.endswith(".tfrecord"):
        _write_tfrecords(path, [_example(text=b"great")])
    elif name.endswith(".tar.gz"):
        write_archive(path, {"test/pos/0_9.txt": b"great"})
    else:
        path.write_bytes(content)
    output = tmp_path / "scored"
    job = score.ScoreJob(
        str(length_model / "7"), name, score.resolve_input(str(path), input_format), str(output)
    )
    summary = score.run_score(job, [f"--runner={BEAM_RUNNER}"])
    assert (summary.input, summary.kind) == (name, kind)
    assert json.loads((output / score.SUMMARY_FILE).read_text())["kind"] == kind


# --- The same numbers as predict, with the pushed model -----------------------------------------------

REVIEWS = [
    "a wonderful, moving masterpiece",
    "an awful, boring waste of time",
    "Ce film est magnifique \u2014 \u00e9mouvant",
    'He said "meh",\tthen left.',
    "not bad at all",
]


@pytest.mark.slow
def test_score_gives_predicts_probabilities_for_every_input_kind(pushed_run, tmp_path):
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    model = str(output / "serving" / MODEL_NAME)
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text("".join(json.dumps({"text": text}) + "\n" for text in REVIEWS), encoding="utf-8")
    predicted = subprocess.run(
        [CLI, "predict", "--model", model, "--input", str(jsonl), "--format", "jsonl"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    expected = {
        json.loads(line)["text"]: json.loads(line)["probability"] for line in predicted.stdout.splitlines()
    }
    assert list(expected) == REVIEWS

    (tmp_path / "reviews.txt").write_text("".join(f"{t}\n" for t in REVIEWS), encoding="utf-8")
    _write_tfrecords(tmp_path / "reviews.tfrecord", [_example(text=t.encode()) for t in REVIEWS])
    files = {f"test/pos/{i}_9.txt": text.encode() for i, text in enumerate(REVIEWS)}
    write_archive(tmp_path / "reviews.tar.gz", files)
    inputs = {
        # Both cores: the direct runner with two worker processes.
        "reviews.txt": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        "reviews.jsonl": [],
        "reviews.tfrecord": [],
        "reviews.tar.gz": [],
    }
    for name, beam_flags in inputs.items():
        out = tmp_path / f"scored-{name}"
        done = _score_cli("--model", model, "--input", name, "--output", str(out), *beam_flags, cwd=tmp_path)
        assert done.returncode == 0, (name, done.stderr[-3000:])
        rows = score_outputs.read_predictions(str(out))
        if name == "reviews.tar.gz":
            got = {REVIEWS[int(row["id"].split("/")[-1].split("_")[0])]: row["probability"] for row in rows}
        else:
            position = "record" if name.endswith("tfrecord") else "line"
            got = {REVIEWS[row[position] - 1]: row["probability"] for row in rows}
        assert got.keys() == expected.keys(), name
        for text, probability in expected.items():
            assert got[text] == pytest.approx(probability, abs=1e-6), (name, text)
        assert all(row["label"] == int(row["probability"] >= 0.5) for row in rows)


def test_the_readmes_dataflow_command_passes_its_flags_to_beam():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bulk scoring on Beam", 1)[1].split("\n## ", 1)[0]
    (command,) = [
        block.replace("\\\n", " ")
        for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
        if "DataflowRunner" in block
    ]
    argv = shlex.split(command)[1:]
    parser = cli.build_parser()
    args, unknown = parser.parse_known_args(argv)
    assert (args.command, args.model, args.input) == (
        "score",
        "gs://my-bucket/imdb/serving/imdb_sentiment",
        "gs://my-bucket/aclImdb_v1.tar.gz",
    )
    beam_args = cli.split_beam_args(unknown, cli._commands(parser)["score"])
    options = PipelineOptions(beam_args)
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.temp_location) == (
        "my-project",
        "europe-west1",
        "gs://my-bucket/tmp",
    )
    assert options.view_as(SetupOptions).setup_file == "./setup.py"
    assert options.view_as(PipelineOptions).get_all_options()["runner"] == "DataflowRunner"


def test_a_failed_jobs_clean_up_removes_only_what_it_added(tmp_path):
    """run_score called without the command's output check: a user's file already in the folder survives a failure."""
    output = tmp_path / "out"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    (output / "predictions-00000-of-00001.jsonl").write_bytes(b"partial")
    (output / "quarantine").mkdir()
    (output / "quarantine" / "quarantine-00000-of-00001.jsonl").write_text("partial")
    score._remove_partial_output(str(output), {"notes.txt"})
    assert [path.name for path in output.iterdir()] == ["notes.txt"]
    assert (output / "notes.txt").read_text() == "mine"

    made_by_the_job = tmp_path / "new"
    made_by_the_job.mkdir()
    (made_by_the_job / "predictions-00000-of-00001.jsonl").write_bytes(b"partial")
    score._remove_partial_output(str(made_by_the_job), None)
    assert not made_by_the_job.exists()


def _job_leftovers(folder: Path) -> None:
    """What a failed job leaves in ``folder``: shards, its summary, Beam's temporary folders, the quarantine."""
    (folder / "predictions-00000-of-00002.jsonl").write_text("partial")
    (folder / "predictions-00001-of-00002.tfrecord.gz").write_bytes(b"partial")
    (folder / "summary.json").write_text("{}")
    (folder / "beam-temp-predictions-0a1b").mkdir()
    (folder / "beam-temp-predictions-0a1b" / "0a1b.jsonl").write_text("partial")
    (folder / "quarantine" / "beam-temp-quarantine-2c3d").mkdir(parents=True)
    (folder / "quarantine" / "quarantine-00000-of-00001.jsonl").write_text("partial")


@pytest.mark.parametrize("existed", [None, set()], ids=["new-folder", "existing-empty-folder"])
def test_a_failed_jobs_clean_up_keeps_files_someone_else_added_while_it_ran(tmp_path, existed):
    """The folder was new or empty when the job started; files put there meanwhile by someone else stay."""
    output = tmp_path / "out"
    output.mkdir()
    _job_leftovers(output)
    (output / "user-notes.txt").write_text("precious")
    (output / "predictions-draft.txt").write_text("mine too")  # not a name the job writes
    (output / "quarantine" / "reviewed.txt").write_text("checked by hand")
    score._remove_partial_output(str(output), existed)
    assert sorted(str(path.relative_to(output)) for path in output.rglob("*")) == [
        "predictions-draft.txt",
        "quarantine",
        "quarantine/reviewed.txt",
        "user-notes.txt",
    ]
    assert (output / "user-notes.txt").read_text() == "precious"

    only_the_jobs = tmp_path / "only-the-jobs"
    only_the_jobs.mkdir()
    _job_leftovers(only_the_jobs)
    score._remove_partial_output(str(only_the_jobs), existed)
    assert (only_the_jobs.exists(), list(only_the_jobs.glob("*"))) == (
        (False, []) if existed is None else (True, [])
    )


@pytest.mark.parametrize("make_folder", [False, True], ids=["new-folder", "existing-empty-folder"])
def test_a_failed_job_keeps_a_file_put_in_its_output_while_it_ran(
    length_model, tmp_path, monkeypatch, make_folder
):
    """A real job that fails on a truncated gzip file: a user's file, put there as it fails, survives its clean-up."""
    source = tmp_path / "reviews.txt.gz"
    data = gzip.compress("".join(f"review {number}\n" for number in range(2_000)).encode())
    source.write_bytes(data[: len(data) // 2])
    output = tmp_path / "scored"
    if make_folder:
        output.mkdir()
    left_by_the_job = []
    clean_up = score._remove_partial_output

    def plant_then_clean_up(folder: str, existed):
        left_by_the_job.extend(sorted(path.name for path in Path(folder).iterdir()))
        (Path(folder) / "user-notes.txt").write_text("precious")
        clean_up(folder, existed)

    monkeypatch.setattr(score, "_remove_partial_output", plant_then_clean_up)
    job = score.ScoreJob(str(length_model / "7"), str(source), score.resolve_input(str(source)), str(output))
    with pytest.raises(score.ScoreInputError, match="truncated or damaged gzip file"):
        score.run_score(job, [f"--runner={BEAM_RUNNER}"])
    assert any(name.startswith("beam-temp-") for name in left_by_the_job), left_by_the_job
    assert [path.name for path in output.iterdir()] == ["user-notes.txt"]
    assert (output / "user-notes.txt").read_text() == "precious"


@pytest.mark.parametrize("kept", [False, True])
def test_a_failed_job_removes_the_parent_folders_it_made_and_only_those(tmp_path, monkeypatch, kept):
    """--output new/x/y, none of which existed: a failure removes y, then new/x and new if nothing else is in them."""
    output = tmp_path / "new" / "x" / "y"
    if kept:
        (tmp_path / "new").mkdir()
        (tmp_path / "new" / "notes.txt").write_text("mine")  # there before: new/ stays, new/x goes

    def failing(pipeline, job):
        Path(job.output).mkdir(parents=True)  # as Beam's file writers do
        (Path(job.output) / "summary.json").write_text("{}")
        raise RuntimeError("the job failed")

    monkeypatch.setattr(score, "build_score_pipeline", failing)
    job = score.ScoreJob("model", "in.txt", score.ScoreInput("lines", "in.txt"), str(output))
    with pytest.raises(RuntimeError, match="the job failed"):
        score.run_score(job, [])
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")) == (
        ["new", "new/notes.txt"] if kept else []
    )


def test_an_empty_folder_as_tfrecord_input_is_an_input_error(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)  # a folder of folders holds no TFRecord either
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(tmp_path / "empty"), "tfrecord")
    assert (
        str(error.value) == f"--input {tmp_path / 'empty'} is a folder without files: no TFRecords to score"
    )


@pytest.mark.parametrize("in_folder", [False, True])
def test_tfrecords_in_a_compression_other_than_gzip_are_an_input_error(tmp_path, in_folder):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.tfrecord").write_bytes(b"")
    (folder / "b.tfrecord.bz2").write_bytes(b"BZh9")
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(folder if in_folder else folder / "b.tfrecord.bz2"))
    assert str(error.value) == (
        f"--input {folder / 'b.tfrecord.bz2'}: bzip2 compressed input cannot be scored; use gzip (.gz) or none"
    )
    # Plain and gzip files of one folder are read each by its own suffix.
    (folder / "b.tfrecord.bz2").unlink()
    (folder / "c.tfrecord.GZ").write_bytes(b"")
    assert score.resolve_input(str(folder)).kind == score.TFRECORD


SHARDS = ["part-00000-of-00002.tfrecord.gz", "part-00001-of-00002.tfrecord.gz"]
# What Spark and Beam jobs leave beside their shards, and a note: none of them is a TFRecord file.
BESIDE_SHARDS = [".part-00000-of-00002.tfrecord.gz.crc", "README.md", "_SUCCESS", "notes.txt.bz2"]


@pytest.mark.parametrize(
    ("input_format", "not_read"),
    [("auto", BESIDE_SHARDS), ("tfrecord", [BESIDE_SHARDS[0], BESIDE_SHARDS[2]])],
)
def test_a_folder_of_tfrecord_shards_is_read_without_the_files_beside_them(tmp_path, input_format, not_read):
    """auto reads the names holding 'tfrecord' (a ``*tfrecord*`` glob); no input reads a name starting with
    ``_`` or ``.`` (Hadoop's rule: ``_SUCCESS``, ``.crc``). Before: auto refused the whole folder."""
    folder = tmp_path / "records"
    folder.mkdir()
    for name in SHARDS:
        _write_tfrecords(folder / name, [_example(text=b"great")])
    for name in BESIDE_SHARDS[:-1] if input_format == "tfrecord" else BESIDE_SHARDS:
        (folder / name).write_bytes(b"not a record")
    source = score.resolve_input(str(folder), input_format)
    assert source == score.ScoreInput(
        score.TFRECORD, f"{folder}/*", (str(folder), str(folder)), tuple(not_read), input_format
    )
    assert [source.reads(FileMetadata(str(folder / name), 1)) for name in [*SHARDS, *BESIDE_SHARDS]] == [
        True,
        True,
        *(name not in not_read for name in BESIDE_SHARDS),
    ]


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (["_SUCCESS"], "_SUCCESS starts"),
        (["_SUCCESS", ".part-0.crc"], ".part-0.crc, _SUCCESS start"),
        (
            [f".part-{n}.crc" for n in range(7)],
            ".part-0.crc, .part-1.crc, .part-2.crc, .part-3.crc, .part-4.crc and 2 more start",
        ),
    ],
)
def test_a_folder_of_names_that_are_never_read_is_refused_naming_them(tmp_path, names, shown):
    for name in names:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(tmp_path), "tfrecord")
    assert (
        str(error.value)
        == f"--input {tmp_path} holds no TFRecord files: {shown} with _ or ., which are never read"
    )


def test_an_auto_folder_whose_tfrecord_names_all_start_with_an_underscore_or_dot_is_refused_naming_them(
    tmp_path,
):
    """Before: refused as 'neither an IMDb dataset nor a folder of TFRecord files (names with 'tfrecord')'."""
    for name in ["_part-0.tfrecord", ".part-0.tfrecord.crc", "README.md"]:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(tmp_path))
    assert str(error.value) == (
        f"--input {tmp_path} holds no TFRecord files: .part-0.tfrecord.crc, _part-0.tfrecord start with _ or ., "
        "which are never read"
    )


@pytest.mark.parametrize(
    ("not_read", "described"),
    [
        ([], "set aside 0"),
        (["_SUCCESS"], "set aside 0, not read 1 file (_SUCCESS)"),
        (["READ\nME", "a\\b.crc"], "set aside 0, not read 2 files (READ\\nME, a\\\\b.crc)"),
        ([f"{n}.crc" for n in range(5)], "set aside 0, not read 5 files (0.crc, 1.crc, 2.crc, 3.crc, 4.crc)"),
        (
            [f"{n}.crc" for n in range(6)],
            "set aside 0, not read 6 files (0.crc, 1.crc, 2.crc, 3.crc, 4.crc and 1 more)",
        ),
        (
            [f"{n:04}.crc" for n in range(1200)],
            "set aside 0, not read 1,200 files (0000.crc, 0001.crc, 0002.crc, 0003.crc, 0004.crc and 1,195 more)",
        ),
    ],
)
def test_the_summary_line_names_at_most_five_files_not_read(not_read, described):
    summary = score.ScoreSummary("model/7", "in", score.TFRECORD, 2, {}, not_read)
    assert summary.describe() == described


@pytest.mark.parametrize(
    ("not_read", "folders", "described"),
    [
        (["sub"], ["sub"], "set aside 0, not read 1 folder (sub/)"),
        (
            ["a.txt", "b.txt", "sub"],
            ["sub"],
            "set aside 0, not read 2 files and 1 folder (a.txt, b.txt, sub/)",
        ),
        (["_SUCCESS", "x", "y"], ["x", "y"], "set aside 0, not read 1 file and 2 folders (_SUCCESS, x/, y/)"),
    ],
)
def test_the_summary_line_names_a_subfolder_not_read_as_a_folder(not_read, folders, described):
    """Before: a subfolder was counted and named as a file (``not read 1 file (sub)``)."""
    summary = score.ScoreSummary("model/7", "in", score.TFRECORD, 2, {}, not_read, folders)
    assert summary.describe() == described


def test_a_remote_subfolder_is_named_as_a_local_one(monkeypatch):
    """A remote file system may list a folder as ``sub/``: its name is ``sub`` as a local listing gives it."""

    class Listing:
        def walk(self, folder):
            yield folder, ["sub/", "b/"], ["a.tfrecord"]

    monkeypatch.setattr(score, "_gfile", Listing)
    assert score._file_names("gs://bucket/in") == (["a.tfrecord"], ["b", "sub"], [])


def test_a_fifo_a_dangling_link_or_a_link_to_a_fifo_in_a_tfrecord_folder_is_refused_naming_each(tmp_path):
    """Before: each was counted a file, and opening the FIFO waited for a writer forever."""
    folder = tmp_path / "records"
    folder.mkdir()
    _write_tfrecords(folder / "real.tfrecord", [_example(text=b"great")])
    (folder / "linked.tfrecord").symlink_to(folder / "real.tfrecord")
    os.mkfifo(folder / "a.tfrecord")
    (folder / "b.tfrecord").symlink_to(tmp_path / "gone")
    os.mkfifo(tmp_path / "fifo")
    (folder / "c.tfrecord").symlink_to(tmp_path / "fifo")
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(folder))
    assert str(error.value) == (
        f"--input {folder} holds what is no file, which score never opens: {folder}/a.tfrecord (a FIFO), "
        f"{folder}/b.tfrecord (a symbolic link to nowhere), {folder}/c.tfrecord (a FIFO); move it out of the folder"
    )
    for name in ["a.tfrecord", "b.tfrecord", "c.tfrecord"]:
        (folder / name).unlink()
    assert score.resolve_input(str(folder), "tfrecord") == score.ScoreInput(
        score.TFRECORD, f"{folder}/*", (str(folder), str(folder)), (), "tfrecord"
    )
    # Beside an IMDb dataset, whose top-level files are never read, a FIFO is no matter.
    write_dataset(tmp_path / "aclImdb", IMDB_FILES)
    assert score.resolve_input(str(tmp_path)).kind == score.IMDB


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    names=st.sets(
        st.tuples(
            st.sampled_from(["", "_", "."]),
            st.sampled_from(["part-0", "data_TFRecord-1", "x.tfrecord", "README", "b"]),
            st.sampled_from(["", ".gz", ".crc", ".md"]),
        ).map("".join),
        min_size=1,
        max_size=6,
    )
)
def test_auto_reads_the_tfrecord_names_of_a_folder_and_names_every_other_file(names):
    with tempfile.TemporaryDirectory() as directory:
        for name in names:
            Path(directory, name).write_bytes(b"")
        read = sorted(name for name in names if name[0] not in "_." and "tfrecord" in name.lower())
        try:
            source = score.resolve_input(directory)
        except score.ScoreInputError as error:
            assert not read
            # A name holding 'tfrecord' that starts with _ or . is named as never read.
            hidden = [name for name in names if "tfrecord" in name.lower()]
            assert ("holds no TFRecord files" if hidden else "neither an IMDb dataset") in str(error)
            assert all(name in str(error) for name in hidden) or len(names) > 5
            return
    assert source.not_read == tuple(sorted(names - set(read)))
    assert sorted(name for name in names if source.reads(FileMetadata(f"{directory}/{name}", 0))) == read


def test_the_command_says_which_files_of_the_input_folder_it_did_not_read(length_model, tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    for name in SHARDS:
        _write_tfrecords(folder / name, [_example(text=b"great")])
    for name in BESIDE_SHARDS:
        (folder / name).write_bytes(b"not a record")
    done = _score_cli("--model", str(length_model), "--input", "records", "--output", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == (
        f"scored 2 reviews of records with {length_model}/7, set aside 0, not read 4 files "
        f"(.part-00000-of-00002.tfrecord.gz.crc, README.md, _SUCCESS, notes.txt.bz2): out\n"
    )
    assert json.loads((tmp_path / "out" / score.SUMMARY_FILE).read_text())["not_read"] == sorted(
        BESIDE_SHARDS
    )


@pytest.mark.parametrize("name", ["reviews.txt.bz2", "reviews.jsonl.ZST", "reviews.txt.deflate", "r.xz"])
@pytest.mark.parametrize("input_format", ["auto", "lines", "jsonl"])
def test_text_in_a_compression_other_than_gzip_is_an_input_error(tmp_path, name, input_format):
    """Beam would read it, but a truncated file would end quietly and be scored in part (exit 0)."""
    (tmp_path / name).write_bytes(bz2.compress(b"a fine film\n" * 100)[:40])
    with pytest.raises(score.ScoreInputError) as error:
        score.resolve_input(str(tmp_path / name), input_format)
    kind = CompressionTypes.detect_compression_type(name)
    assert str(error.value) == (
        f"--input {tmp_path / name}: {kind} compressed input cannot be scored; use gzip (.gz) or none"
    )
