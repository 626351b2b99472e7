"""``imdb-pipeline predict``: reviews from arguments, files and stdin; output formats; clear errors.

The CLI tests use the model pushed by the shared end-to-end run (tests/conftest.py,
``pushed_run``); the readers and formats are tested as plain functions.
"""

import codecs
import contextlib
import io
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st
import pytest

from pipeline import predict
from tests.conftest import CLI
from tests.test_score import length_model  # noqa: F401 (a fixture)

MODEL_NAME = "imdb_sentiment"

REVIEWS = [
    "a wonderful, moving masterpiece",
    "an awful, boring waste of time",
    "Ce film est magnifique \u2014 \u00e9mouvant",
    'He said "meh",\tthen left.',
    "",
    "not bad at all",
]


def _predict(*args, stdin=None, cwd):
    return subprocess.run(
        [CLI, "predict", *args], input=stdin, cwd=cwd, capture_output=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def model_dir(pushed_run):
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    return output / "serving" / MODEL_NAME


@pytest.mark.slow
def test_a_file_stdin_and_json_lines_give_the_same_numbers_as_arguments(model_dir, tmp_path):
    by_arguments = _predict("--model", str(model_dir), *REVIEWS, cwd=tmp_path)
    assert by_arguments.returncode == 0, by_arguments.stderr[-3000:]
    # Nothing on stderr: TensorFlow's start-up lines are filtered out.
    assert by_arguments.stderr == b""
    rows = [line.split("\t", 1) for line in by_arguments.stdout.decode().splitlines()]
    assert [text for _, text in rows] == [text.replace("\t", "\\t") for text in REVIEWS]
    probabilities = [float(p) for p, _ in rows]
    assert probabilities[1] < 0.3 < 0.7 < probabilities[0]

    lines = "".join(f"{text}\n" for text in REVIEWS).encode()
    (tmp_path / "reviews.txt").write_bytes(lines)
    by_file = _predict("--model", str(model_dir), "--input", "reviews.txt", "--batch-size", "2", cwd=tmp_path)
    by_stdin = _predict("--model", str(model_dir), "-", stdin=lines.replace(b"\n", b"\r\n"), cwd=tmp_path)
    by_stdin_flag = _predict("--model", str(model_dir), "--input", "-", stdin=lines, cwd=tmp_path)
    for result in (by_file, by_stdin, by_stdin_flag):
        assert (result.returncode, result.stdout, result.stderr) == (0, by_arguments.stdout, b"")

    records = [{"id": f"r{i}", "text": text} for i, text in enumerate(REVIEWS)]
    (tmp_path / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    by_json = _predict(
        "--model", str(model_dir), "--input", "reviews.jsonl", "--format", "jsonl", cwd=tmp_path
    )
    assert by_json.returncode == 0, by_json.stderr[-3000:]
    scored = [json.loads(line) for line in by_json.stdout.decode().splitlines()]
    assert [{k: v for k, v in s.items() if k != "probability"} for s in scored] == records
    assert [f"{s['probability']:.4f}" for s in scored] == [p for p, _ in rows]

    verbose = _predict("--model", str(model_dir), "--verbose", "fine", cwd=tmp_path)
    assert verbose.returncode == 0
    assert b"All log messages before absl::InitializeLog()" in verbose.stderr


def _copy_model(model_dir: Path, destination: Path) -> Path:
    (version,) = [name for name in os.listdir(model_dir) if name.isdigit()]
    return Path(shutil.copytree(model_dir / version, destination))


@pytest.mark.slow
def test_a_damaged_or_foreign_model_and_unreadable_reviews_are_usage_errors(model_dir, tmp_path):
    truncated = _copy_model(model_dir, tmp_path / "truncated")
    pb = truncated / predict.SAVED_MODEL_FILE
    pb.write_bytes(pb.read_bytes()[:1000])
    no_variables = _copy_model(model_dir, tmp_path / "no_variables")
    shutil.rmtree(no_variables / "variables")
    foreign = tmp_path / "foreign"
    script = textwrap.dedent(
        f"""
        import tensorflow as tf
        class Doubler(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
            def double(self, x):
                return {{"y": 2 * x}}
        module = Doubler()
        tf.saved_model.save(module, {str(foreign)!r}, signatures={{"serving_default": module.double}})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    (tmp_path / "latin1.txt").write_bytes(b"fine\ncaf\xe9 au lait\n")
    (tmp_path / "no_text.jsonl").write_bytes(b'{"text": "fine"}\n{"review": "no text field"}\n')

    cases = [
        (
            ("--model", str(truncated), "x"),
            f"{truncated}: the SavedModel cannot be loaded (truncated or damaged?): OSError: Cannot parse file "
            f"b'{pb}': Error parsing message with type 'tensorflow.SavedModel'.",
        ),
        (
            ("--model", str(no_variables), "x"),
            f"{no_variables}: the SavedModel cannot be loaded (truncated or damaged?): FileNotFoundError: "
            "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for "
            f"{no_variables}/variables/variables",
        ),
        (
            ("--model", str(foreign), "x"),
            f"{foreign} is not a model of this pipeline: 'serving_default' takes (x: float32) and gives ['y']; "
            "expected signature 'serving_default' taking a string 'text' and giving 'probability'",
        ),
        (
            ("--model", str(tmp_path), "x"),
            f"{tmp_path} holds no SavedModel: expected saved_model.pb in it or in an integer version folder below it",
        ),
        (
            ("--model", str(model_dir), "good", os.fsdecode(b"caf\xe9")),
            "TEXT argument 2 is not valid UTF-8 (byte 0xe9 at byte 3)",
        ),
        (
            ("--model", str(model_dir), "--input", "latin1.txt"),
            "latin1.txt, line 2 is not valid UTF-8 (byte 0xe9 at byte 3)",
        ),
        (
            ("--model", str(model_dir), "--input", "no_text.jsonl"),
            'no_text.jsonl, line 2: the JSON object has no string "text" field',
        ),
        (
            ("--model", str(model_dir), "--input", "missing.txt"),
            "--input missing.txt: No such file or directory",
        ),
        (
            ("--model", str(model_dir)),
            "no reviews: give review texts as arguments, or --input FILE (one review per line, or JSON Lines "
            "with a text field; - for standard input)",
        ),
        (
            ("--model", str(model_dir), "--input", "latin1.txt", "also a text"),
            "give review texts as arguments, or --input FILE (one review per line, or JSON Lines with a text "
            "field; - for standard input), not both",
        ),
    ]
    for args, message in cases:
        result = _predict(*args, cwd=tmp_path)
        stderr = result.stderr.decode()
        assert result.returncode == 2, (args, stderr)
        assert stderr == f"imdb-pipeline predict: {message}\n", args

    neighbor_cases = [
        (
            ("--model", str(foreign), "great"),
            f"{foreign} has no embeddings/ folder: the model has no embedding",
        ),
        (("--model", str(model_dir), "great", os.fsdecode(b"\xff")), "WORD argument 2 is not valid UTF-8"),
    ]
    damaged = _copy_model(model_dir, tmp_path / "damaged_embeddings")
    matrix = damaged / "embeddings" / "embeddings.npy"
    matrix.write_bytes(matrix.read_bytes()[:5000])
    neighbor_cases.append(
        (("--model", str(damaged), "great"), f"{matrix} cannot be read (truncated or damaged?): EOF: reading")
    )
    for args, start in neighbor_cases:
        result = subprocess.run([CLI, "neighbors", *args], cwd=tmp_path, capture_output=True, timeout=300)
        stderr = result.stderr.decode()
        assert result.returncode == 2, (args, stderr)
        assert stderr.startswith(f"imdb-pipeline neighbors: {start}"), stderr
        assert "Traceback" not in stderr


texts_without_line_breaks = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=30), max_size=8
)


@given(texts=texts_without_line_breaks, crlf=st.booleans())
def test_one_review_per_line_reads_back_every_text_in_order(texts, crlf):
    if texts and texts[0].lstrip().startswith("{"):
        texts[0] = "x" + texts[0]  # a first line that is a JSON object means JSON Lines
    end = "\r\n" if crlf else "\n"
    data = "".join(text + end for text in texts).encode("utf-8")
    reviews = list(predict.reviews_from_stream(io.BytesIO(data), "in.txt"))
    assert [review.text for review in reviews] == [
        text.removeprefix("\ufeff") if i == 0 else text for i, text in enumerate(texts)
    ]
    assert [review.where for review in reviews] == [f"in.txt, line {i}" for i in range(1, len(texts) + 1)]


@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"text": st.text(st.characters(codec="utf-8"), max_size=30)},
            optional={"id": st.integers(), "label": st.sampled_from(["pos", "neg"])},
        ),
        min_size=1,
        max_size=6,
    )
)
def test_json_lines_keep_every_field_and_text_survives_both_output_formats(records):
    data = "".join(json.dumps(record) + "\n" for record in records).encode("utf-8")
    reviews = list(predict.reviews_from_stream(io.BytesIO(data), "in.jsonl"))
    assert [review.text for review in reviews] == [record["text"] for record in records]
    for review, record in zip(reviews, records, strict=True):
        assert json.loads(predict.format_result(review, 0.25, predict.JSON_LINES)) == {
            **record,
            "probability": 0.25,
        }
        line = predict.format_result(review, 0.25, predict.TSV)
        assert "\n" not in line and line.count("\t") == 1
        escaped = line.split("\t")[1]
        unescaped = escaped.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        assert unescaped == record["text"]


@given(st.text(st.characters(codec="utf-8")))
def test_a_tsv_line_holds_no_character_that_ends_a_field_or_line_and_gives_the_text_back(text):
    line = predict.format_result(predict.Review(text, "in, line 1"), 0.5, predict.TSV)
    assert line.count("\t") == 1 and len(line.splitlines()) == 1
    field = line.split("\t")[1]
    assert not [c for c in field if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    assert codecs.escape_decode(field.encode())[0].decode() == text


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("a\tb\nc\r\\d", "a\\tb\\nc\\r\\\\d"),
        ("nul\0end", "nul\\x00end"),
        ("next\x85line\u2028sep\u2029para", "next\\xc2\\x85line\\xe2\\x80\\xa8sep\\xe2\\x80\\xa9para"),
        ("bell\x07 del\x7f é ✓", "bell\\x07 del\\x7f é ✓"),
    ],
)
def test_tsv_escapes_of_named_characters(text, field):
    assert predict.format_result(predict.Review(text, "in, line 1"), 0.25, predict.TSV) == f"0.2500\t{field}"


def test_a_first_line_that_is_not_a_json_object_means_one_review_per_line():
    data = b'[1, 2 stars]\n{"text": "an object later is still a line"}\n'
    assert [r.text for r in predict.reviews_from_stream(io.BytesIO(data), "in")] == [
        "[1, 2 stars]",
        '{"text": "an object later is still a line"}',
    ]
    # A line that only begins like JSON is text: a footnote mark, a bracket, an object and words after it.
    for line in (
        "[1] a great film",
        "[spoiler] it ends well",
        "{} braces",
        "{a} and more",
        "[1, 2 stars]",
    ):
        assert [r.text for r in predict.reviews_from_stream(io.BytesIO(line.encode() + b"\n"), "in")] == [
            line
        ]
    forced = predict.reviews_from_stream(io.BytesIO(b'{"text": "x"}\n[1, 2]\n'), "in", predict.LINES)
    assert [r.text for r in forced] == ['{"text": "x"}', "[1, 2]"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"text": "a"}, {"text": "b"}]\n', "in, line 1 is a JSON array, not JSON Lines"),
        (b"[1, 2]\n", "in, line 1 is a JSON array, not JSON Lines"),
        (b'[\n  {"text": "a"}\n]\n', "in, line 1 starts a JSON document over several lines, not JSON Lines"),
        (b'{\n  "text": "a"\n}\n', "in, line 1 starts a JSON document over several lines, not JSON Lines"),
        # The first line is the start of a JSON document that goes on: an array or an object over lines.
        (
            b'[{"text": "a wonderful film"},\n {"text": "an awful film"}]\n',
            "in, line 1 starts a JSON document over several lines, not JSON Lines",
        ),
        (b'{"text":\n"good"}\n', "in, line 1 starts a JSON document over several lines, not JSON Lines"),
        (
            b'  [ {"text": "a", "n": [1, \n2]}]',
            "in, line 1 starts a JSON document over several lines, not JSON Lines",
        ),
        (
            b'{"text": "a"} {"text": "b"}\n',
            "in, line 1 holds more than one JSON object: give one JSON object per line",
        ),
        # A first line beginning {" is a JSON object, read strictly: broken, it is an error, not a review text.
        (
            b'{"text":"good",}\n{"text":"bad"}\n',
            "in, line 1 is not strict JSON: Expecting property name enclosed in double quotes",
        ),
        (b'{"text": "a", "x": NaN}\n', "in, line 1 is not strict JSON: NaN is not a JSON value"),
        (b'{"text": "a", "x": -Infinity}\n', "in, line 1 is not strict JSON: -Infinity is not a JSON value"),
        (
            b'{"text": "a", "x": 1e999}\n',
            "in, line 1 is not strict JSON: 1e999 is too large for a 64-bit float",
        ),
        (b'{"text": "a", "text": "b"}\n', "in, line 1 is not strict JSON: the key 'text' appears twice"),
        (
            b'{"text": "a"}\n{"text": "b", "x": [1, NaN]}\n',
            "in, line 2 is not strict JSON: NaN is not a JSON value",
        ),
        (b'{"text": "a"}\n[{"text": "b"}]\n', "in, line 2 is a JSON array, not a JSON object"),
        (b'{"text": "a"}\n\n{"text": "b"}\n', "in, line 2 is blank (JSON Lines input: one object per line)"),
        (
            b'{"text": "a", "x": ["\\udc80"]}\n',
            "in, line 1 is not strict JSON: a lone surrogate \\udc80 is not text",
        ),
    ],
)
def test_json_input_is_read_strictly_naming_the_line(data, message):
    with pytest.raises(predict.InputError) as raised:
        list(predict.reviews_from_stream(io.BytesIO(data), "in"))
    assert str(raised.value).startswith(message)


def test_blank_lines_at_the_end_of_json_lines_are_ignored():
    data = b'{"text": "a"}\r\n{"text": "b"}\n\n  \n'
    assert [r.text for r in predict.reviews_from_stream(io.BytesIO(data), "in")] == ["a", "b"]
    lines = predict.reviews_from_stream(io.BytesIO(b"a\n\n"), "in")
    assert [r.text for r in lines] == ["a", ""]  # one review per line: a blank line is an empty review


def test_json_lines_output_is_strict_json():
    review = predict.Review("great", "in, line 1", {"id": 1})
    assert (
        predict.format_result(review, 0.5, predict.JSON_LINES)
        == '{"id": 1, "text": "great", "probability": 0.5}'
    )
    with pytest.raises(ValueError):
        predict.format_result(review, float("nan"), predict.JSON_LINES)


@given(st.floats())
def test_a_probability_is_a_finite_number_from_0_to_1(value):
    problem = predict.not_a_probability("m/1", value)
    if 0.0 <= value <= 1.0:  # False for NaN
        assert problem is None
    else:
        assert problem == (
            f"m/1 gave {value}, which is not a probability in [0, 1]: the model is broken for this review "
            "(the canary refuses such a model before a push)"
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.25, 1.5])
def test_predict_refuses_a_batch_holding_an_output_that_is_not_a_probability(value):
    reviews = [predict.Review("good", "TEXT argument 1"), predict.Review("bad", "TEXT argument 2")]
    out = io.StringIO()
    with pytest.raises(predict.ModelOutputError) as raised:
        predict.score(lambda texts: [0.75, value], reviews, predict.TSV, out)
    assert str(raised.value) == (
        f"the model gave {value} for TEXT argument 2, which is not a probability in [0, 1]: the model is "
        "broken (the canary refuses such a model before a push)"
    )
    assert out.getvalue() == ""  # nothing of the batch is written


@pytest.mark.parametrize(
    ("line", "noise"),
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", True),
        (
            "I0000 00:00:1795799405.645797    4021 port.cc:153] oneDNN custom operations are on. You may see "
            "slightly different numerical results",
            True,
        ),
        (
            "I0000 00:00:1795799405.646554    4021 cudart_stub.cc:31] Could not find cuda drivers on your "
            "machine, GPU will not be used.",
            True,
        ),
        (
            "E0000 00:00:1795799416.918593    4021 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
            "error: Failed call to cuInit: UNKNOWN ERROR (303)",
            True,
        ),
        ("E0000 00:00:1795799416.918593    4021 saved_model_bundle.cc:9] Loading failed", False),
        ("Traceback (most recent call last):", False),
        ("imdb-pipeline predict: x is not a model", False),
    ],
)
def test_startup_noise_is_told_from_real_errors(line, noise):
    assert predict.is_startup_noise(line + "\n") is noise


def test_the_stderr_filter_passes_real_errors_and_python_writes(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys
        from pipeline.predict import stderr_without_startup_noise
        with stderr_without_startup_noise():
            os.write(2, b"I0000 00:00:1.5    42 port.cc:153] oneDNN custom operations are on.\\n")
            os.write(2, b"E0000 00:00:1.5    42 other.cc:7] a real C++ error\\n")
            print("a Python warning", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "E0000 00:00:1.5    42 other.cc:7] a real C++ error\na Python warning\nafter\n"


@pytest.mark.slow
def test_a_reader_that_stops_early_ends_predict_quietly(model_dir, tmp_path):
    (tmp_path / "many.txt").write_text("".join(f"review {i}\n" for i in range(3000)), encoding="utf-8")
    process = subprocess.Popen(
        [CLI, "predict", "--model", str(model_dir), "--input", "many.txt", "--batch-size", "10"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline().endswith(b"\treview 0\n")
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=300) == 1
    assert stderr == b""


@pytest.mark.slow
def test_scoring_imports_tensorflow_alone(model_dir, tmp_path):
    """What predict loads: TensorFlow for the SavedModel, not TFX, Beam, tf.Transform or Keras."""
    script = textwrap.dedent(
        f"""
        import sys
        from pipeline import predict
        predict.import_tensorflow()
        print(predict.Classifier({str(model_dir)!r})(["a wonderful film"]))
        heavy = ("tfx", "apache_beam", "tensorflow_transform", "tensorflow_model_analysis", "keras",
                 "tf_keras", "sklearn", "gensim", "pandas", "matplotlib")
        print(sorted(name for name in heavy if name in sys.modules))
        import tensorflow as tf
        print(tf.keras.layers.Dense.__module__.split(".")[0])  # tf.keras still imports when used
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores, loaded, keras_package = result.stdout.strip().splitlines()[-3:]
    assert 0.5 < json.loads(scores)[0] <= 1
    assert loaded == "[]"
    assert keras_package in ("keras", "tf_keras")


@pytest.mark.slow
def test_a_model_path_with_glob_characters_is_read_literally(model_dir, tmp_path):
    """TensorFlow's checkpoint reader globs the variables' path; predict must not."""
    odd = tmp_path / "runs [v1] *?" / "imdb_sentiment"
    odd.mkdir(parents=True)
    _copy_model(model_dir, odd / "7")
    by_odd = _predict("--model", str(odd), "a wonderful film", "awful", cwd=tmp_path)
    plain = _predict("--model", str(model_dir), "a wonderful film", "awful", cwd=tmp_path)
    assert by_odd.returncode == 0, by_odd.stderr[-3000:]
    assert by_odd.stdout == plain.stdout


def test_a_model_directory_resolves_to_its_newest_version_named_by_its_number(tmp_path):
    """A copy named 0099, or a folder of other digits, is no version (its number would name another folder)."""
    for name in ("7", "0099", "\u0669\u0669", "12a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / predict.SAVED_MODEL_FILE).write_bytes(b"")
    assert predict.resolve_model_dir(str(tmp_path)) == str(tmp_path / "7")


@pytest.mark.parametrize("model", ["", "  "])
def test_an_empty_model_path_is_a_usage_error(tmp_path, model):
    """As ``--output ''`` is: before, ``predict`` said " does not exist" (the empty path, unnamed)."""
    with pytest.raises(predict.ModelNotFoundError) as raised:
        predict.resolve_model_dir(model)
    message = "--model is empty: name a pushed version directory or the model directory above it"
    assert str(raised.value) == message
    result = _predict("--model", model, "a wonderful film", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().splitlines()[-1] == f"imdb-pipeline predict: {message}"


def test_json_lines_output_refuses_a_record_whose_probability_it_would_overwrite(length_model, tmp_path):  # noqa: F811
    """Before: the record's own ``probability`` was silently replaced by the model's."""
    (tmp_path / "in.jsonl").write_text(
        '{"text": "great", "id": 1}\n{"text": "bad", "probability": 0.3}\n', encoding="utf-8"
    )
    refused = _predict("--model", str(length_model), "--input", "in.jsonl", "--format", "jsonl", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, b"")
    assert refused.stderr.decode().splitlines()[-1] == (
        'imdb-pipeline predict: in.jsonl, line 2: the JSON object has a "probability" field, which '
        "--format jsonl writes: rename it, or use --format tsv"
    )
    tsv = _predict("--model", str(length_model), "--input", "in.jsonl", cwd=tmp_path)
    assert (tsv.returncode, tsv.stdout) == (0, b"0.0500\tgreat\n0.0300\tbad\n")


_STANDARD_INPUT_ONCE = (
    "imdb-pipeline predict: - (standard input) is given twice; it can be read once: give - once"
)


def _standard_input_alone(number: int) -> str:
    return (
        f"imdb-pipeline predict: TEXT argument {number} is - (reviews from standard input): give - alone, "
        "without review texts or --input (a review that is - itself goes on standard input)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Before: both scored as the text "-", exit 0.
        (["-", "-"], _STANDARD_INPUT_ONCE),
        (["--input", "-", "-"], _STANDARD_INPUT_ONCE),
        # Before: "-" beside a text scored as the text "-".
        (["a wonderful film", "-"], _standard_input_alone(2)),
        (["-", "awful"], _standard_input_alone(1)),
        # Before: "give review texts as arguments, or --input FILE (...), not both", though - was meant.
        (["--input", "reviews.txt", "-"], _standard_input_alone(1)),
    ],
)
def test_standard_input_is_read_once_and_alone(tmp_path, monkeypatch, capsys, args, message):
    from pipeline import cli

    monkeypatch.chdir(tmp_path)
    # Refused before the model is looked at, so a missing one does not hide it.
    assert cli.main(["predict", "--model", "missing", *args]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"{message}\n")


_TEXTS_OR_DASHES = st.lists(st.sampled_from(["-", "a wonderful film", "awful"]), max_size=3)


@given(before=_TEXTS_OR_DASHES, after=_TEXTS_OR_DASHES, flag=st.sampled_from([None, "-", "reviews.txt"]))
def test_a_dash_is_standard_input_only_as_the_one_source(before, after, flag):
    """Whatever the TEXT arguments around a - and --input: - is standard input when it is the only source,
    refused (exit 2, before the model is looked at) wherever else it stands: given twice, or beside others."""
    import argparse

    from pipeline.commands import predict as command

    texts = [*before, "-", *after]
    assume(texts != ["-"] or flag is not None)  # the one way to read standard input
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        assert command.main(argparse.Namespace(texts=texts, input=flag)) == 2
    twice = texts.count("-") + (flag == "-") > 1
    expected = _STANDARD_INPUT_ONCE if twice else _standard_input_alone(len(before) + 1)
    assert stderr.getvalue() == f"{expected}\n"
