"""Cases a hostile user of the command line tried, each once a defect.

Every model here is a real TensorFlow SavedModel with this pipeline's
signatures, built to break one promise: one number per review.
"""

import argparse
import contextlib
import gzip
import json
import pathlib
import sqlite3
import typing
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

tf = pytest.importorskip("tensorflow")

from components.canary import checks  # noqa: E402
from components.canary.options import CanaryOptions  # noqa: E402
from pipeline import cli  # noqa: E402
from schemas import features  # noqa: E402
from tests import score_outputs  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.imdb_files import GOOD_FILES, write_archive, write_dataset  # noqa: E402

POSITIVE_WORDS = tf.constant(["wonderful", "masterpiece", "brilliant", "loved"])


def _scores(text):
    """0.9 for a review holding a positive word, else 0.1: right for the canary's clear probes."""
    words = tf.strings.split(tf.strings.lower(text))
    hits = tf.reduce_any(
        tf.equal(tf.expand_dims(words.to_tensor(default_value=""), -1), POSITIVE_WORDS), axis=[1, 2]
    )
    return tf.where(hits, 0.9, 0.1)


def _save(path: pathlib.Path, shape_output) -> str:
    """A SavedModel whose two signatures give ``shape_output(scores)`` as ``probability``."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.TEXT_INPUT)])
    def serve_text(text):
        return {features.PROBABILITY_OUTPUT: shape_output(_scores(text))}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.EXAMPLES_INPUT)])
    def serve_examples(examples):
        parsed = tf.io.parse_example(examples, {features.TEXT: tf.io.FixedLenFeature([], tf.string, "")})
        return {features.PROBABILITY_OUTPUT: shape_output(_scores(parsed[features.TEXT]))}

    module = tf.Module()
    module.serve_text, module.serve_examples = serve_text, serve_examples
    tf.saved_model.save(
        module,
        str(path),
        signatures={features.TEXT_SIGNATURE: serve_text, features.EXAMPLES_SIGNATURE: serve_examples},
    )
    return str(path)


def _two_columns(scores):
    return tf.stack([1.0 - scores, scores], axis=1)


def _first_only(scores):
    return scores[:1]


def _twice(scores):
    return tf.concat([scores, scores], axis=0)


@pytest.mark.parametrize(
    ("shape_output", "shape"),
    [(_two_columns, "[2, 2]"), (_first_only, "[1]"), (_twice, "[4]")],
)
def test_predict_refuses_a_model_without_one_probability_per_review(tmp_path, capsys, shape_output, shape):
    # Was a traceback (exit 1): float() of a row, or zip(strict=True) of unequal lengths.
    model = _save(tmp_path / "model [1]", shape_output)
    code = cli.main(["predict", "--model", model, "a wonderful film", "awful"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.strip() == (
        f"imdb-pipeline predict: {model} gave 'probability' of shape {shape} and type float32 for a batch "
        "of 2 reviews; expected one probability per review (shape [2]): the model is not this pipeline's "
        "or is broken"
    )


def test_predict_takes_one_probability_per_review_in_a_column(tmp_path, capsys):
    model = _save(tmp_path / "model", lambda scores: tf.expand_dims(scores, 1))
    assert cli.main(["predict", "--model", model, "a wonderful film", "awful"]) == 0
    assert capsys.readouterr().out == "0.9000\ta wonderful film\n0.1000\tawful\n"


def test_canary_refuses_a_model_that_gives_more_outputs_than_probes(tmp_path):
    # Was blessed: the probe process flattened the output and read only the first
    # len(probes) values, which here are right for every probe.
    model = _save(tmp_path / "model", _twice)
    options = CanaryOptions()
    result = checks.evaluate(checks.run_probes(model, options), options)
    probes = len(checks.PROBES)
    assert result.failures[0] == (
        "the model could not be served by plain TensorFlow: signature 'serving_default' gave "
        f"'probability' of shape [{2 * probes}] and type float32 for {probes} probes; "
        "expected one probability per probe"
    )


def test_canary_blesses_the_same_model_with_one_output_per_probe(tmp_path):
    model = _save(tmp_path / "model", lambda scores: scores)
    options = CanaryOptions()
    result = checks.evaluate(checks.run_probes(model, options), options)
    assert result.failures == ()


def _reviews_jsonl(count: int) -> bytes:
    return "".join(
        json.dumps({"text": f"review {n}: a wonderful film, {'very ' * (n % 7)}moving"}) + "\n"
        for n in range(count)
    ).encode()


def test_score_reads_a_relative_input_path_with_glob_characters(tmp_path, monkeypatch, capsys):
    # Was exit 1: Beam matched the escaped relative pattern "in [[]x][*]/r.jsonl" against nothing.
    model = _save(tmp_path / "model", lambda scores: scores)
    (tmp_path / "in [x]*").mkdir()
    (tmp_path / "in [x]*" / "r.jsonl").write_bytes(_reviews_jsonl(3))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["score", "--model", model, "--input", "in [x]*/r.jsonl", "--output", "out"]) == 0
    predictions = sorted(score_outputs.read_predictions(str(tmp_path / "out")), key=lambda p: p["line"])
    assert [(p["line"], p["probability"], p["label"]) for p in predictions] == [
        (1, pytest.approx(0.9), 1),
        (2, pytest.approx(0.9), 1),
        (3, pytest.approx(0.9), 1),
    ]


@pytest.mark.parametrize("option", ["--input", "--output", "--model"])
def test_score_refuses_a_path_that_is_not_utf8_naming_its_option(tmp_path, capsys, option):
    # Was exit 1: "FAILED: UnicodeEncodeError: 'utf-8' codec can't encode character '\udcff'".
    model = _save(tmp_path / "model", lambda scores: scores)
    (tmp_path / "r.jsonl").write_bytes(_reviews_jsonl(3))
    paths = {"--model": model, "--input": str(tmp_path / "r.jsonl"), "--output": str(tmp_path / "out")}
    paths[option] = str(tmp_path / "bad\udcffbyte")
    code = cli.main(["score", *[part for pair in paths.items() for part in pair]])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline score: {option}: '{tmp_path}/bad\\xffbyte' is not UTF-8 text (it holds bytes that "
        "are not UTF-8, shown as \\xXX); rename it, or name it through a path that is UTF-8"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model", "r.jsonl"]


def test_score_refuses_a_truncated_gzip_input(tmp_path, capsys):
    # Was exit 0: Beam's gzip reading stopped quietly where the file ends, scored
    # the complete lines and set the cut one aside as not_json_object.
    model = _save(tmp_path / "model", lambda scores: scores)
    whole = gzip.compress(_reviews_jsonl(2000), mtime=0)
    cut = whole[: len(whole) // 2]
    complete_lines = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut).count(b"\n")
    source = tmp_path / "reviews.jsonl.gz"
    source.write_bytes(cut)
    code = cli.main(["score", "--model", model, "--input", str(source), "--output", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline score: {source}: truncated or damaged gzip file after line {complete_lines}: "
        "Compressed file ended before the end-of-stream marker was reached"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["run", "--dry-run", "--out", "somewhere"],
            "imdb-pipeline run: error: unknown option --out (did you mean --output?); options that are not "
            "imdb-pipeline run's go to Apache Beam only if Beam knows them (see imdb-pipeline run --help)",
        ),
        (
            ["run", "--dry-run", "--no"],
            "imdb-pipeline run: error: unknown option --no (did you mean --no-cache?); options that are not "
            "imdb-pipeline run's go to Apache Beam only if Beam knows them (see imdb-pipeline run --help)",
        ),
        # Were taken silently as --output and --injected (argparse's abbreviations).
        (
            ["report", "--out", "somewhere"],
            "imdb-pipeline report: error: unrecognized arguments: --out (did you mean --output?), somewhere",
        ),
        (
            ["neighbors", "--model", "m", "--inj", "good"],
            "imdb-pipeline neighbors: error: unrecognized arguments: --inj (did you mean --injected?)",
        ),
        (
            ["predict", "--model", "m", "--batch", "3", "hi"],
            "imdb-pipeline predict: error: unrecognized arguments: --batch (did you mean --batch-size?)",
        ),
    ],
)
def test_a_cut_short_option_is_refused_with_the_option_it_begins(
    tmp_path, monkeypatch, capsys, argv, expected
):
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main(argv)
    except SystemExit as exited:  # argparse's own errors exit from inside
        code = exited.code
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == expected
    assert list(tmp_path.iterdir()) == []


def _truncated_store(path: pathlib.Path) -> bytes:
    """A real SQLite database cut short, as a full disk or a killed copy leaves it."""
    with contextlib.closing(sqlite3.connect(path)) as store:
        store.execute("CREATE TABLE Artifact (id INTEGER PRIMARY KEY, uri TEXT)")
        store.executemany("INSERT INTO Artifact (uri) VALUES (?)", [(f"uri-{n}" * 20,) for n in range(2000)])
        store.commit()
    return path.read_bytes()[:5000]


@pytest.mark.parametrize(
    ("damage", "verdict"),
    [("junk", "file is not a database"), ("truncated", "database disk image is malformed")],
)
def test_run_refuses_a_damaged_metadata_store_before_any_step(tmp_path, capsys, damage, verdict):
    # Was exit 1 after the pipeline started, with ML Metadata's SQL statement as the message.
    output = tmp_path / "out é"
    output.mkdir()
    store = b"junk\n" if damage == "junk" else _truncated_store(tmp_path / "whole.sqlite")
    (output / "metadata.sqlite").write_bytes(store)
    assert cli.main(["run", "--output", str(output)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: output: the ML Metadata store {output}/metadata.sqlite "
        f"cannot be read ({verdict}); nothing was run: restore it, or move it away to start a new store "
        "(the runs it recorded are then forgotten)"
    )
    assert sorted(p.name for p in output.iterdir()) == ["metadata.sqlite"]


def _list_options() -> list[str]:
    """Every list-valued option of ``run``: the tuple fields of the option models, as flags."""
    from pipeline import config as config_module

    fields = [(name, field) for name, field in config_module.PipelineConfig.model_fields.items()]
    for section, options_class in config_module.SECTIONS.items():
        fields += [(f"{section}.{name}", field) for name, field in options_class.model_fields.items()]
    # beam_args is no flag: the options Apache Beam knows, each given as itself.
    return sorted(
        name for name, field in fields if typing.get_origin(field.annotation) is tuple and name != "beam_args"
    )


@pytest.mark.parametrize("command", ["run", "compile"])
def test_every_list_option_is_parsed_by_the_list_rule(command):
    flags = {
        action.dest: action.type
        for action in cli._commands(cli.build_parser())[command]._actions
        if action.type is cli.ListFlag
    }
    assert sorted(flags) == _list_options() == ["trainer.conv_widths"]


@pytest.mark.parametrize("option", _list_options())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    widths=st.lists(st.integers(1, 100), min_size=1, max_size=4),
    gap=st.data(),
    blank=st.sampled_from(["", " ", "\t"]),
)
def test_a_list_option_with_an_empty_item_is_a_configuration_error(
    tmp_path, monkeypatch, capsys, option, widths, gap, blank
):
    # `--trainer.conv_widths 3,,4` was taken as 3,4: the empty item was skipped silently.
    items = [str(width) for width in widths]
    position = gap.draw(st.integers(0, len(items)))
    items.insert(position, blank)
    text = ",".join(items)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--dry-run", f"--{option}", text]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: {option} has an empty item (item {position + 1} of "
        f"{len(items)}) in {text!r}; give comma-separated whole numbers such as 3,4,5"
    )
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=6), st.sampled_from(["", " "]))
def test_a_list_option_keeps_every_item_in_order(values, space):
    text = ",".join(f"{space}{value}{space}" for value in values)
    assert cli.parse_list_flag("trainer.conv_widths", text) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3,4,", "has an empty item (item 3 of 3) in '3,4,'"),
        (",3", "has an empty item (item 1 of 2) in ',3'"),
        ("3,x", "has an item that is not a whole number (item 2 of 2, 'x') in '3,x'"),
        ("3;4", "has an item that is not a whole number (item 1 of 1, '3;4') in '3;4'"),
    ],
)
def test_a_list_option_refuses_every_bad_item_by_position(tmp_path, monkeypatch, capsys, text, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--dry-run", "--trainer.conv_widths", text]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: trainer.conv_widths {message}; "
        "give comma-separated whole numbers such as 3,4,5"
    )


def _command_options() -> list[tuple[str, str]]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        (command, option)
        for command, command_parser in action.choices.items()
        for option in cli._option_strings(command_parser)
        if option.startswith("--") and option != "--help"
    ]


# What each command says before the unknown option when nothing else is given.
_BEFORE_UNKNOWN = {
    "run": "error: ",
    "compile": "error: the following arguments are required: --output-file, --image; ",
    "score": "error: the following arguments are required: --model, --input, --output; ",
    "predict": "error: the following arguments are required: --model; ",
    "neighbors": "error: the following arguments are required: --model, WORD; ",
    "report": "error: unrecognized arguments: ",
}


@pytest.mark.parametrize(("command", "option"), _command_options())
def test_every_command_suggests_the_option_a_misspelling_meant(
    tmp_path, monkeypatch, capsys, command, option
):
    # `predict --modle x` said only "required: --model"; `neighbors --kk` got no suggestion.
    misspelt = option + option[-1]  # one letter too many: `--modell`, `--kk`
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main([command, misspelt])
    except SystemExit as exited:
        code = exited.code
    assert code == 2
    unknown = f"{misspelt} (did you mean {option}?)"
    if command == "run":
        expected = (
            f"unknown option {unknown}; options that are not imdb-pipeline {command}'s go to Apache Beam "
            f"only if Beam knows them (see imdb-pipeline {command} --help)"
        )
    elif command == "report":
        expected = unknown
    else:
        expected = f"unknown option {unknown}"
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"imdb-pipeline {command}: {_BEFORE_UNKNOWN[command]}{expected}"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["predict", "--modle", "x"],
            "imdb-pipeline predict: error: the following arguments are required: --model; "
            "unknown option --modle (did you mean --model?)",
        ),
        (
            ["neighbors", "--kk", "3"],
            "imdb-pipeline neighbors: error: the following arguments are required: --model; "
            "unknown option --kk (did you mean --k?)",
        ),
        (
            ["neighbors", "--model", "m", "--kk", "3", "good"],
            "imdb-pipeline neighbors: error: unrecognized arguments: --kk (did you mean --k?)",
        ),
        (
            ["score", "--runner=DirectRunner", "--modle", "m"],
            "imdb-pipeline score: error: the following arguments are required: --model, --input, --output; "
            "unknown option --modle (did you mean --model?)",
        ),
        (  # after `--` every word is a review text, not an option
            ["predict", "--", "--modle"],
            "imdb-pipeline predict: error: the following arguments are required: --model",
        ),
        # A single-dash option is named as `run -o` names it (said only "required: --model").
        (
            ["predict", "-m", "models/x", "a review"],
            "imdb-pipeline predict: error: the following arguments are required: --model; "
            "unknown option -m (did you mean --model?)",
        ),
        (  # a value attached to a single-dash option is not part of its name
            ["predict", "-m/models/x", "a review"],
            "imdb-pipeline predict: error: the following arguments are required: --model; "
            "unknown option -m (did you mean --model?)",
        ),
        (  # a single dash is suggested the one long option it abbreviates, not the closest spelling (--k)
            ["neighbors", "-m", "models/x", "good"],
            "imdb-pipeline neighbors: error: the following arguments are required: --model; "
            "unknown option -m (did you mean --model?)",
        ),
        (
            ["neighbors", "-k", "3", "good"],
            "imdb-pipeline neighbors: error: the following arguments are required: --model; "
            "unknown option -k (did you mean --k?)",
        ),
        (
            ["score", "-i", "reviews.txt"],
            "imdb-pipeline score: error: the following arguments are required: --model, --input, --output; "
            "unknown option -i",
        ),
        (  # argparse takes these for review texts, not options: `-`, a negative number, words with a space
            ["predict", "-", "-3", "-0.5", "-m is a bad review"],
            "imdb-pipeline predict: error: the following arguments are required: --model",
        ),
    ],
)
def test_a_missing_required_option_does_not_hide_an_unknown_one(
    tmp_path, monkeypatch, capsys, argv, expected
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == expected


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "archive"])
def test_a_dataset_path_holding_a_bracket_prints_no_future_warning(tmp_path, packed):
    # Python's re warned "FutureWarning: Possible nested set" on stderr for the escape [[] of
    # "d [x" from inside Beam's FileSystem.match.
    model = _save(tmp_path / "model", lambda scores: scores)
    if packed:
        data = write_archive(tmp_path / "d [x" / "aclImdb.tar.gz", GOOD_FILES)
    else:
        data = write_dataset(tmp_path / "d [x" / "aclImdb", GOOD_FILES)
    done = run_cli("score", "--model", model, "--input", str(data), "--output", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    reviews = [name for name in GOOD_FILES if not name.split("/")[-1].startswith("urls_")]
    assert len(score_outputs.read_predictions(str(tmp_path / "out"))) == len(reviews)
