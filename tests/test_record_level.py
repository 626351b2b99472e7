"""Record-level problems stay record-level: one review file never stops the run.

Every value the reader puts into a tf.Example is checked against the raw
schema's type and range (``schemas/raw_schema.pbtxt``) before it leaves the
reader, so an id beyond int64 is set aside (``out_of_range``) instead of
failing the whole Beam job with ``Value out of range``. A review whose urls
line is missing or holds no IMDb title id keeps no movie id, and the run says
how many there are, why, and where the train/eval cut put them.

The named cases are tested exactly; generated file names and contents
(hypothesis) go through the real reader, from a folder and from an archive.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
from pathlib import Path
import tarfile
import tempfile

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
import pytest

from components.artifacts import quarantine
from components.artifacts.quarantine import QuarantinedRecord
from components.example_gen import quarantining, reader
from components.example_gen.errors import BadRecordError
from components.example_gen.options import ExampleGenOptions
from components.example_gen.reader import Review
from schemas import features
from tests.conftest import BEAM_RUNNER
from tests.imdb_files import (
    EVAL_PERCENT,
    GOOD_FILES,
    GOOD_REVIEWS,
    GOOD_SPLITS,
    bytes_of_shown,
    examples_dir,
    quarantine_lines,
    reason_properties,
    record_of_line,
    run_example_gen,
    split_sources,
    url,
    urls_file,
    write_archive,
    write_dataset,
)

INT64_MAX = 2**63 - 1
MAX = ExampleGenOptions().max_review_bytes
LENIENT = ExampleGenOptions(max_bad_share=1.0)


def text_bucket(text: bytes) -> int:
    """The documented split rule for a review without a movie id, written out independently."""
    return int(hashlib.sha256(b"text:" + text).hexdigest(), 16) % 100


# --- the rule: every value against the raw schema ---------------------------------------------------


def test_int_feature_ranges_are_the_raw_schemas_within_int64():
    assert reader.int_feature_ranges() == {
        features.LABEL: (0, 1),
        features.REVIEW_ID: (0, INT64_MAX),
        features.RATING: (0, 10),
    }


def _range_problem(name: str, shown: str, low: int, high: int) -> str:
    return f"{name} {shown} is outside the range of the raw schema's {name} feature ({low} to {high})"


@pytest.mark.parametrize(
    ("name", "reason", "problem"),
    [
        ("99999999999999999999999_8.txt", quarantine.OUT_OF_RANGE, _range_problem("review_id", "99999999999999999999999", 0, INT64_MAX)),
        ("9223372036854775808_8.txt", quarantine.OUT_OF_RANGE, _range_problem("review_id", "9223372036854775808", 0, INT64_MAX)),
        ("00000000000000000000009223372036854775808_8.txt", quarantine.OUT_OF_RANGE, _range_problem("review_id", "9223372036854775808", 0, INT64_MAX)),
        ("1_99999999999999999999999.txt", quarantine.OUT_OF_RANGE, _range_problem("rating", "99999999999999999999999", 0, 10)),
        # More digits than int() parses by default (4,300): refused before parsing.
        ("1" * 5000 + "_8.txt", quarantine.OUT_OF_RANGE, _range_problem("review_id", "11111111111111111111… (5,000 digits)", 0, INT64_MAX)),
        ("1_11.txt", quarantine.RATING_CONTRADICTS_FOLDER, "rating 11 contradicts folder 'pos' (pos needs a rating of 7-10)"),
        # Digits of other scripts are digits to int(), not to a file name of the dataset.
        ("٣_٨.txt", quarantine.BAD_FILE_NAME, "review file name must be <id>_<rating>.txt, got '٣_٨.txt'"),
        ("\uff11_\uff18.txt", quarantine.BAD_FILE_NAME, "review file name must be <id>_<rating>.txt, got '\uff11_\uff18.txt'"),  # fullwidth digits
        ("-1_8.txt", quarantine.BAD_FILE_NAME, "review file name must be <id>_<rating>.txt, got '-1_8.txt'"),
    ],
)  # fmt: skip
def test_values_outside_the_schema_are_a_bad_record_naming_the_feature(name, reason, problem):
    with pytest.raises(BadRecordError) as error:
        reader.parse_review_path(f"aclImdb/train/pos/{name}")
    assert (error.value.reason, error.value.problem) == (reason, problem)


@pytest.mark.parametrize(
    ("name", "review_id", "rating"),
    [("9223372036854775807_8.txt", INT64_MAX, 8), ("007_08.txt", 7, 8), ("0_10.txt", 0, 10)],
)
def test_values_at_the_edges_of_the_schema_are_kept(name, review_id, rating):
    parsed = reader.parse_review_path(f"aclImdb/train/pos/{name}")
    assert (parsed.review_id, parsed.rating) == (review_id, rating)
    # ...and become an example: protobuf's int64 takes them.
    review = Review(parsed.source, "train", "pos", review_id, rating, "ok")
    example = reader.to_tf_example(review)
    assert example.features.feature[features.REVIEW_ID].int64_list.value == [review_id]


def test_check_feature_values_covers_strings_and_negative_numbers():
    with pytest.raises(BadRecordError) as error:
        reader.check_feature_values({features.SOURCE: "train/pos/\udcff.txt"}, "f")
    assert (error.value.reason, str(error.value)) == (
        quarantine.INVALID_UTF8,
        "f: source is not valid UTF-8 (surrogates not allowed at character 10)",
    )
    with pytest.raises(BadRecordError) as error:
        reader.check_feature_values({features.REVIEW_ID: -1}, "f")
    assert str(error.value) == "f: " + _range_problem("review_id", "-1", 0, INT64_MAX)
    reader.check_feature_values({features.LABEL: 1, features.SOURCE: "train/pos/0_9.txt"}, "f")


# --- the named case, through the whole step ---------------------------------------------------------

HUGE_ID = "train/pos/99999999999999999999999_8.txt"
EDGE_ID = f"train/neg/{INT64_MAX}_2.txt"


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "archive"])
def test_an_id_beyond_int64_is_set_aside_and_the_run_goes_on(tmp_path, packed):
    files = {**GOOD_FILES, HUGE_ID: b"Great fun.", EDGE_ID: b"Terrible plot."}
    if packed:
        data = write_archive(tmp_path / "aclImdb.tar.gz", files)
        source, member = str(data), f"aclImdb/{HUGE_ID}"
    else:
        data = write_dataset(tmp_path / "aclImdb", files)
        source, member = f"{data}/{HUGE_ID}", None

    examples = run_example_gen(tmp_path, data, LENIENT)

    assert quarantine_lines(examples.uri) == [
        {
            "source": source,
            "member": member,
            "reason": "out_of_range",
            "detail": _range_problem("review_id", "99999999999999999999999", 0, INT64_MAX),
            "size": 10,
            "raw_base64": "R3JlYXQgZnVuLg==",
            "raw_truncated": False,
        }
    ]
    assert reason_properties(examples) == {"reviews_read": 9, "quarantined": 1, "quarantined_out_of_range": 1}
    # The review at the edge of int64 is an example like any other (no urls line: cut by its text).
    edge_split = features.EVAL if text_bucket(b"Terrible plot.") < EVAL_PERCENT else features.TRAIN
    written = {split: split_sources(examples, split) for split in GOOD_SPLITS}
    assert written == {**GOOD_SPLITS, edge_split: sorted([*GOOD_SPLITS[edge_split], EDGE_ID])}


# --- urls lines: missing or without a title id ------------------------------------------------------

# train/urls_pos.txt stops after line 0 (1_7.txt has no line), line 2 of
# train/urls_neg.txt holds no title id (2_4.txt), there is no test/urls_neg.txt (0_2.txt).
SHORT_URLS = {
    **{name: data for name, data in GOOD_FILES.items() if name != "test/urls_neg.txt"},
    "train/urls_pos.txt": urls_file("tt0000001"),
    "train/urls_neg.txt": urls_file("tt0000001", "tt0000004") + b"http://www.imdb.com/title/\n",
}


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "archive"])
def test_reviews_without_a_movie_id_are_counted_and_reported(tmp_path, packed, caplog):
    if packed:
        data = write_archive(tmp_path / "aclImdb.tar.gz", SHORT_URLS)
        origin = {name: f"{data} (member aclImdb/{name})" for name in GOOD_FILES}
    else:
        data = write_dataset(tmp_path / "aclImdb", SHORT_URLS)
        origin = {name: f"{data}/{name}" for name in GOOD_FILES}
    # Without a movie, the text decides the side of the cut.
    split_of = {
        name: features.EVAL if text_bucket(GOOD_FILES[name]) < EVAL_PERCENT else features.TRAIN
        for name in ("train/pos/1_7.txt", "train/neg/2_4.txt")
    }
    assert split_of == {"train/pos/1_7.txt": features.TRAIN, "train/neg/2_4.txt": features.TRAIN}

    with caplog.at_level(logging.WARNING, logger="components.example_gen.executor"):
        examples = run_example_gen(tmp_path, data)

    assert split_sources(examples, features.TRAIN) == sorted(
        [*GOOD_SPLITS[features.TRAIN], "train/pos/1_7.txt"]
    )
    assert split_sources(examples, features.EVAL) == ["train/neg/1_3.txt"]
    summary = quarantine.read_summary(f"{examples.uri}/quarantine")
    assert summary.no_movie_id == {
        features.TRAIN: {reader.NO_URLS_LINE: 1, reader.NO_TITLE_ID: 1},
        features.TEST: {reader.NO_URLS_LINE: 1},
    }
    assert summary.no_movie_id_samples == {
        reader.NO_URLS_LINE: tuple(sorted([origin["test/neg/0_2.txt"], origin["train/pos/1_7.txt"]])),
        reader.NO_TITLE_ID: (origin["train/neg/2_4.txt"],),
    }
    assert examples.get_int_custom_property(quarantine.NO_MOVIE_ID_PROPERTY) == 3
    # Not bad records: nothing is set aside, the limits do not apply.
    assert quarantine_lines(examples.uri) == []
    no_urls_line = ", ".join(summary.no_movie_id_samples[reader.NO_URLS_LINE])
    assert [record.getMessage() for record in caplog.records] == [
        f"ExampleGen: 3 reviews have no movie id (no_urls_line 2: {no_urls_line}; "
        f"urls_line_without_title_id 1: {origin['train/neg/2_4.txt']}); the train/eval cut groups each "
        "of them by its own text instead of its movie: train 2, eval 0, test 1, unsup 0 "
        f"(see {examples_dir(tmp_path)}/quarantine)"
    ]


def test_a_dataset_without_urls_files_is_cut_by_text_and_says_so(tmp_path, caplog):
    files = {name: data for name, data in GOOD_FILES.items() if "urls_" not in name}
    data = write_dataset(tmp_path / "aclImdb", files)

    with caplog.at_level(logging.WARNING, logger="components.example_gen.executor"):
        examples = run_example_gen(tmp_path, data)

    summary = quarantine.read_summary(f"{examples.uri}/quarantine")
    expected = {}
    for name, text in files.items():
        split_dir, folder, _ = name.split("/")
        if folder == reader.UNSUP:
            split = features.UNSUP
        elif split_dir == reader.TEST_DIR:
            split = features.TEST
        else:
            split = features.EVAL if text_bucket(text) < EVAL_PERCENT else features.TRAIN
        expected.setdefault(split, {reader.NO_URLS_LINE: 0})[reader.NO_URLS_LINE] += 1
    assert summary.no_movie_id == expected
    assert summary.reviews_without_movie_id == 8
    assert len(caplog.records) == 1
    assert (
        caplog.records[0].getMessage().startswith("ExampleGen: 8 reviews have no movie id (no_urls_line 8: ")
    )


def test_an_unreadable_urls_file_gives_its_reviews_no_movie_id(tmp_path):
    files = {name: data for name, data in GOOD_FILES.items() if name != "train/urls_unsup.txt"}
    root = write_dataset(tmp_path / "aclImdb", files)
    (root / "train" / "urls_unsup.txt").mkdir()  # a folder where the file should be

    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        reviews = (pipeline | reader.ReadImdbReviews(str(root / "*/*/*.txt")))[reader.REVIEWS]
        unsup = reviews | "Unsup" >> beam.Filter(lambda review: review.folder == reader.UNSUP)
        assert_that(
            unsup | "Why" >> beam.Map(lambda review: (review.source, review.movie_id, review.no_movie_id)),
            equal_to([("train/unsup/0_0.txt", None, reader.NO_URLS_LINE)]),
        )


def test_a_urls_file_that_is_a_fifo_is_not_opened_and_its_reviews_get_no_movie_id(tmp_path, caplog):
    """Opening a FIFO waits for a writer forever: the whole ingest hung in ReadUrlsFiles."""
    files = {name: data for name, data in GOOD_FILES.items() if name != "train/urls_unsup.txt"}
    root = write_dataset(tmp_path / "aclImdb", files)
    fifo = root / "train" / "urls_unsup.txt"
    os.mkfifo(fifo)

    with (
        caplog.at_level(logging.WARNING, logger="components.example_gen.reader"),
        TestPipeline(runner=BEAM_RUNNER) as pipeline,
    ):
        reviews = (pipeline | reader.ReadImdbReviews(str(root / "*/*/*.txt")))[reader.REVIEWS]
        unsup = reviews | "Unsup" >> beam.Filter(lambda review: review.folder == reader.UNSUP)
        assert_that(
            unsup | "Why" >> beam.Map(lambda review: (review.source, review.movie_id, review.no_movie_id)),
            equal_to([("train/unsup/0_0.txt", None, reader.NO_URLS_LINE)]),
        )
    assert f"ExampleGen: {fifo} is a FIFO, not read; its reviews get no movie id" in [
        record.getMessage() for record in caplog.records
    ]


def test_an_old_summary_without_movie_id_counts_still_reads():
    summary = quarantine.IngestSummary.from_json(
        '{"counts": {}, "reviews_read": 3, "samples": {}, "split_folders": {}}'
    )
    assert (
        summary.no_movie_id,
        summary.reviews_without_movie_id,
        summary.describe_no_movie_id(["train"]),
    ) == (
        {},
        0,
        "",
    )


# --- generated names and contents through the real reader -------------------------------------------

FOLDERS = [
    *("train/pos", "train/neg", "train/unsup", "test/pos", "test/neg"),
    *("train/neutral", "dev/pos", "Train/Pos", "test/pos ", "a/b"),
]
# What a file name may hold on Linux: no "/" and no NUL; no lone surrogates (not encodable).
NAME_CHARACTERS = st.characters(codec="utf-8", exclude_characters="/\x00")


@st.composite
def review_names(draw) -> str:
    """File names ending in .txt: well-formed ones with any id and rating, and anything else."""
    name = draw(
        st.one_of(
            st.builds(
                "{}_{}.txt".format,
                st.integers(0, 10**25) | st.sampled_from([INT64_MAX, INT64_MAX + 1]),
                st.integers(0, 12) | st.integers(0, 10**25),
            ),
            st.builds(
                "{}{}_{}{}.txt".format,
                st.sampled_from(["", "0", "00", "-", "+", " "]),
                st.integers(0, 99),
                st.integers(0, 12),
                st.sampled_from(["", " ", "x", "٣"]),
            ),
            st.text(NAME_CHARACTERS, min_size=1, max_size=40).map(lambda stem: f"{stem}.txt"),
        )
    )
    # The file system's limits: a name of at most 255 bytes, not "." or "..", not hidden.
    if len(name.encode()) > 255 or name.startswith("."):
        name = "x.txt"
    return name


CONTENTS = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
    st.sampled_from(
        [b"", b" \n", b"<br /><br />", b"!!! ...", b"http://example.com/x", "Très bien — 很好".encode()]
    ),
)


def _read_one(path: str, size: int, max_bytes: int = MAX, archive: bool = False) -> list:
    """What the reader's DoFn yields for one matched file (a loose file, or an archive dataset)."""
    return list(reader._ReadMatchFn(max_bytes).process((FileMetadata(path, size), archive)))


