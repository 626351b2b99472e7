"""The rules the pushed model's users share: which folder holds a SavedModel, which version is served, what an
alias leads to, and how ``score`` reads odd inputs (a zip, a subfolder, a JSON Lines review's size).

Plain functions on small folders and files: no pipeline run.
"""

import importlib.util
import json
from pathlib import Path
import unicodedata

import apache_beam as beam
from apache_beam.io.filesystem import FileMetadata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from components.artifacts import quarantine
from components.artifacts.pushed_model import is_version_name, served_versions, without_alias
from components.example_gen import reader
from components.example_gen.errors import BadRecordError
from pipeline import predict, score
from pipeline.commands import neighbors as neighbors_command

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "classify_reviews.py"
# Every name a SavedModel's graph file may have (TensorFlow's loader reads any of them).
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt", "saved_model.cpb")


def _example_module():
    spec = importlib.util.spec_from_file_location("classify_reviews", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


classify_reviews = _example_module()


def _version(model: Path, name: str, saved_model_file: str | None = "saved_model.pb") -> Path:
    folder = model / name
    folder.mkdir(parents=True)
    if saved_model_file:
        (folder / saved_model_file).write_bytes(b"")
    return folder


# --- Which folder holds a SavedModel, which version is served ------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=st.sampled_from(SAVED_MODEL_FILES), number=st.integers(0, 10**6))
def test_a_version_holds_a_saved_model_in_any_form_tensorflow_loads(tmp_path_factory, file, number):
    """Before: ``predict --model VERSION`` looked for saved_model.pb only, the model folder above it for any."""
    model = tmp_path_factory.mktemp("model")
    version = _version(model, str(number), file)

    assert predict.resolve_model_dir(str(version)) == str(version)
    assert predict.resolve_model_dir(str(model)) == str(version)
    assert served_versions(str(model)) == [str(version)]
    assert classify_reviews.newest_version_dir(str(model)) == str(version)


def _non_ascii_decimal_digits() -> list[str]:
    return [
        chr(code) for code in range(0x80, 0x110000) if chr(code).isdigit() and not ("0" <= chr(code) <= "9")
    ]


OTHER_DIGITS = _non_ascii_decimal_digits()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(digits=st.text(st.sampled_from(OTHER_DIGITS + list("0123456789")), min_size=1, max_size=4))
def test_a_version_is_named_by_ascii_digits_for_predict_and_the_example_alike(tmp_path_factory, digits):
    """``str.isdigit`` takes ``²`` and other scripts' digits; the example then died in ``int()`` or loaded
    another folder than predict."""
    model = tmp_path_factory.mktemp("model")
    _version(model, "7")
    odd = model / unicodedata.normalize("NFC", digits)
    if not odd.exists():
        _version(model, odd.name)
    is_version = odd.name.isascii() and odd.name == str(int(odd.name))

    expected = str(model / (odd.name if is_version and int(odd.name) > 7 else "7"))
    assert is_version_name(odd.name) is is_version
    assert predict.resolve_model_dir(str(model)) == expected
    assert classify_reviews.newest_version_dir(str(model)) == expected


def test_the_example_skips_a_numbered_folder_without_a_saved_model_as_predict_does(tmp_path):
    _version(tmp_path, "7")
    _version(tmp_path, "107", saved_model_file=None)  # being copied in
    (tmp_path / "200").write_bytes(b"")  # a file, no folder

    assert predict.resolve_model_dir(str(tmp_path)) == str(tmp_path / "7")
    assert classify_reviews.newest_version_dir(str(tmp_path)) == str(tmp_path / "7")


def test_the_example_names_a_model_folder_without_a_served_version(tmp_path):
    _version(tmp_path, "²")
    _version(tmp_path, "3", saved_model_file=None)

    with pytest.raises(FileNotFoundError) as raised:
        classify_reviews.newest_version_dir(str(tmp_path))

    assert str(raised.value) == f"no version folder holding a SavedModel under {tmp_path}"


# --- An alias (a link to a version) is the version it leads to ------------------------------------------


def test_an_alias_is_resolved_to_the_version_it_leads_to(tmp_path):
    version = _version(tmp_path / "imdb_sentiment", "17")
    (tmp_path / "imdb_sentiment" / "stable").symlink_to("17")
    (tmp_path / "imdb_sentiment" / "latest").symlink_to("stable")
    (tmp_path / "elsewhere").symlink_to(version)

    assert predict.resolve_model_dir(str(tmp_path / "imdb_sentiment" / "stable")) == str(version)
    assert predict.resolve_model_dir(str(tmp_path / "imdb_sentiment" / "latest/")) == str(version)
    assert predict.resolve_model_dir(str(tmp_path / "elsewhere")) == str(version)


def test_a_version_or_a_folder_that_is_no_link_is_kept_as_given(tmp_path):
    target = _version(tmp_path / "store", "abc")
    _version(tmp_path / "imdb_sentiment", "3")
    (tmp_path / "imdb_sentiment" / "17").symlink_to(target)  # a version's own name: kept
    (tmp_path / "imdb_sentiment" / "loop").symlink_to("loop")

    assert without_alias(str(tmp_path / "imdb_sentiment" / "17")) == str(tmp_path / "imdb_sentiment" / "17")
    with_slash = f"{tmp_path}/imdb_sentiment/3/"
    assert without_alias(with_slash) == with_slash
    assert without_alias(str(tmp_path / "imdb_sentiment" / "loop")) == str(
        tmp_path / "imdb_sentiment" / "loop"
    )
    assert without_alias("gs://bucket/imdb_sentiment/stable") == "gs://bucket/imdb_sentiment/stable"


# --- neighbors shows every word on one line -------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "shown"),
    [("great", "great"), ("caf\u00e9", "caf\u00e9"), ("great\n", "'great\\n'"), ("a\tb", "'a\\tb'")],
)
def test_a_word_is_shown_as_it_is_or_as_its_repr_when_not_printable(word, shown):
    assert neighbors_command._shown(word) == shown


