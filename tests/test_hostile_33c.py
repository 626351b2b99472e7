"""Hostile pass over archive datasets (review folder entries, member names) and word vectors in containers."""

import ast
import bz2
import gzip
import io
import lzma
import tarfile
import zipfile

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from components.embeddings import vector_files
from components.example_gen import reader
from tests.conftest import BEAM_RUNNER

GLOVE = b"the 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\n"


def _tar(path, members):
    """A tar at ``path`` of ``(name, bytes)`` members; ``None`` bytes make a folder member."""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return str(path)


def _read(path):
    """(reviews as (member, text), records set aside as (reason, member)) of an archive dataset, sorted."""
    out = f"{path}.out"
    with beam.Pipeline(BEAM_RUNNER, options=PipelineOptions([])) as pipeline:
        read = pipeline | reader.ReadImdbReviews(path)
        reviews = read[reader.REVIEWS] | "Reviews" >> beam.Map(lambda r: repr(("R", r.origin.member, r.text)))
        set_aside = read[reader.QUARANTINE] | "SetAside" >> beam.Map(
            lambda record: repr(("Q", record.reason, record.origin.member))
        )
        _ = (reviews, set_aside) | beam.Flatten() | beam.io.WriteToText(out, shard_name_template="")
    with open(out, encoding="utf-8") as lines:
        found = sorted(ast.literal_eval(line) for line in lines)
    return [f[1:] for f in found if f[0] == "R"], [f[1:] for f in found if f[0] == "Q"]


GOOD = ("aclImdb/train/pos/1_8.txt", b"a good film")


# Spellings with '..' of the member name aclImdb/train/pos/1_8.txt: set aside, never unpacked (tar x refuses them).
CLIMBING = [
    "aclImdb/train/pos/x/../1_8.txt",
    "aclImdb/train/../train/pos/1_8.txt",
    "./aclImdb/../aclImdb/train/pos/1_8.txt",
    "aclImdb/train/pos/x/y/../../1_8.txt",
]


@settings(max_examples=4, deadline=None)
@given(climbing=st.sampled_from(CLIMBING))
def test_unsafe_member_does_not_replace_the_review_of_its_name(tmp_path_factory, climbing):
    # tar x keeps aclImdb/train/pos/1_8.txt ("Member name contains '..'": the second is not written).
    path = _tar(tmp_path_factory.mktemp("archive") / "data.tar", [GOOD, (climbing, b"never unpacked")])
    reviews, set_aside = _read(path)
    assert reviews == [("aclImdb/train/pos/1_8.txt", "a good film")]
    assert set_aside == [("unsafe_path", climbing)]


# A folder in aclImdb/train/pos/ holding a review folder's names again (a dataset copied into it, a folder
# literally named train), with a folder below that: one entry, its folder.
NESTED = {
    "aclImdb/train/pos/x": ["x/", "x/train/", "x/train/pos/", "x/train/pos/y/"],
    "aclImdb/train/pos/train": ["train/", "train/pos/", "train/pos/sub/"],
}


@pytest.mark.parametrize("folder", sorted(NESTED))
def test_folder_holding_review_folder_names_is_set_aside_once(tmp_path, folder):
    members = [("aclImdb/train/pos/", None), GOOD]
    members += [(f"aclImdb/train/pos/{name}", None) for name in NESTED[folder]]
    members.append((f"aclImdb/train/pos/{NESTED[folder][-1]}2_8.txt", b"not read"))
    reviews, set_aside = _read(_tar(tmp_path / "data.tar", members))
    assert reviews == [("aclImdb/train/pos/1_8.txt", "a good film")]
    assert set_aside == [("not_a_file", folder)]


def test_file_member_named_as_a_folder_entry_is_accounted_once(tmp_path):
    # tar x makes the folder 1_8.txt/ for the first member and cannot write the file 1_8.txt over it.
    path = _tar(
        tmp_path / "data.tar",
        [
            ("aclImdb/train/pos/1_8.txt/a", b"below"),
            ("aclImdb/train/pos/1_8.txt", b"a file"),
            ("aclImdb/train/pos/2_8.txt", b"ok"),
        ],
    )
    reviews, set_aside = _read(path)
    assert reviews == [("aclImdb/train/pos/2_8.txt", "ok")]
    assert set_aside == [("not_a_file", "aclImdb/train/pos/1_8.txt")]


def test_members_below_an_earlier_review_file_do_not_count_it_again(tmp_path):
    # tar x writes the file 1_8.txt and cannot write 1_8.txt/a below it: the entry is that review file.
    path = _tar(tmp_path / "data.tar", [GOOD, ("aclImdb/train/pos/1_8.txt/a", b"below")])
    reviews, set_aside = _read(path)
    assert reviews == [("aclImdb/train/pos/1_8.txt", "a good film")]
    assert set_aside == []


# GNU tar 1.34: a folder member replaces a file of its name; a file replaces an empty folder (not one
# holding something, as above).
REPLACING = {
    "folder after file": (
        [GOOD, ("aclImdb/train/pos/1_8.txt/", None)],
        [],
        [("duplicate", "aclImdb/train/pos/1_8.txt"), ("not_a_file", "aclImdb/train/pos/1_8.txt")],
    ),
    "file after empty folder": (
        [("aclImdb/train/pos/1_8.txt/", None), GOOD],
        [("aclImdb/train/pos/1_8.txt", "a good film")],
        [],
    ),
}


@pytest.mark.parametrize("order", sorted(REPLACING))
def test_folder_and_file_of_one_name_are_read_as_tar_x_leaves_them(tmp_path, order):
    members, expected_reviews, expected_set_aside = REPLACING[order]
    reviews, set_aside = _read(_tar(tmp_path / "data.tar", members))
    assert reviews == expected_reviews
    assert set_aside == expected_set_aside


def test_file_member_with_a_trailing_slash_is_a_folder(tmp_path):
    path = _tar(
        tmp_path / "data.tar", [GOOD, ("aclImdb/train/pos/3_8.txt/", b"written as a folder by tar x")]
    )
    reviews, set_aside = _read(path)
    assert reviews == [("aclImdb/train/pos/1_8.txt", "a good film")]
    assert set_aside == [("not_a_file", "aclImdb/train/pos/3_8.txt")]


def _zip(data):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("glove.txt", data)
    return stream.getvalue()


# What each container is unpacked with, and a file of it holding a GloVe text.
CONTAINERS = {
    "unzip": _zip(GLOVE),
    "bunzip2": bz2.compress(GLOVE),
    "unxz": lzma.compress(GLOVE),
}


@settings(max_examples=10, deadline=None)
@given(
    tool=st.sampled_from(sorted(CONTAINERS)),
    format=st.sampled_from([None, "glove", "word2vec", "word2vec_binary"]),
)
def test_gzip_of_a_container_says_to_gunzip_first(tmp_path_factory, tool, format):
    path = tmp_path_factory.mktemp("vectors") / "vectors.gz"
    path.write_bytes(gzip.compress(CONTAINERS[tool]))
    with pytest.raises(vector_files.VectorFileError) as raised:
        list(vector_files.iter_vectors(str(path), format))
    message = str(raised.value)
    # `unzip vectors.gz` says "End-of-central-directory signature not found"; `bunzip2 vectors.gz`
    # "not a bzip2 file": the file is gzip first, and is already compressed with gzip.
    assert message.startswith(f"{path}: ")
    assert "gunzip" in message
    assert tool in message
    assert "or compress that with gzip" not in message