def _outcome(outputs: list) -> tuple[str, str | None]:
    """("review", None) or ("set_aside", reason): exactly one of them per review file."""
    reviews = [output for output in outputs if not hasattr(output, "tag")]
    set_aside = [output.value for output in outputs if getattr(output, "tag", None) == reader.QUARANTINE]
    assert len(reviews) + len(set_aside) == 1, outputs
    if reviews:
        (_key, review) = reviews[0]
        # Becomes a tf.Example whose every integer is inside the raw schema's range.
        example = reader.to_tf_example(review)
        for name, (low, high) in reader.int_feature_ranges().items():
            for value in example.features.feature[name].int64_list.value:
                assert low <= value <= high
        example.SerializeToString()
        return "review", None
    record = set_aside[0]
    assert isinstance(record, QuarantinedRecord)
    assert record.reason in quarantine.BAD_INPUT_REASONS
    record.to_json_line()
    return "set_aside", record.reason


PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(folder=st.sampled_from(FOLDERS), name=review_names(), content=CONTENTS)
def test_any_review_file_becomes_an_example_or_a_reasoned_record_alike_in_a_folder_and_an_archive(
    folder, name, content
):
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        loose = root / "aclImdb" / folder / name
        loose.parent.mkdir(parents=True)
        loose.write_bytes(content)
        archive = root / "aclImdb.tar"
        with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(loose, arcname=f"aclImdb/{folder}/{name}")

        from_folder = _outcome(_read_one(str(loose), len(content)))
        from_archive = _outcome(_read_one(str(archive), archive.stat().st_size, archive=True))

    assert from_folder == from_archive


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    files=st.dictionaries(
        st.tuples(st.sampled_from(FOLDERS[:5]), review_names()).map("/".join),
        CONTENTS,
        min_size=1,
        max_size=6,
    ),
    urls=st.lists(
        st.sampled_from(
            [url("tt0000001").encode(), url("tt42").encode(), b"", b"http://www.imdb.com/title/", b"\xff"]
        ),
        max_size=4,
    ),
)
def test_a_generated_dataset_accounts_for_every_file_and_every_missing_movie_id(files, urls):
    with tempfile.TemporaryDirectory() as directory:
        root = write_dataset(Path(directory) / "aclImdb", files)
        lines = b"".join(line + b"\n" for line in urls)
        (root / "train").mkdir(exist_ok=True)
        (root / "train" / "urls_pos.txt").write_bytes(lines)
        movie_ids = reader.parse_movie_ids(lines)
        expected = {}
        for name, content in files.items():
            outcome = _outcome(_read_one(str(root / name), len(content)))
            if outcome[0] == "review":
                parsed = reader.parse_review_path(name)
                movie = None
                cause = reader.NO_URLS_LINE
                if (
                    parsed.split_dir == "train"
                    and parsed.folder == "pos"
                    and parsed.review_id < len(movie_ids)
                ):
                    movie = movie_ids[parsed.review_id]
                    cause = None if movie else reader.NO_TITLE_ID
                expected[name] = ("review", movie, cause)
            else:
                expected[name] = outcome

        with TestPipeline(runner=BEAM_RUNNER) as pipeline:
            read = pipeline | reader.ReadImdbReviews(str(root / "*/*/*.txt"))
            outcomes = (
                read[reader.REVIEWS]
                | "Reviews" >> beam.Map(lambda r: (r.source, ("review", r.movie_id, r.no_movie_id))),
                read[reader.QUARANTINE]
                | "SetAside"
                >> beam.Map(lambda q: (os.path.relpath(q.origin.path, root), ("set_aside", q.reason))),
            ) | "Merge" >> beam.Flatten()
            assert_that(outcomes, equal_to(list(expected.items())))