@given(st.text())
def test_a_shown_word_is_one_line(word):
    assert len(neighbors_command._shown(word).splitlines()) == (1 if word else 0)


# --- score: a zip, a subfolder --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reviews.zip", "REVIEWS.ZIP", "reviews.jsonl.zip"])
def test_a_zip_file_is_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(b"PK\x05\x06" + b"\0" * 18)

    with pytest.raises(score.ScoreInputError) as raised:
        score.resolve_input(name)

    assert str(raised.value) == (
        f"--input {name}: a zip archive cannot be scored; unzip it and give its file, or compress that "
        "with gzip (.gz)"
    )


def test_a_zip_file_in_a_tfrecord_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    Path("in/a.tfrecord").write_bytes(b"")
    Path("in/b.tfrecord.zip").write_bytes(b"")

    with pytest.raises(score.ScoreInputError) as raised:
        score.resolve_input("in")

    assert str(raised.value).startswith("--input in/b.tfrecord.zip: a zip archive cannot be scored")


@pytest.mark.parametrize("input_format", ["auto", "tfrecord"])
def test_a_subfolder_of_a_tfrecord_folder_is_named_as_not_read(tmp_path, monkeypatch, input_format):
    """Before: ``sub.tfrecord/`` and the reviews in it were left out without a word."""
    monkeypatch.chdir(tmp_path)
    for folder in ("in/sub.tfrecord", "in/_temporary", "in/zz"):
        Path(folder).mkdir(parents=True)
    Path("in/sub.tfrecord/b.tfrecord").write_bytes(b"")
    Path("in/a.tfrecord").write_bytes(b"")
    Path("in/README.md").write_bytes(b"")
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "in" / "zz")

    source = score.resolve_input("in", input_format)

    expected = ["README.md"] if input_format == "auto" else []
    assert source.not_read == tuple(sorted([*expected, "_temporary", "linked", "sub.tfrecord", "zz"]))


# --- score: a JSON Lines review's size is its text's; the too_large detail names the flag -------------------


def _read_lines(path: Path, max_review_bytes: int) -> list:
    *results, _kind = score._ReadRecordsFn(score.ScoreInput("auto", str(path)), max_review_bytes).process(
        FileMetadata(str(path), path.stat().st_size)
    )
    return results


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=60
    ).filter(str.strip),
    ensure_ascii=st.booleans(),
    extra=st.text(max_size=200),
)
def test_a_json_lines_review_is_measured_by_its_texts_utf8_bytes(tmp_path_factory, text, ensure_ascii, extra):
    """However it is written (escaped or raw JSON, with other fields), a review over the limit is exactly one
    whose text's UTF-8 bytes are."""
    path = tmp_path_factory.mktemp("jsonl") / "reviews.jsonl"
    limit = 100
    line = json.dumps({"text": text, "note": extra}, ensure_ascii=ensure_ascii)
    path.write_text(line + "\n", encoding="utf-8")

    (result,) = _read_lines(path, limit)

    size = len(text.encode("utf-8"))
    if size > limit:
        assert isinstance(result, beam.pvalue.TaggedOutput)
        assert (result.value.reason, result.value.detail) == (
            quarantine.TOO_LARGE,
            f"{size:,} bytes, more than --max-review-bytes ({limit:,})",
        )
    else:
        assert result == ({"source": str(path), "line": 1}, text)


def test_a_line_over_the_limit_names_scores_flag(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"a" * 1_500 + b"\n")

    (result,) = _read_lines(path, 1_000)

    assert (result.value.reason, str(result.value.origin), result.value.detail) == (
        quarantine.TOO_LARGE,
        f"{path}, line 1",
        "1,500 bytes, more than --max-review-bytes (1,000)",
    )


def test_example_gen_still_names_its_own_setting():
    with pytest.raises(BadRecordError) as raised:
        reader.check_review_bytes(b"x" * 1_001, 1_001, 1_000, "f")

    assert raised.value.problem == "1,001 bytes, more than example_gen.max_review_bytes (1,000)"


# --- A damaged version: TensorFlow's reason on one line ---------------------------------------------------

# What tf.saved_model.load raised for a version without assets/tokens (TensorFlow 2.21).
_GRAPH_ERROR = (
    "Graph execution error:\n\nDetected at node text_file_init/InitializeTableFromTextFileV2 defined at (most "
    "recent call last):\n<stack traces unavailable>\nm/7/assets/tokens; No such file or directory\n\t "
    "[[{{node text_file_init/InitializeTableFromTextFileV2}}]] [Op:__inference_restored_function_body_1413]\n "
    "You may be trying to load on a different device from the computational device."
)


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (FileNotFoundError(_GRAPH_ERROR), "FileNotFoundError: m/7/assets/tokens; No such file or directory"),
        (
            FileNotFoundError("Graph execution error:\n\nDetected at node n\nno node line\n "),
            "FileNotFoundError: no node line",
        ),
        (ValueError("first\nsecond"), "ValueError: first"),
        (OSError("Graph execution error:\n"), "OSError: Graph execution error"),
        (KeyError(), "KeyError"),
    ],
)
def test_a_load_error_is_told_by_the_line_that_names_the_problem(error, problem):
    assert predict._load_problem(error) == problem
