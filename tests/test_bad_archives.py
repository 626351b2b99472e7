"""Bad archives: damage stops the run naming the archive and the member; hostile members are set aside.

Archives are streamed, never unpacked: a member is only ever read into memory,
so one named ``../x`` or ``/etc/x`` cannot write anywhere; it is set aside as
``unsafe_path``. Links are never followed.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
import random
import re
import subprocess
import sys
import tarfile
import zlib

from apache_beam.pvalue import TaggedOutput
from apache_beam.testing.test_pipeline import TestPipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest
import tensorflow as tf

from components.artifacts import quarantine
from components.example_gen import reader
from components.example_gen.component import dataset_input
from components.example_gen.errors import ImdbArchiveError
from components.example_gen.options import ExampleGenOptions
from components.options import OptionsError
from pipeline import preflight
from schemas import features
from tests.conftest import BEAM_RUNNER
from tests.imdb_files import (
    GOOD_FILES,
    GOOD_SPLITS,
    examples_dir,
    file_member,
    link_member,
    quarantine_lines,
    reason_properties,
    run_example_gen,
    special_member,
    split_sources,
    urls_file,
    write_archive,
    write_dataset,
)

LENIENT = ExampleGenOptions(max_bad_share=1.0)
EOF_MESSAGE = "EOFError: Compressed file ended before the end-of-stream marker was reached"
# A review long enough that a cut in the middle of the archive falls inside it.
LONG_REVIEW = " ".join(f"word{i % 997}" for i in range(60_000)).encode()


def read_archive(path: Path) -> None:
    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        _ = pipeline | reader.ReadImdbReviews(str(path))


def archive_error(path: Path) -> str:
    """The message of the ImdbArchiveError reading ``path`` raises, without Beam's step suffix."""
    with pytest.raises(ImdbArchiveError) as error:
        read_archive(path)
    return re.sub(r" \[while running '[^']*'\]$", "", str(error.value))


def headers(path: Path) -> dict[str, int]:
    """Member name -> offset of its header in the unpacked tar stream, read from an intact archive."""
    with tarfile.open(path) as archive:
        return {member.name: member.offset for member in archive.getmembers()}


def truncated_copy(path: Path, size: int, name: str) -> tuple[Path, int]:
    copy = path.with_name(name)
    copy.write_bytes(path.read_bytes()[:size])
    return copy, size


@pytest.fixture
def long_archives(tmp_path) -> dict[str, Path]:
    files = {**GOOD_FILES, "train/pos/5_9.txt": LONG_REVIEW}
    return {
        "gz": write_archive(tmp_path / "intact.tar.gz", files),
        "tar": write_archive(tmp_path / "intact.tar", files),
    }


# --- damaged archives stop the run --------------------------------------------------------------------