def test_a_member_name_that_is_not_utf8_is_set_aside_naming_it(tmp_path):
    """tarfile hands such a name over with surrogate escapes; the record's line shows the byte as ``\\xe9``,
    as the summary's samples and every message do (``quarantine.shown_name``)."""
    archive = tmp_path / "aclImdb.tar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/caf\xe9_8.txt")  # written as the Latin-1 byte 0xE9
        info.size = 5
        tar.addfile(info, io.BytesIO(b"Good."))

    (record,) = [output.value for output in _read_one(str(archive), archive.stat().st_size, archive=True)]

    assert (record.origin.member, record.reason, record.detail) == (
        "aclImdb/train/pos/caf\udce9_8.txt",
        quarantine.BAD_FILE_NAME,
        "review file name must be <id>_<rating>.txt, got 'caf\udce9_8.txt'",
    )
    line = record_of_line(record.to_json_line())
    assert (line.origin.member, line.detail) == (
        "aclImdb/train/pos/caf\\xe9_8.txt",
        "review file name must be <id>_<rating>.txt, got 'caf\\xe9_8.txt'",
    )
    assert str(record.origin) == f"{archive} (member aclImdb/train/pos/caf\\xe9_8.txt)"
    # A shown name is shown again as a name holding a backslash: distinct names show distinctly.
    assert record_of_line(line.to_json_line()).origin.member == "aclImdb/train/pos/caf\\\\xe9_8.txt"


