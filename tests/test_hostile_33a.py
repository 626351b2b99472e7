"""The dataset and word vectors as users get them from other tools: re-packed tar archives, zip'ed vectors.

Every entry of a review folder must be accounted for whatever the archive's layout (README, "When the
input is bad"), and a vector file in a container the readers do not take must be refused naming it.
"""

import bz2
import io
import json
import lzma
import os
from pathlib import Path
import tarfile
import zipfile

import apache_beam as beam
from apache_beam.testing.util import assert_that
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from components.embeddings import vector_files
from components.example_gen import component, reader
from tests.conftest import BEAM_RUNNER, run_cli

REVIEW_FILES = {
    "train/pos/0_9.txt": b"A moving, wonderful film with a great cast.",
    "train/neg/0_2.txt": b"Dull, slow and far too long.<br /><br />Avoid it.",
    "test/pos/0_8.txt": b"Funny and touching; I loved every minute.",
    "test/neg/0_1.txt": b"The worst film I have seen this year.",
}
GLOVE_TEXT = b"the 0.1 0.2 0.3\ngood 0.4 0.5 0.6\nbad -0.4 -0.5 -0.6\n"


def write_tar(path: Path, members: list[tuple[str, bytes | None]]) -> Path:
    """A gzip tar of ``members`` in order, as another tool wrote it: only these entries (None: a folder)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return path


def read_dataset(data_path: Path, tmp_path: Path) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The reviews ExampleGen's reader finds in ``data_path`` (their sources) and the records it sets
    aside (reason, archive member), read as ``run --data`` and ``score --input`` read it."""
    base, pattern = component.dataset_input(str(data_path))
    found = tmp_path / "found.json"
    aside = tmp_path / "aside.json"

    def keep(where: Path):
        def write(values):
            where.write_text(json.dumps(sorted(values)))

        return write

    with beam.Pipeline(runner=BEAM_RUNNER) as pipeline:
        outputs = pipeline | reader.ReadImdbReviews(os.path.join(base, pattern))
        assert_that(outputs[reader.REVIEWS] | "Sources" >> beam.Map(lambda r: r.source), keep(found), "Found")
        set_aside = outputs[reader.QUARANTINE] | "Reasons" >> beam.Map(lambda q: (q.reason, q.origin.member))
        assert_that(set_aside, keep(aside), "Aside")
    return json.loads(found.read_text()), [tuple(pair) for pair in json.loads(aside.read_text())]


# Layouts other tools give a re-packed dataset: `tar -C dir -czf x.tgz ./aclImdb` (./ first), a tar made
# inside aclImdb/ (no top folder), and one made from the folder above it (two folders on top).
REPACKED_PREFIXES = ["./aclImdb/", "", "data/aclImdb/"]


# An entry of a review folder and how it is set aside (a folder member's name loses its "/").
ODD_ENTRIES = {
    "badly named file": ("train/pos/88887_8.TXT", b"a review saved under a wrong name", "bad_file_name"),
    "folder": ("train/pos/88886_8.txt/", None, "not_a_file"),
}


@pytest.mark.parametrize("entry", sorted(ODD_ENTRIES))
@pytest.mark.parametrize("prefix", REPACKED_PREFIXES)
def test_repacked_archive_sets_aside_an_odd_entry_of_a_review_folder(tmp_path, prefix, entry):
    name, data, reason = ODD_ENTRIES[entry]
    members = [(prefix + review, text) for review, text in REVIEW_FILES.items()]
    members.append((prefix + name, data))
    found, set_aside = read_dataset(write_tar(tmp_path / "aclImdb_v1.tar.gz", members), tmp_path)
    assert found == sorted(REVIEW_FILES)
    assert set_aside == [(reason, prefix + name.rstrip("/"))]


def test_archive_without_folder_entries_accounts_for_a_file_in_a_review_subfolder(tmp_path):
    members = [(f"aclImdb/{name}", data) for name, data in REVIEW_FILES.items()]
    members.append(("aclImdb/train/pos/New folder/4_9.txt", b"A review copied into a subfolder."))
    found, set_aside = read_dataset(write_tar(tmp_path / "aclImdb_v1.tar.gz", members), tmp_path)
    assert found == sorted(REVIEW_FILES)
    assert set_aside == [("not_a_file", "aclImdb/train/pos/New folder")]  # the folder, as the README says


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.sampled_from(["./", "", "data/", "./data/x/"]),
    dataset=st.sampled_from(["aclImdb/", ""]),
    name=st.sampled_from(
        ["88887_8.TXT", "notes", "1_8 (copy).txt", ".DS_Store", "desktop.ini", "5_8.txt.bak"]
    ),
)
def test_every_review_folder_entry_of_any_archive_layout_is_accounted_for(tmp_path, top, dataset, name):
    prefix = top + dataset
    members = [(prefix + review, data) for review, data in REVIEW_FILES.items()]
    members.append((f"{prefix}train/neg/{name}", b"not a review file"))
    archive = write_tar(tmp_path / f"{len(prefix)}-{len(name)}.tar.gz", members)
    found, set_aside = read_dataset(archive, tmp_path)
    assert found == sorted(REVIEW_FILES)
    assert set_aside == [("bad_file_name", f"{prefix}train/neg/{name}")]