def test_gzip_archive_cut_inside_a_member_names_the_archive_and_the_member(long_archives):
    intact = long_archives["gz"]
    cut, size = truncated_copy(intact, intact.stat().st_size // 2, "cut.tar.gz")
    offset = headers(intact)["aclImdb/train/pos/5_9.txt"]

    assert archive_error(cut) == (
        f"{cut}: truncated or corrupt archive, in member aclImdb/train/pos/5_9.txt "
        f"(header at byte {offset:,} of the unpacked tar stream), {size:,} of {size:,} bytes read: {EOF_MESSAGE}"
    )


def test_gzip_archive_missing_its_trailer_fails_after_the_last_member(tmp_path):
    intact = write_archive(tmp_path / "intact.tar.gz", GOOD_FILES)
    # Every member is complete: only gzip's length and CRC trailer (8 bytes) is gone.
    cut, size = truncated_copy(intact, intact.stat().st_size - 8, "cut.tar.gz")
    last, offset = list(headers(intact).items())[-1]

    assert archive_error(cut) == (
        f"{cut}: truncated or corrupt archive, after member {last} (header at byte {offset:,} of the "
        f"unpacked tar stream), {size:,} of {size:,} bytes read: {EOF_MESSAGE}"
    )


def test_gzip_archive_with_a_wrong_checksum_is_corrupt(tmp_path):
    intact = write_archive(tmp_path / "intact.tar.gz", GOOD_FILES)
    data = intact.read_bytes()
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(data[:-8] + bytes(4) + data[-4:])
    last, offset = list(headers(intact).items())[-1]
    crc = zlib.crc32(gzip.decompress(data))

    assert archive_error(corrupt) == (
        f"{corrupt}: truncated or corrupt archive, after member {last} (header at byte {offset:,} of the "
        f"unpacked tar stream), {len(data):,} of {len(data):,} bytes read: "
        f"BadGzipFile: CRC check failed 0x0 != {crc:#x}"
    )


def test_plain_tar_cut_at_a_header_is_not_taken_for_a_smaller_archive(long_archives):
    """tarfile alone would end the member list quietly here and lose the rest."""
    intact = long_archives["tar"]
    offsets = headers(intact)
    cut, size = truncated_copy(intact, offsets["aclImdb/train/pos/1_7.txt"] + 100, "cut.tar")

    assert archive_error(cut) == (
        f"{cut}: truncated or corrupt archive, after member aclImdb/train/pos/0_9.txt (header at byte "
        f"{offsets['aclImdb/train/pos/0_9.txt']:,} of the unpacked tar stream), {size:,} of {size:,} bytes read: "
        f"ReadError: the tar stream ends at byte {offsets['aclImdb/train/pos/1_7.txt']:,} "
        "without an end-of-archive marker"
    )


def test_plain_tar_cut_inside_a_member(long_archives):
    intact = long_archives["tar"]
    offset = headers(intact)["aclImdb/train/pos/5_9.txt"]
    cut, size = truncated_copy(intact, offset + 512 + len(LONG_REVIEW) // 2, "cut.tar")

    assert archive_error(cut) == (
        f"{cut}: truncated or corrupt archive, in member aclImdb/train/pos/5_9.txt (header at byte "
        f"{offset:,} of the unpacked tar stream), {size:,} of {size:,} bytes read: "
        "ReadError: unexpected end of data"
    )


def test_a_damaged_member_header_is_an_error(long_archives):
    intact = long_archives["tar"]
    offsets = headers(intact)
    data = bytearray(intact.read_bytes())
    damaged_at = offsets["aclImdb/train/neg/0_1.txt"]
    data[damaged_at + 148 : damaged_at + 156] = b"9999999\0"  # the header checksum field
    damaged = intact.with_name("damaged.tar")
    damaged.write_bytes(bytes(data))

    message = archive_error(damaged)

    # tarfile reads a plain tar in records of tarfile.RECORDSIZE bytes.
    assert message == (
        f"{damaged}: truncated or corrupt archive, after member aclImdb/train/pos/1_7.txt (header at byte "
        f"{offsets['aclImdb/train/pos/1_7.txt']:,} of the unpacked tar stream), {tarfile.RECORDSIZE:,} of "
        f"{len(data):,} bytes read: ReadError: invalid member header at byte {damaged_at:,} (invalid header)"
    )


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("notes.tar.gz", b"this is not an archive\n", "BadGzipFile: Not a gzipped file (b'th')"),
        ("notes.tar", b"hello world\n" * 100, "ReadError: invalid header"),
        ("empty.tgz", b"", "ReadError: empty file"),
    ],
)
def test_a_file_that_is_not_an_archive(tmp_path, name, data, error):
    path = tmp_path / name
    path.write_bytes(data)
    message = archive_error(path)  # one Beam run
    assert message.startswith(f"{path}: truncated or corrupt archive, before its first member, ")
    assert message.endswith(error)