@PROPERTY_SETTINGS
@given(
    name=st.lists(
        st.one_of(st.characters(), st.sampled_from(["\\", "\\x", "\n", "\udc80", "\udcff", "\x85", "\u2028"]))
    ).map("".join)
)
def test_a_shown_name_is_one_line_of_utf8_and_distinct_names_show_distinctly(name):
    shown = quarantine.shown_name(name)
    assert len(shown.splitlines()) <= 1 and shown == shown.strip("\r\n")
    assert shown.encode("utf-8").decode("utf-8") == shown
    assert bytes_of_shown(shown) == name.encode("utf-8", "surrogateescape")  # so names differ, shown too


def test_a_shown_name_escapes_as_ls_b_does():
    name = "a\\b\nc\td\re\x1b\x7f\udcff\x85\u2028\ud800é.txt"
    assert quarantine.shown_name(name) == "a\\\\b\\nc\\td\\re\\x1b\\x7f\\xff\\u0085\\u2028\\ud800é.txt"


@PROPERTY_SETTINGS
@given(
    name=st.binary(min_size=1, max_size=40).filter(
        lambda name: b"/" not in name and b"\0" not in name and name not in (b".", b"..")
    )
)
def test_a_file_name_of_any_bytes_is_one_string_in_the_quarantine_line_the_summary_and_messages(name):
    """Linux takes any byte but / and NUL in a name: the quarantine line, the summary's sample and the
    record's message show it alike, bytes that are not UTF-8 as ``\\xff``; without a backslash in it,
    the shown name gives the bytes back."""
    with tempfile.TemporaryDirectory() as directory:
        folder = os.path.join(os.fsencode(directory), b"aclImdb", b"train", b"pos")
        os.makedirs(folder)
        path = os.path.join(folder, name)
        with open(path, "wb") as file:
            file.write(b"Good.")
        outputs = _read_one(os.fsdecode(path), 5)
    set_aside = [output.value for output in outputs if getattr(output, "tag", None) == reader.QUARANTINE]
    assume(set_aside)  # not a review's name (<id>_<rating>.txt)
    (record,) = set_aside
    summary = quarantining._Summarize()
    facts = summary.add_input(summary.create_accumulator(), (("samples", record.reason), str(record.origin)))
    (sample,) = json.loads(summary.extract_output(facts))["samples"][record.reason]
    line = json.loads(record.to_json_line())
    shown = quarantine.shown_name(os.fsdecode(path))
    assert line["source"] == sample == str(record.origin) == shown
    assert line["detail"] == f"review file name must be <id>_<rating>.txt, got '{shown.rsplit('/', 1)[1]}'"
    assert bytes_of_shown(shown) == path


