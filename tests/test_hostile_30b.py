"""Hostile tests of land-30 (host B): each is a defect found by hand, kept as a strict xfail until fixed.

Fast: no pipeline run, no Beam job; functions only, on small fixtures under tmp_path.
"""

import os

import pytest

from components.artifacts import quarantine
from components.embeddings.vector_files import VectorFileError, iter_vectors
from components.options import OptionsError, check_text
from pipeline import preflight
from pipeline.score import ScoreInputError, resolve_input


def _tfrecord_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "data_tfrecord-00000-of-00001").write_bytes(b"")
    return folder


def test_fifo_inside_tfrecord_folder_is_refused(tmp_path):
    folder = _tfrecord_folder(tmp_path)
    os.mkfifo(folder / "part-1.tfrecord")
    with pytest.raises(ScoreInputError, match="FIFO"):
        resolve_input(str(folder))


def test_dangling_link_inside_tfrecord_folder_is_refused_or_reported(tmp_path):
    folder = _tfrecord_folder(tmp_path)
    os.symlink(tmp_path / "nowhere", folder / "b.tfrecord")
    try:
        source = resolve_input(str(folder))
    except ScoreInputError as error:
        assert "b.tfrecord" in str(error)
    else:
        assert "b.tfrecord" in source.not_read


def test_underscore_file_appearing_later_is_never_read(tmp_path):
    from apache_beam.io.filesystem import FileMetadata

    folder = _tfrecord_folder(tmp_path)
    source = resolve_input(str(folder))
    (folder / "_SUCCESS").write_bytes(b"")
    assert not source.reads(FileMetadata(str(folder / "_SUCCESS"), 0))


def test_auto_folder_of_hidden_tfrecords_names_the_rule(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "_part-0.tfrecord").write_bytes(b"")
    (folder / ".part-0.tfrecord.crc").write_bytes(b"")
    with pytest.raises(ScoreInputError, match=r"_part-0\.tfrecord"):
        resolve_input(str(folder))


def test_non_utf8_argument_shown_as_xff():
    with pytest.raises(OptionsError) as caught:
        check_text("--input", "r\udcff.txt")
    message = str(caught.value)
    assert "r\\xff.txt" in message
    assert "udc" not in message


def test_shown_name_is_unambiguous():
    assert quarantine.shown_name("a\\xff.txt") != quarantine.shown_name("a\udcff.txt")


def test_double_space_between_values_not_self_contradictory(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_bytes(b"a 0.1  0.2 0.3\nb 0.1 0.2 0.3\nc 0.1 0.2 0.3\n")
    try:
        vectors = list(iter_vectors(str(path)))
    except VectorFileError as error:
        assert not ("more than 3 values" in str(error) and "line 1 has 3" in str(error)), str(error)
    else:
        assert [word for word, _ in vectors] == ["a", "b", "c"]


def test_symlink_loop_named(tmp_path):
    os.symlink(tmp_path / "loopB", tmp_path / "loopA")
    os.symlink(tmp_path / "loopA", tmp_path / "loopB")
    problem = preflight.unreachable(str(tmp_path / "loopA" / "out"))
    assert problem is not None and "loopA" in problem


def test_link_chain_does_not_claim_existing_link_missing(tmp_path):
    os.symlink(tmp_path / "nothere", tmp_path / "dang2")
    os.symlink("dang2", tmp_path / "chain")
    problem = preflight.unreachable(str(tmp_path / "chain" / "out"))
    assert problem is not None
    assert "dang2, which does not exist" not in problem


def _cgroup2_mount() -> str | None:
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if fields[2] == "cgroup2" and os.access(fields[1], os.W_OK):
                    return fields[1]
    except OSError:
        pass
    return None


def test_probe_refuses_cgroup_folder():
    mount = _cgroup2_mount()
    if mount is None or os.geteuid() != 0:
        pytest.skip("needs root and a writable cgroup2 mount")
    assert preflight.cannot_write_in(mount) is not None


def test_summary_line_stays_one_line_with_newline_in_name():
    from pipeline.score import ScoreSummary

    summary = ScoreSummary("model/1", "in", "tfrecord", 3, {}, ["READ\nME", "_SUCCESS"])
    assert "\n" not in summary.describe()


def test_run_output_below_dangling_link_is_refused(tmp_path, capsys):
    from pipeline.cli import main

    os.symlink(tmp_path / "nowhere" / "x", tmp_path / "link")
    output = tmp_path / "link" / "sub"
    code = main(["run", "--dry-run", "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "symbolic link" in err
    assert not (tmp_path / "nowhere").exists()