def test_a_truncated_archive_fails_the_step_and_uses_none_of_it(tmp_path, long_archives):
    intact = long_archives["gz"]
    cut, _ = truncated_copy(intact, intact.stat().st_size // 2, "cut.tar.gz")

    with pytest.raises(ImdbArchiveError, match=re.escape(f"{cut}: truncated or corrupt archive, in member")):
        run_example_gen(tmp_path, cut)
    # None of it: not one example file of any split (pathlib's glob also matches Beam's hidden temp files).
    assert [str(path) for path in examples_dir(tmp_path).glob("Split-*/**/*") if path.is_file()] == []


# --- hostile members are set aside, never written ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../etc/cron.d/evil", "member path '../../etc/cron.d/evil' climbs out of the archive with '..'"),
        ("aclImdb/train/pos/../../../x_9.txt", "member path 'aclImdb/train/pos/../../../x_9.txt' climbs out of the archive with '..'"),
        ("aclImdb\\..\\..\\x.txt", "member path 'aclImdb\\..\\..\\x.txt' climbs out of the archive with '..'"),
        ("/etc/passwd", "absolute member path '/etc/passwd'"),
        ("C:\\Windows\\evil.txt", "absolute member path 'C:\\Windows\\evil.txt'"),
        ("aclImdb/train/pos/0_9.txt", None),
        ("aclImdb/train/pos/..hidden_9.txt", None),
    ],
)  # fmt: skip
def test_unsafe_member_problem(name, problem):
    assert reader.unsafe_member_problem(name) == problem