# --- the driver's input fingerprint -------------------------------------------------------------------


def test_a_broken_link_does_not_break_the_input_fingerprint(tmp_path):
    """TFX's own fingerprint stats through links: a broken one would fail the step before the reader runs."""
    from tfx.dsl.io import filesystem
    from tfx.proto import example_gen_pb2
    from tfx.utils import io_utils

    from components.example_gen import driver

    root = write_dataset(tmp_path / "aclImdb", GOOD_REVIEWS)
    pattern = str(root / "*/*/*.txt")
    # Without links: exactly TFX's fingerprint, so caching behaves as TFX's.
    assert driver.input_fingerprint("all", pattern) == io_utils.generate_fingerprint("all", pattern)

    (root / "train" / "pos" / "5_9.txt").symlink_to(root / "train" / "pos" / "missing.txt")
    # TFX's: an empty NotFoundError that names nothing.
    with pytest.raises(filesystem.NotFoundError):
        io_utils.generate_fingerprint("all", pattern)
    processor = driver.InputProcessor(
        str(root), [example_gen_pb2.Input.Split(name="all", pattern="*/*/*.txt")], None
    )
    assert processor.resolve_span_and_version() == (0, None)
    link = os.lstat(root / "train" / "pos" / "5_9.txt")
    files = {**GOOD_REVIEWS}
    mtimes = [int(os.stat(root / name).st_mtime) for name in files] + [link.st_mtime_ns // 10**9]
    xor = 0
    for mtime in mtimes:
        xor ^= mtime
    assert processor.get_input_fingerprint(0, None) == (
        f"split:all,num_files:{len(files) + 1},total_bytes:{sum(map(len, files.values())) + link.st_size},"
        f"xor_checksum:{xor},sum_checksum:{sum(mtimes)}"
    )


# --- nothing in a review folder is skipped, whatever its name or kind ------------------------------

# Names the data pattern (*.txt) misses, in review folders; and a folder where a review file would be.
MISSED_NAMES = {
    "train/pos/12_8.txt\n": b"Fine film.",
    "train/pos/88887_8.TXT": b"Loud.",
    "test/neg/notes": b"x",
}
A_FOLDER = "train/pos/88886_8.txt"


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "archive"])
def test_every_entry_of_a_review_folder_is_a_review_or_set_aside(tmp_path, packed):
    # Were left out silently: neither read nor set aside.
    files = {**GOOD_FILES, **MISSED_NAMES}
    if packed:
        folder = tarfile.TarInfo(f"aclImdb/{A_FOLDER}")
        folder.type = tarfile.DIRTYPE
        data = write_archive(tmp_path / "aclImdb.tar.gz", files, members=[(folder, None)])
        source, members = str(data), {name: f"aclImdb/{name}" for name in [*MISSED_NAMES, A_FOLDER]}
    else:
        data = write_dataset(tmp_path / "aclImdb", files)
        (data / A_FOLDER).mkdir()
        (data / A_FOLDER / "1_8.txt").write_bytes(b"Not read: below a review folder's entries.")
        source, members = None, dict.fromkeys([*MISSED_NAMES, A_FOLDER])

    examples = run_example_gen(tmp_path, data, LENIENT)

    def line(name: str, reason: str, detail: str, raw: bytes) -> dict:
        member = members[name] and members[name].replace("\n", "\\n")  # shown as `ls -b` shows it
        return {
            "source": source or f"{data}/{name}".replace("\n", "\\n"),
            "member": member,
            "reason": reason,
            "detail": detail,
            "size": len(raw),
            "raw_base64": base64.b64encode(raw).decode("ascii"),
            "raw_truncated": False,
        }

    def bad_name(name: str) -> dict:
        shown = name.rsplit("/", 1)[-1].replace("\n", "\\n")
        return line(
            name,
            "bad_file_name",
            f"review file name must be <id>_<rating>.txt, got '{shown}'",
            MISSED_NAMES[name],
        )

    expected = [
        bad_name("test/neg/notes"),
        bad_name("train/pos/12_8.txt\n"),
        line(A_FOLDER, "not_a_file", "a folder where a review file would be", b""),
        bad_name("train/pos/88887_8.TXT"),
    ]
    assert sorted(quarantine_lines(examples.uri), key=lambda q: q["member"] or q["source"]) == expected
    assert reason_properties(examples) == {
        "reviews_read": 8,
        "quarantined": 4,
        "quarantined_bad_file_name": 3,
        "quarantined_not_a_file": 1,
    }
    written = {split: split_sources(examples, split) for split in GOOD_SPLITS}
    assert written == GOOD_SPLITS
