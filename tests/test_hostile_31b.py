"""Hostile-user findings (round 31, b): word-vector files and ExampleGen on bad data.

Each test reproduces what a user saw; all are expected to fail until the product is fixed.
"""

import os
from pathlib import Path
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from components.embeddings import vector_files

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "pipeline" / "data" / "aclImdb_sample.tar.gz"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _read_error(path: Path, format: str | None = None) -> vector_files.VectorFileError:
    with pytest.raises(vector_files.VectorFileError) as caught:
        list(vector_files.iter_vectors(str(path), format))
    return caught.value


# A word2vec text file (header "2 3") whose first word is Latin-1, not UTF-8: "caf\xe9".
LATIN1_FIRST_WORD = b"2 3\ncaf\xe9 0.1 0.2 0.3\nof 0.4 0.5 0.6\n"


def test_word2vec_text_with_latin1_first_word_is_reported_on_its_line(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_bytes(LATIN1_FIRST_WORD)
    # Named explicitly, the same file gives the README's message: line 2, byte 4 (the \xe9).
    explicit = _read_error(path, "word2vec")
    assert explicit.line == 2 and "byte 4 of the line" in str(explicit)
    # Detected (the default, vectors_format auto), it should say the same, not a byte offset of a binary file.
    error = _read_error(path)
    assert error.line == 2, str(error)
    assert "header's dimension" not in str(error)


def test_run_dry_run_latin1_first_word_names_line(tmp_path):
    (tmp_path / "vectors.txt").write_bytes(LATIN1_FIRST_WORD)
    result = _cli("run", "--dry-run", "--vectors", "vectors.txt", "--output", "out", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "vectors.txt, line 2: not UTF-8" in result.stderr, result.stderr[-2000:]
    assert "byte offset" not in result.stderr


def test_stray_cr_on_unterminated_last_line_is_not_called_cr_only_line_ends(tmp_path):
    path = tmp_path / "glove.txt"
    # LF line ends everywhere; the last line lacks its final LF (common) and holds one stray CR.
    path.write_bytes(b"the 0.1 0.2 0.3\nof 0.4 0.5 0.6\nand 0.7 0.8 0.9\nto 1\r2 3")
    error = _read_error(path)
    assert error.line == 4
    # The same stray CR with a final LF is reported as "a CR inside the line (byte 5 ...)".
    assert "CR only" not in str(error), str(error)
    assert "a CR inside the line (byte 5 of the line" in str(error), str(error)


def _binary_record(word: bytes, values) -> bytes:
    return word + b" " + np.asarray(values, "<f4").tobytes() + b"\n"


def test_binary_with_blank_line_before_header_detected_and_read_consistently(tmp_path):
    path = tmp_path / "vectors.bin"
    records = _binary_record(b"the", [1, 2]) + _binary_record(b"of", [3, 4]) + _binary_record(b"and", [5, 6])
    path.write_bytes(b"\n3 2\n" + records)
    assert vector_files.detect_format(str(path)) == "word2vec_binary"
    # What detection accepted, the reader it chose should read (the text readers skip such blank lines).
    words = [word for word, _ in vector_files.iter_vectors(str(path))]
    assert words == ["the", "of", "and"]


def _dataset(tmp_path: Path, name: str) -> Path:
    """The bundled sample unpacked, with 120 empty review files: over example_gen.max_bad_share."""
    root = tmp_path / name
    with tarfile.open(SAMPLE) as archive:
        archive.extractall(root, filter="data")
    (dataset,) = root.iterdir()
    for i in range(1, 121):
        (dataset / "train" / "pos" / f"9{i}00_8.txt").write_bytes(b"")
    return dataset


@pytest.mark.slow
def test_kept_quarantine_of_earlier_failed_run_survives_a_new_store(tmp_path):
    dataset = _dataset(tmp_path, "data")
    first = _cli("run", "--data", str(dataset), "--output", "out", cwd=tmp_path)
    assert first.returncode == 1 and "failed_runs/1/quarantine" in first.stderr, first.stderr[-2000:]
    kept = tmp_path / "out/pipeline_root/FileBasedExampleGen/failed_runs/1/quarantine/summary.json"
    before = kept.read_bytes()
    # The store is moved away, as the README's message for an unreadable store advises ("move it away to
    # start a new store"); the next run fails for another reason (a smaller limit) and keeps its quarantine.
    (tmp_path / "out" / "metadata.sqlite").rename(tmp_path / "old-metadata.sqlite")
    (dataset / "train" / "urls_pos.txt").unlink()
    second = _cli(
        "run", "--data", str(dataset), "--output", "out", "--example_gen.max_bad_records", "5", cwd=tmp_path
    )
    assert second.returncode == 1, second.stderr[-2000:]
    # The first run's kept quarantine, which its message named, is still what it was.
    assert kept.read_bytes() == before


@pytest.mark.slow
def test_too_many_bad_records_reported_even_if_quarantine_copy_fails(tmp_path):
    dataset = _dataset(tmp_path, "data")
    step = tmp_path / "out" / "pipeline_root" / "FileBasedExampleGen"
    step.mkdir(parents=True)
    (step / "failed_runs").write_text("not a folder\n")
    result = _cli("run", "--data", str(dataset), "--output", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "too many bad review records" in result.stderr, result.stderr[-2000:]


def test_urls_line_not_utf8_inside_title_id_gives_no_movie_id():
    from components.example_gen.reader import parse_movie_ids

    data = (
        b"http://www.imdb.com/title/tt0453\xff418/usercomments\n"  # review 0: one damaged byte in the id
        b"http://www.imdb.com/title/tt0453418/usercomments\n"
    )
    # README: a line that holds no tt<digits> (empty, cut short, not UTF-8) is urls_line_without_title_id;
    # here review 0 is instead grouped with movie tt0453, another title.
    assert parse_movie_ids(data) == [None, "tt0453418"]