def snapshot(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_members_that_escape_are_set_aside_and_nothing_is_written_outside_the_run(tmp_path, monkeypatch):
    absolute = tmp_path / "elsewhere" / "abs_9.txt"
    archive = write_archive(
        tmp_path / "data" / "hostile.tar.gz",
        GOOD_FILES,
        members=[
            file_member("../../escaped_9.txt", b"Escaped."),
            file_member("aclImdb/train/pos/../../../../up_9.txt", b"Up."),
            file_member(str(absolute), b"Absolute."),
            link_member("../../link_9.txt", "/etc/passwd"),
        ],
    )
    # Were a member unpacked relative to the working folder, it would land in tmp_path.
    workdir = tmp_path / "work" / "deep"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    before = snapshot(tmp_path)

    examples = run_example_gen(tmp_path, archive, LENIENT)

    written = snapshot(tmp_path) - before
    assert written and {path.split("/")[0] for path in written} == {"run"}, sorted(written)
    assert not absolute.exists() and not (tmp_path / "escaped_9.txt").exists()
    assert {split: split_sources(examples, split) for split in GOOD_SPLITS} == GOOD_SPLITS
    assert [
        (line["member"], line["reason"], line["raw_base64"]) for line in quarantine_lines(examples.uri)
    ] == [
        ("../../escaped_9.txt", "unsafe_path", "RXNjYXBlZC4="),
        ("../../link_9.txt", "unsafe_path", "L2V0Yy9wYXNzd2Q="),  # the link's target, "/etc/passwd"
        (str(absolute), "unsafe_path", "QWJzb2x1dGUu"),
        ("aclImdb/train/pos/../../../../up_9.txt", "unsafe_path", "VXAu"),
    ]
    assert quarantine_lines(examples.uri)[2]["detail"] == f"absolute member path '{absolute}'; never unpacked"
    assert reason_properties(examples) == {"reviews_read": 8, "quarantined": 4, "quarantined_unsafe_path": 4}


def test_link_and_special_members_are_set_aside_with_their_target(tmp_path):
    archive = write_archive(
        tmp_path / "links.tar",
        GOOD_FILES,
        members=[
            link_member("aclImdb/train/pos/7_9.txt", "/etc/passwd"),
            link_member("aclImdb/train/neg/7_1.txt", "aclImdb/train/neg/0_1.txt", tarfile.LNKTYPE),
            link_member("aclImdb/test/unsup", "/home"),
            special_member("aclImdb/train/pos/8_9.txt", tarfile.FIFOTYPE),
            special_member("aclImdb/dev", tarfile.CHRTYPE),
        ],
    )

    examples = run_example_gen(tmp_path, archive, LENIENT)

    assert [
        (line["member"], line["reason"], line["detail"], line["raw_base64"], line["size"])
        for line in quarantine_lines(examples.uri)
    ] == [
        ("aclImdb/dev", "special_file", "a character device, not a file", "", 0),
        ("aclImdb/test/unsup", "symlink", "symbolic link to '/home', never followed", "L2hvbWU=", 5),
        (
            "aclImdb/train/neg/7_1.txt",
            "hardlink",
            "hard link to 'aclImdb/train/neg/0_1.txt', never followed",
            "YWNsSW1kYi90cmFpbi9uZWcvMF8xLnR4dA==",
            25,
        ),
        ("aclImdb/train/pos/7_9.txt", "symlink", "symbolic link to '/etc/passwd', never followed", "L2V0Yy9wYXNzd2Q=", 11),
        ("aclImdb/train/pos/8_9.txt", "special_file", "a FIFO, not a file", "", 0),
    ]  # fmt: skip
    assert reason_properties(examples) == {
        "reviews_read": 8,
        "quarantined": 5,
        "quarantined_hardlink": 1,
        "quarantined_special_file": 2,
        "quarantined_symlink": 2,
    }
    assert {split: split_sources(examples, split) for split in GOOD_SPLITS} == GOOD_SPLITS


def test_members_outside_review_folders_are_ignored_not_set_aside(tmp_path):
    """The published archive's other files (README, imdb.vocab, *.feat, imdbEr.txt) are not reviews.

    They lie outside the review folders (``<train|test>/<pos|neg|unsup>/``); an
    entry inside one that is not a review file is set aside instead
    (``bad_file_name``, ``not_a_file``: tests/test_record_level.py).
    """
    others = {
        "README": b"Large Movie Review Dataset v1.0\n",
        "imdb.vocab": b"the\nand\n",
        "imdbEr.txt": b"0.1\n",
        "train/labeledBow.feat": b"0 0:1\n",
        "test/notes.md": b"not in a review folder",
    }
    archive = write_archive(tmp_path / "aclImdb.tar.gz", {**GOOD_FILES, **others})

    examples = run_example_gen(tmp_path, archive)

    assert quarantine_lines(examples.uri) == []
    assert reason_properties(examples) == {"reviews_read": 8, "quarantined": 0}
    assert quarantine.read_summary(f"{examples.uri}/quarantine").split_folders == {
        "train": {"pos": 1, "neg": 2},
        "eval": {"pos": 1, "neg": 1},
        "test": {"pos": 1, "neg": 1},
        "unsup": {"unsup": 1},
    }


def test_nothing_is_extracted_even_for_a_good_archive(tmp_path, monkeypatch):
    archive = write_archive(tmp_path / "data" / "aclImdb.tar.gz", GOOD_FILES)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    run_example_gen(tmp_path, archive)

    assert {path.split("/")[0] for path in snapshot(tmp_path) - before} == {"run"}
    assert not any("aclImdb" in path for path in os.listdir(tmp_path))


def _examples_by_source(examples) -> dict[str, tuple[str, str, str | None]]:
    """source -> (split, text, movie id) of every written example (one per source)."""
    found = {}
    for split in GOOD_SPLITS:
        files = sorted(tf.io.gfile.glob(f"{examples.uri}/Split-{split}/*"))
        for record in tf.data.TFRecordDataset(files, compression_type=""):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            movie = feature[features.MOVIE_ID].bytes_list.value if features.MOVIE_ID in feature else []
            source = feature[features.SOURCE].bytes_list.value[0].decode()
            assert source not in found, f"two examples of {source}"
            found[source] = (
                split,
                feature[features.TEXT].bytes_list.value[0].decode(),
                movie[0].decode() if movie else None,
            )
    return found


def test_members_of_one_name_are_read_as_tar_x_leaves_them(tmp_path):
    """``tar rf`` appends a member of a name the archive holds: ``tar x`` leaves the last. Before, both were
    read: two examples with one review id and source (``train/pos/0_9.txt``), and the urls file's
    movie ids were either member's. Now the last is read, the earlier review is set aside as
    ``duplicate``, and the archive gives the examples of its unpacked copy."""
    archive = write_archive(tmp_path / "updated.tar", GOOD_FILES)
    with tarfile.open(archive, "a") as appended:  # as tar rf does
        for name, data in (
            ("aclImdb/train/pos/0_9.txt", b"A wonderful film, second cut."),
            ("aclImdb/train/urls_pos.txt", urls_file("tt0000003", "tt0000004")),
        ):
            info, _ = file_member(name, data)
            appended.addfile(info, io.BytesIO(data))
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as whole:
        first_header, last_header = [m.offset for m in whole if m.name == "aclImdb/train/pos/0_9.txt"]
        whole.extractall(unpacked, filter="data")

    examples = run_example_gen(tmp_path / "archive", archive)
    from_folder = run_example_gen(tmp_path / "folder", unpacked / "aclImdb")

    by_source = _examples_by_source(examples)
    assert by_source["train/pos/0_9.txt"] == ("train", "A wonderful film, second cut.", "tt0000003")
    assert by_source == _examples_by_source(from_folder)
    assert [
        (line["source"], line["member"], line["reason"], line["detail"], line["raw_base64"])
        for line in quarantine_lines(examples.uri)
    ] == [
        (
            str(archive),
            "aclImdb/train/pos/0_9.txt",
            "duplicate",
            f"an earlier archive member of this name (header at byte {first_header:,} of the unpacked tar "
            f"stream): the last one (header at byte {last_header:,}) is read, as tar x leaves it",
            "QSB3b25kZXJmdWwgZmlsbS4=",  # A wonderful film.
        )
    ]
    assert reason_properties(examples) == {"reviews_read": 8, "quarantined": 1, "quarantined_duplicate": 1}


def _damaged_after_first_member() -> bytes:
    """A gzip file whose tar stream's second member header is overwritten: good until byte 1,024."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in ("aclImdb/train/pos/0_9.txt", "aclImdb/train/neg/0_1.txt"):
            info, data = file_member(name, b"A fine film. " * 10)
            archive.addfile(info, io.BytesIO(data))
    stream = bytearray(buffer.getvalue())
    stream[1024:1536] = b"\xff" * 512
    return gzip.compress(bytes(stream), mtime=0)


_RANDOM_BYTES = random.Random(5).randbytes(5000)
_DAMAGED = _damaged_after_first_member()


def _run(tmp_path: Path, data: Path) -> subprocess.CompletedProcess:
    """``imdb-pipeline run`` of this checkout, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--data", str(data), "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        (
            "junk.tar.gz",
            _RANDOM_BYTES,
            f"a gzip-compressed tar archive, before its first member (BadGzipFile: Not a gzipped file "
            f"({_RANDOM_BYTES[:2]!r}))",
        ),
        (
            "notes.tar.gz",
            b"not an archive\n",
            "a gzip-compressed tar archive, before its first member (BadGzipFile: Not a gzipped file (b'no'))",
        ),
        (
            "cut.tgz",
            _DAMAGED[:30],
            "a gzip-compressed tar archive, before its first member (EOFError: Compressed file ended before "
            "the end-of-stream marker was reached)",
        ),
        (
            "notes.tar",
            b"hello world\n" * 100,
            "a tar archive, before its first member (ReadError: invalid header)",
        ),
        ("empty.tar", b"", "a tar archive, before its first member (ReadError: empty file)"),
    ],
)
def test_pre_flight_refuses_a_file_that_is_no_archive(tmp_path, name, data, problem):
    """Before: pre-flight left every unreadable archive to the ExampleGen, so random bytes named
    ``.tar.gz`` failed the run (exit 1) after it had made the output's store and pipeline root."""
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(OptionsError) as raised:
        preflight._check_dataset(str(path))

    assert str(raised.value) == f"data: {path} cannot be read as {problem}; nothing was run"


