"""The files artifacts hold: a damaged JSON document or vocabulary is refused, naming the file and the fault."""

import os
import tempfile

from hypothesis import given
import pytest

from components.artifacts import model as model_artifact
from components.artifacts.files import DamagedFileError, read_json
from schemas import features
from tests.test_text_properties import PROPERTY_SETTINGS, text_batches, token_lists

VOCABULARY = b"<pad>\n<unk>\ngood\nfilm\n"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            b"\xef\xbb\xbf" + VOCABULARY,
            " does not start with the reserved tokens <pad>, <unk>: its first lines are ['\\ufeff<pad>', '<unk>']",
        ),
        (VOCABULARY.replace(b"\n", b"\r\n"), ", line 1: ends in a carriage return (CRLF line ends)"),
        (VOCABULARY[:-3], " is cut short: its last line has no end"),
        (
            VOCABULARY[:6],
            " does not start with the reserved tokens <pad>, <unk>: its first lines are ['<pad>']",
        ),
        (b"", " does not start with the reserved tokens <pad>, <unk>: its first lines are []"),
        (
            b"<unk>\n<pad>\ngood\n",
            " does not start with the reserved tokens <pad>, <unk>: its first lines are ['<unk>', '<pad>']",
        ),
        (
            VOCABULARY + b"\xe9t\xe9\n",
            " cannot be read (UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 22: "
            "invalid continuation byte)",
        ),
    ],
)
def test_a_damaged_vocabulary_is_refused_naming_file_and_fault(tmp_path, data, problem):
    path = tmp_path / model_artifact.VOCABULARY_FILE
    path.write_bytes(data)
    with pytest.raises(DamagedFileError) as raised:
        model_artifact.read_vocabulary(str(path))
    assert str(raised.value) == f"{path}{problem}"


def test_a_missing_vocabulary_is_named(tmp_path):
    path = tmp_path / model_artifact.VOCABULARY_FILE
    with pytest.raises(FileNotFoundError) as raised:
        model_artifact.read_vocabulary(str(path))
    assert str(raised.value) == f"{path} does not exist"


@PROPERTY_SETTINGS
@given(text_batches)
def test_any_tokens_of_the_tokeniser_read_back_after_the_reserved_tokens(texts):
    tokens = [
        token.decode("utf-8")
        for row in token_lists([text.encode("utf-8") for text in texts])
        for token in row
    ]
    vocabulary = [*features.RESERVED_TOKENS, *tokens]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, model_artifact.VOCABULARY_FILE)
        model_artifact.write_vocabulary(path, vocabulary)
        assert model_artifact.read_vocabulary(path) == vocabulary


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"span": 1, "splits": [', "JSONDecodeError: Expecting value: line 1 column 24 (char 23)"),
        (
            b'\xef\xbb\xbf{"span": 1}',
            "JSONDecodeError: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
        ),
        (
            b'{"span": "\xff"}',
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 10: invalid start byte",
        ),
        (b"", "JSONDecodeError: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_a_damaged_json_file_is_refused_naming_file_and_fault(tmp_path, data, problem):
    path = tmp_path / "summary.json"
    path.write_bytes(data)
    with pytest.raises(DamagedFileError) as raised:
        read_json(str(path))
    assert str(raised.value) == f"{path} cannot be read as a UTF-8 JSON document ({problem})"


@pytest.mark.parametrize("name", ["summary.json", "history.json", "manifest.json"])
def test_a_json_file_holding_null_is_damaged_not_missing(tmp_path, name):
    """None means "no such file" to every reader: a file holding ``null`` must not read as absent."""
    path = tmp_path / name
    path.write_bytes(b" null\n")
    with pytest.raises(DamagedFileError) as raised:
        read_json(str(path))
    assert str(raised.value) == f"{path}: the document is null"


def test_a_folder_where_a_json_file_belongs_is_refused(tmp_path):
    path = tmp_path / "summary.json"
    path.mkdir()
    with pytest.raises(DamagedFileError) as raised:
        read_json(str(path))
    assert str(raised.value) == f"{path} is a folder, not a file"
    assert read_json(str(tmp_path / "absent.json")) is None