def _zip(path: Path, data: bytes) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.stem, data)


def _tar(path: Path, data: bytes) -> None:
    write_tar(path, [("glove.6B.50d.txt", data)])


# GloVe and fastText publish their vectors as zip files (glove.6B.zip, wiki-news-300d-1M.vec.zip);
# other dumps come as .bz2, .xz or a .tar.gz holding the file. Each must be refused as what it is,
# not called word2vec binary.
CONTAINERS = {
    "glove.6B.zip": ("zip", _zip),
    "wiki-news-300d-1M.vec.zip": ("zip", _zip),
    "glove.6B.50d.tar.gz": ("tar", _tar),
    "glove.6B.50d.txt.bz2": ("bzip2", lambda path, data: path.write_bytes(bz2.compress(data))),
    "glove.6B.50d.txt.xz": ("xz", lambda path, data: path.write_bytes(lzma.compress(data))),
}


def _refusal(path: Path) -> str:
    """The refusal of ``path``, which must name it, with the path taken out (its name holds zip or xz)."""
    with pytest.raises(vector_files.VectorFileError) as refused:
        list(vector_files.iter_vectors(str(path)))
    assert str(path) in str(refused.value)
    return str(refused.value).replace(str(path), "<path>")


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_vectors_in_an_archive_or_other_compression_are_refused_as_such(tmp_path, name):
    kind, write = CONTAINERS[name]
    path = tmp_path / name
    write(path, GLOVE_TEXT)
    message = _refusal(path)
    assert kind in message
    assert "word2vec_binary" not in message
    assert "zero byte" not in message


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(CONTAINERS)),
    rows=st.lists(
        st.tuples(
            st.text(st.characters(categories=["L"]), min_size=1, max_size=8),
            st.lists(st.floats(-1, 1, width=32), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_any_vectors_in_another_container_are_refused_naming_it(tmp_path, name, rows):
    kind, write = CONTAINERS[name]
    path = tmp_path / name
    write(path, "".join(f"{word} {' '.join(map(repr, values))}\n" for word, values in rows).encode())
    message = _refusal(path)
    assert kind in message
    assert "word2vec_binary" not in message


def test_run_refuses_the_glove_zip_saying_to_unzip_it(tmp_path):
    path = tmp_path / "glove.6B.zip"
    _zip(path, GLOVE_TEXT)
    result = run_cli(
        "run", "--dry-run", "--output", str(tmp_path / "out"), "--vectors", str(path), cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"vectors: {path}" in result.stderr
    told = result.stderr.replace(str(path), "<path>")
    assert "zip" in told and "unzip" in told
    assert "word2vec_binary" not in told
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# Folder names above a dataset root in an archive: none of them a review folder's.
ABOVE_ROOT = st.lists(st.sampled_from([".", "aclImdb", "data", "imdb v1", "Train", "pos"]), max_size=3).map(
    lambda folders: "".join(f"{folder}/" for folder in folders)
)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=ABOVE_ROOT, folder_members=st.booleans(), files=st.integers(1, 3))
def test_a_subfolder_of_a_review_folder_is_set_aside_once_whatever_the_layout(
    tmp_path, prefix, folder_members, files
):
    members = [(prefix + review, data) for review, data in REVIEW_FILES.items()]
    if folder_members:
        members.append((f"{prefix}test/neg/sub/", None))
    members += [
        (f"{prefix}test/neg/sub/{number}_1.txt", b"a review in a subfolder") for number in range(files)
    ]
    found, set_aside = read_dataset(write_tar(tmp_path / f"{len(prefix)}.tar.gz", members), tmp_path)
    assert found == sorted(REVIEW_FILES)
    assert set_aside == [("not_a_file", f"{prefix}test/neg/sub")]


# Spellings of one member's path that tar x writes to the same file.
SPELLINGS = ["aclImdb/train/pos/0_9.txt", "./aclImdb/train/pos/0_9.txt", "aclImdb//train/pos/0_9.txt"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sampled_from(SPELLINGS), last=st.sampled_from(SPELLINGS))
def test_a_member_repeated_under_another_spelling_is_read_once(tmp_path, first, last):
    members = [
        (f"aclImdb/{review}", data) for review, data in REVIEW_FILES.items() if review != "train/pos/0_9.txt"
    ]
    members += [(first, b"The first copy: a fine film."), (last, b"The copy tar rf appended: a great film.")]
    found, set_aside = read_dataset(write_tar(tmp_path / "aclImdb_v1.tar.gz", members), tmp_path)
    assert found == sorted(REVIEW_FILES)
    assert set_aside == [("duplicate", first)]