def test_run_on_random_bytes_named_tar_gz_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(_RANDOM_BYTES)

    result = _run(tmp_path, path)

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: data: {path} cannot be read as a gzip-compressed tar "
        f"archive, before its first member (BadGzipFile: Not a gzipped file ({_RANDOM_BYTES[:2]!r})); "
        "nothing was run"
    )
    assert not (tmp_path / "out").exists()


def test_run_on_an_archive_damaged_after_its_first_member_fails_without_beams_step_name(tmp_path):
    """Pre-flight reads up to the first review; the damage after it stops the ExampleGen. Before: the
    run's last line (and the step's, and a line of Beam's own) ended with Beam's
    `` [while running 'IngestImdbReviews/ReadImdbReviews/ReadMatches/ParDo(_ReadMatchFn)']``."""
    path = tmp_path / "damaged.tar.gz"
    path.write_bytes(_DAMAGED)

    result = _run(tmp_path, path)

    message = (
        f"ImdbArchiveError: {path}: truncated or corrupt archive, after member aclImdb/train/pos/0_9.txt "
        f"(header at byte 0 of the unpacked tar stream), {len(_DAMAGED)} of {len(_DAMAGED)} bytes read: "
        "ReadError: invalid member header at byte 1,024 (bad checksum)"
    )
    errors = [
        line[len("00:00:00 ") :] for line in result.stderr.splitlines() if line[9:].startswith("ERROR ")
    ]
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1] == f"imdb-pipeline run: FAILED: {message}"
    assert len(errors) == 3, result.stderr
    assert errors[0] == "ERROR Execution 1 failed."
    assert re.fullmatch(
        rf"ERROR Step 1/\d+ FileBasedExampleGen: failed after \d+\.\d s: {re.escape(message)}", errors[1]
    )
    assert errors[2] == "ERROR Pipeline failed"
    assert "while running" not in result.stderr


# --- a member header zeroed by damage is not taken for the end of the archive --------------------


def _with_zeroed_header(intact: Path, member: str, name: str) -> tuple[Path, int]:
    """A copy of the plain tar ``intact`` with ``member``'s header block overwritten by zeros."""
    offset = headers(intact)[member]
    data = bytearray(intact.read_bytes())
    data[offset : offset + tarfile.BLOCKSIZE] = bytes(tarfile.BLOCKSIZE)
    damaged = intact.with_name(name)
    damaged.write_bytes(bytes(data))
    return damaged, offset


def test_a_zeroed_member_header_fails_instead_of_ending_the_archive_early(long_archives):
    """Before: tarfile took the zero block for the end-of-archive marker, and the run went on with the
    members before it (a hostile user's archive: 39 of 4,028 reviews and every urls file lost, exit 0)."""
    damaged, offset = _with_zeroed_header(long_archives["tar"], "aclImdb/train/neg/0_1.txt", "zeroed.tar")

    message = archive_error(damaged)

    assert f"{damaged}: truncated or corrupt archive, after member " in message
    assert message.endswith(
        f"ReadError: a zero block at byte {offset:,} of the unpacked tar stream ends the archive, but data "
        "follows it (a damaged member header?)"
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_archive_is_read_whole_or_fails_whatever_header_is_zeroed(tmp_path_factory, data):
    """The rule: only zeros may follow the first zero block. Any member's header zeroed (gzip or plain) is
    an error; the intact archive, whatever zero padding follows its marker, reads every review."""
    folder = tmp_path_factory.mktemp("zeroed")
    gzipped = data.draw(st.booleans(), label="gzip")
    intact = write_archive(folder / "intact.tar", GOOD_FILES)
    members = sorted(headers(intact), key=headers(intact).get)
    member = data.draw(st.sampled_from(members[1:]), label="zeroed member")
    damaged, _offset = _with_zeroed_header(intact, member, "zeroed.tar")
    padded = folder / "padded.tar"
    padded.write_bytes(intact.read_bytes() + bytes(data.draw(st.integers(0, 3 * tarfile.RECORDSIZE))))
    if gzipped:
        for path in (damaged, padded):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
        damaged, padded = damaged.with_name("zeroed.tar.gz"), padded.with_name("padded.tar.gz")

    assert "ends the archive, but data follows it" in archive_error(damaged)
    read_archive(padded)


def test_pre_flight_leaves_an_archive_damaged_after_its_first_member_to_the_example_gen(tmp_path):
    """Before: pre-flight's tarfile ended the member list at the damaged second header and refused the
    archive as holding no reviews, where the ExampleGen (and score) name the damage and the member."""
    intact = write_archive(tmp_path / "intact.tar", GOOD_FILES)
    offsets = headers(intact)
    second = sorted(offsets.values())[1]
    data = bytearray(intact.read_bytes())
    data[second + 148 : second + 156] = b"0000000\0"
    damaged = tmp_path / "badheader.tar"
    damaged.write_bytes(bytes(data))

    preflight._check_dataset(str(damaged))  # no error: the archive's damage is the ExampleGen's to name

    assert f"invalid member header at byte {second:,}" in archive_error(damaged)


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_zeroed_header_at_the_end_of_tarfiles_read_is_found_too(tmp_path, gzipped):
    """tarfile reads a stream in records of 10,240 bytes: a zero block that is a record's last leaves
    nothing of the record unread, and what follows must be read from the stream itself."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        # The first header and 9,216 bytes of review: the second header is the first record's last block.
        for name, size in (("aclImdb/train/pos/0_9.txt", 9216), ("aclImdb/train/neg/0_1.txt", 100)):
            info, data = file_member(name, b"x" * size)
            archive.addfile(info, io.BytesIO(data))
    stream = bytearray(buffer.getvalue())
    stream[tarfile.RECORDSIZE - tarfile.BLOCKSIZE : tarfile.RECORDSIZE] = bytes(tarfile.BLOCKSIZE)
    path = tmp_path / ("aligned.tar.gz" if gzipped else "aligned.tar")
    path.write_bytes(gzip.compress(bytes(stream), mtime=0) if gzipped else bytes(stream))

    assert archive_error(path).endswith(
        f"ReadError: a zero block at byte {tarfile.RECORDSIZE - tarfile.BLOCKSIZE:,} of the unpacked tar "
        "stream ends the archive, but data follows it (a damaged member header?)"
    )


# --- an archive's name in a folder dataset: a review folder's file, or not read at all -------------


def _smuggling_tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(tarfile.TarInfo("aclImdb/train/neg/9_1.txt"), io.BytesIO(b""))
    return buffer.getvalue()


# Where the file goes, below a dataset folder holding aclImdb/, and what reading that folder gives for it:
# in a review folder, a badly named review file; in a folder there, that folder; elsewhere, nothing.
_ARCHIVE_PLACES = {
    "aclImdb/train/pos": "bad_file_name",
    "aclImdb/train/unsup": "bad_file_name",
    "aclImdb/test/neg": "bad_file_name",
    "aclImdb/train/pos/extra": "not_a_file",
    "aclImdb/train/neutral": None,
    "aclImdb/train": None,
    "aclImdb": None,
    ".": None,
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    place=st.sampled_from(sorted(_ARCHIVE_PLACES)),
    stem=st.text(st.sampled_from("ab5_8.-"), min_size=1, max_size=8),
    suffix=st.sampled_from([".tar.gz", ".tgz", ".tar", ".TAR.GZ", ".Tgz"]),
    data=st.sampled_from([_smuggling_tar_gz(), gzip.compress(b"not a tar"), b"", b"\x00" * 1024]),
)
def test_an_archive_name_in_a_folder_dataset_is_never_opened_as_an_archive(
    tmp_path_factory, place, stem, suffix, data
):
    """``run --data ds``: only an archive dataset is read as an archive; in a folder dataset a file
    named like one is a review folder's badly named file, or not read where other names are not."""
    dataset = tmp_path_factory.mktemp("ds")
    write_dataset(dataset / "aclImdb", GOOD_FILES)
    (dataset / place).mkdir(parents=True, exist_ok=True)
    (dataset / place / f"{stem}{suffix}").write_bytes(data)
    read = reader._ReadMatchFn(1_000_000)
    reviews, set_aside = [], []
    for listed in reader._list_to_read(os.path.join(*dataset_input(str(dataset)))):
        for output in [listed] if isinstance(listed, TaggedOutput) else read.process(listed):
            if not isinstance(output, TaggedOutput):
                reviews.append(output[1].source)
            elif output.tag == reader.QUARANTINE:
                set_aside.append((os.path.relpath(output.value.origin.path, dataset), output.value.reason))

    assert sorted(reviews) == sorted(name for name in GOOD_FILES if "/urls_" not in name)
    reason = _ARCHIVE_PLACES[place]
    entry = f"{place}/{stem}{suffix}" if reason == "bad_file_name" else place
    assert set_aside == ([(entry, reason)] if reason else [])
