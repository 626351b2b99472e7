"""Configuration: defaults, file and flag precedence, errors that name the field."""

import argparse
import functools
import json
import math
import os
from pathlib import Path
import sys

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
import pytest

from components.options import OptionsError
from components.trainer.options import TrainerOptions
from pipeline import cli, preflight
from pipeline import config as config_module
from pipeline.config import (
    DEFAULT_RUNNER_ARG,
    SAMPLE_DATA,
    SECTIONS,
    PipelineConfig,
    build_config,
    load_config_file,
)
from tests.conftest import run_cli


def _config_from_command_line(*argv):
    args, beam_args = cli.build_parser().parse_known_args(["run", *argv])
    return cli.config_from_args(args, beam_args)


def test_defaults_use_the_bundled_sample_and_an_offline_beam_runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = build_config()
    assert config.data == str(SAMPLE_DATA)
    assert SAMPLE_DATA.is_file()
    assert config.beam_args == (DEFAULT_RUNNER_ARG,)
    assert config.serving_model_dir == f"{tmp_path}/imdb-pipeline-output/serving/imdb_sentiment"


def test_flags_override_the_config_file_which_overrides_defaults(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "trainer:\n  epochs: 7\n  architecture: cnn\ntransform:\n  max_length: 64\neval_percent: 20\n"
    )
    config = _config_from_command_line(
        "--config", str(config_file), "--trainer.epochs", "3", "--trainer.conv_widths", "2,3"
    )
    assert config.trainer.epochs == 3  # flag beats file
    assert config.trainer.architecture == "cnn"  # file beats default
    assert config.trainer.conv_widths == (2, 3)
    assert config.transform.max_length == 64
    assert config.transform.vocab_size == 20_000  # default
    assert config.eval_percent == 20


def test_boolean_flags_parse_true_and_false():
    assert (
        _config_from_command_line("--embedding.lowercase_fallback", "false").embedding.lowercase_fallback
        is False
    )
    assert (
        _config_from_command_line("--embedding.lowercase_fallback", "True").embedding.lowercase_fallback
        is True
    )


# YAML 1.1's spellings of true and false (PyYAML's), each letter in either case below.
_YAML_11_BOOLS = ("y", "yes", "n", "no", "true", "false", "on", "off", "1", "0")


def _config_file_bool(text: str, tmp_path_factory, padding: str = "") -> bool | None:
    """``trainer.warm_start: <padding><text><padding>`` as a config file reads it: True or False, None when
    refused (a padding of other blanks than spaces: not YAML, or part of the value)."""
    path = tmp_path_factory.mktemp("bool") / "c.yaml"
    path.write_text(f"trainer:\n  warm_start: {padding}{text}{padding}\n", encoding="utf-8")
    try:
        return build_config(load_config_file(str(path))).trainer.warm_start
    except OptionsError as error:
        if padding.strip(" "):
            assert str(error).startswith(
                (
                    f"config file {path}, line 2: not valid YAML: ",
                    "trainer.warm_start must be true or false, got ",
                )
            )
            return None
        value = int(text) if text.isdigit() else text  # 1 and 0 are numbers in a file
        assert str(error) == f"trainer.warm_start must be true or false, got {value!r}"
        return None


@settings(max_examples=80, deadline=None)
@given(
    word=st.sampled_from(_YAML_11_BOOLS),
    upper=st.lists(st.booleans(), min_size=5, max_size=5),
    padding=st.text(st.sampled_from(" \t\u00a0\u3000\x0b\x0c"), max_size=3),
)
def test_a_true_false_flag_takes_exactly_what_a_config_file_takes(word, upper, padding, tmp_path_factory):
    """Padded as a file's line is: spaces are taken by both, a tab or other blank by neither (before: the
    flag took any blank a file refuses)."""
    text = "".join(c.upper() if up else c for c, up in zip(word, upper, strict=False)) + word[len(upper) :]
    expected = _config_file_bool(text, tmp_path_factory, padding)
    flag = padding + text + padding
    if expected is None:
        with pytest.raises(SystemExit):
            _config_from_command_line("--trainer.warm_start", flag)
    else:
        assert _config_from_command_line("--trainer.warm_start", flag).trainer.warm_start is expected


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("1", ": write true"),
        ("yes", ": write true"),
        ("ON", ": write true"),
        ("0", ": write false"),
        ("no", ": write false"),
        ("off", ": write false"),
        ("tRue", ": write true"),
        ("\tfalse", ": write false"),
        ("", ""),
        ("y", ""),
    ],
)
def test_a_true_false_flag_refuses_other_spellings_naming_the_ones_it_takes(text, advice):
    """A spelling the flag once took (1, yes, on, any case, padded) is refused saying what to write instead."""
    with pytest.raises(argparse.ArgumentTypeError) as error:
        cli._parse_bool(text)
    assert str(error.value) == (
        f"expected true or false (true, True, TRUE, false, False, FALSE), got {text!r}{advice}"
    )


def test_the_ablation_switches_are_flags_defaulting_to_on():
    assert (build_config().trainer.use_embeddings, build_config().embedding.pretrained) == (True, True)
    config = _config_from_command_line("--trainer.use_embeddings", "false", "--embedding.pretrained", "false")
    assert (config.trainer.use_embeddings, config.trainer.use_ngrams) == (False, True)
    assert config.embedding.pretrained is False


def test_embedding_training_schedule_and_vector_format_flags():
    trainer = _config_from_command_line(
        "--trainer.embedding_training",
        "frozen_then_fine_tune",
        "--trainer.unfreeze_after_epochs",
        "3",
        "--trainer.epochs",
        "4",
        "--trainer.fine_tune_learning_rate",
        "0.0001",
    ).trainer
    assert (trainer.embedding_training, trainer.unfreeze_after_epochs, trainer.fine_tune_learning_rate) == (
        "frozen_then_fine_tune",
        3,
        0.0001,
    )
    assert build_config().trainer.embedding_training == "fine_tune"
    embedding = _config_from_command_line("--embedding.vectors_format", "word2vec_binary").embedding
    assert embedding.vectors_format == "word2vec_binary"
    assert build_config().embedding.vectors_format == "auto"
    with pytest.raises(OptionsError, match=r"trainer.unfreeze_after_epochs must be less than trainer.epochs"):
        _config_from_command_line(
            "--trainer.embedding_training", "frozen_then_fine_tune", "--trainer.epochs", "1"
        )
    with pytest.raises(OptionsError, match=r"embedding.vectors_format must be one of auto, glove, word2vec"):
        build_config({"embedding": {"vectors_format": "fasttext"}})


def test_unknown_flags_go_to_beam_with_the_default_runner_unless_one_is_named():
    config = _config_from_command_line("--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert config.beam_args == (
        DEFAULT_RUNNER_ARG,
        "--direct_num_workers=2",
        "--direct_running_mode=multi_processing",
    )
    config = _config_from_command_line("--runner=DirectRunner")
    assert config.beam_args == ("--runner=DirectRunner",)


@pytest.mark.parametrize("flag", ["--dry_run", "--dry_run=true"])
def test_beam_s_spelling_of_a_command_option_is_refused_not_passed_to_beam(flag):
    """`--dry_run` is Beam's test option, so it went to Beam and the whole pipeline ran and pushed."""
    with pytest.raises(cli.UsageError) as error:
        _config_from_command_line(flag)
    assert str(error.value) == (
        "--dry_run is Apache Beam's option, not imdb-pipeline run's --dry-run: did you mean --dry-run?"
    )


def test_misspelt_section_options_are_rejected_not_passed_to_beam():
    with pytest.raises(cli.UsageError) as error:
        _config_from_command_line("--trainer.epoch=3")
    assert str(error.value) == (
        "unknown option --trainer.epoch (did you mean --trainer.epochs?); "
        "options that are not imdb-pipeline run's go to Apache Beam only if Beam knows them"
    )


def _one_edit_away(name: str, letters: str) -> set[str]:
    """Every name one letter added, removed or replaced away from ``name``, or with two neighbours swapped."""
    splits = [(name[:i], name[i:]) for i in range(len(name) + 1)]
    added = {start + letter + rest for start, rest in splits for letter in letters}
    removed = {start + rest[1:] for start, rest in splits if rest}
    replaced = {start + letter + rest[1:] for start, rest in splits if rest for letter in letters}
    swapped = {start + rest[1] + rest[0] + rest[2:] for start, rest in splits if len(rest) > 1}
    return (added | removed | replaced | swapped) - {name}


@given(st.text("ab-", max_size=6), st.text("ab-", max_size=6))
def test_a_misspelling_is_one_edit_apart_exactly_when_one_letter_or_one_swap_differs(a, b):
    assert config_module._one_edit_apart(a, b) == (b in _one_edit_away(a, "ab-"))
    assert config_module._one_edit_apart(a, b) == config_module._one_edit_apart(b, a)


def test_a_misspelling_is_shown_with_the_closest_known_option():
    known = ["--output", "--data", "--vectors", "--k"]
    assert config_module.did_you_mean("--kk", known) == " (did you mean --k?)"
    assert config_module.did_you_mean("--dtaa", known) == " (did you mean --data?)"
    assert config_module.did_you_mean("--out", known) == " (did you mean --output?)"
    assert config_module.did_you_mean("--VECTORS", known) == " (did you mean --vectors?)"
    assert config_module.did_you_mean("--zzz", known) == ""


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"transform": {"vocab_size": 1}}, r"transform.vocab_size must be between 3 and 5000000, got 1"),
        ({"trainer": {"learning_rate": "fast"}}, r"trainer.learning_rate must be a number, got 'fast'"),
        ({"trainer": {"dropout": 1.5}}, r"trainer.dropout must be between 0.0 and 0.95, got 1.5"),
        (
            {"word2vec": {"algorithm": "glove"}},
            r"word2vec.algorithm must be one of skipgram, cbow; got 'glove'",
        ),
        ({"evaluation": {"min_auc": 2}}, r"evaluation.min_auc must be between 0.0 and 1.0, got 2.0"),
        ({"trainer": {"epoch": 3}}, r"unknown option 'trainer.epoch'"),
        ({"trainner": {"epochs": 3}}, r"unknown configuration key 'trainner'"),
        ({"eval_percent": 0}, r"eval_percent must be a whole number between 1 and 50, got 0"),
        ({"data": "/no/such/aclImdb"}, r"data: /no/such/aclImdb does not exist"),
        ({"vectors": "/no/such/glove.txt"}, r"vectors: /no/such/glove.txt is not a file"),
        ({"data": "/no/such/span-{SPAN}"}, r"data: /no/such, the folder holding the spans, does not exist"),
        ({"model_name": "my model"}, r"model_name must be letters, digits"),
        ({"model_name": ".."}, r"model_name must name a folder of its own, got '\.\.'"),
        ({"model_name": "."}, r"model_name must name a folder of its own, got '\.'"),
        ({"beam_args": "--runner=FnApiRunner"}, r"beam_args must be a list of flags"),
        (
            {"trainer": {"use_embeddings": False, "use_ngrams": False}},
            r"trainer.use_embeddings and trainer.use_ngrams are both false: the model needs at least one branch",
        ),
        (
            {"trainer": {"use_embeddings": False}, "transform": {"ngram_max": 0}},
            r"trainer.use_embeddings is false and transform.ngram_max is 0",
        ),
    ],
)
def test_invalid_values_are_rejected_with_the_field_named(values, message):
    with pytest.raises(OptionsError, match=message):
        preflight.check(build_config(values))


def test_config_file_errors_are_clear(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("trainer: [unclosed\n")
    with pytest.raises(OptionsError, match=f"config file {bad_yaml}, line 2: "):
        load_config_file(str(bad_yaml))
    a_list = tmp_path / "list.yaml"
    a_list.write_text("- 1\n- 2\n")
    with pytest.raises(OptionsError, match="must hold a mapping of keys, got list"):
        load_config_file(str(a_list))
    with pytest.raises(OptionsError, match="cannot read config file"):
        load_config_file(str(tmp_path / "missing.yaml"))


def test_options_round_trip_through_json_unchanged():
    config = build_config({"trainer": {"conv_widths": [2, 5], "epochs": 2}})
    assert TrainerOptions.from_json(config.trainer.to_json()) == config.trainer


def test_every_section_round_trips_through_json_as_the_executors_receive_it():
    """What a component puts in its exec properties (to_json) is what its executor rebuilds (from_json)."""
    config = build_config(
        {
            "example_gen": {"max_bad_share": 0.25, "quarantine_duplicates": False},
            "transform": {"ngram_max": 0, "vocab_size": 300},
            "word2vec": {"algorithm": "skipgram", "dimension": 8},
            "embedding": {"oov_init": "mean", "dimension": 8, "vectors_format": "glove"},
            "trainer": {"architecture": "cnn", "conv_widths": [2, 5], "learning_rate": 1},
            "evaluation": {"min_auc": 1},
            "canary": {"max_batch_seconds": 2},
            "push": {"keep_versions": 1},
        }
    )
    for section, options_class in SECTIONS.items():
        options = getattr(config, section)
        text = options.to_json()
        assert json.loads(text) == json.loads(options.model_dump_json())
        assert list(json.loads(text)) == sorted(options_class.model_fields)  # sorted: stable cache keys
        assert options_class.from_json(text) == options_class.model_validate_json(text) == options
    assert json.loads(config.trainer.to_json())["architecture"] == "cnn"
    assert json.loads(config.trainer.to_json())["conv_widths"] == [2, 5]
    assert json.loads(config.evaluation.to_json())["min_auc"] == 1.0
    assert PipelineConfig.model_validate_json(config.model_dump_json()) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"epochs": "3"}', "trainer.epochs must be a whole number, got '3'"),
        ('{"epochs": 0}', "trainer.epochs must be between 1 and 1000, got 0"),
        ('{"use_ngrams": 1}', "trainer.use_ngrams must be true or false, got 1"),
        ('{"architecture": "rnn"}', "trainer.architecture must be one of bag, cnn; got 'rnn'"),
        (
            '{"epoch": 3}',
            "unknown option 'trainer.epoch'; known: " + ", ".join(sorted(TrainerOptions.model_fields)),
        ),
    ],
)
def test_json_from_an_exec_property_is_checked_as_strictly_as_a_config_file(text, message):
    with pytest.raises(OptionsError) as error:
        TrainerOptions.from_json(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": True}, "trainer.epochs must be a whole number, got True"),
        ({"epochs": 2.0}, "trainer.epochs must be a whole number, got 2.0"),
        ({"learning_rate": True}, "trainer.learning_rate must be a number, got True"),
        ({"learning_rate": "0.1"}, "trainer.learning_rate must be a number, got '0.1'"),
        ({"conv_widths": 3}, "trainer.conv_widths must be a list, got 3"),
        ({"conv_widths": [3, "4"]}, "trainer.conv_widths must be a whole number, got '4'"),
        ({"conv_widths": [3, 101]}, "trainer.conv_widths must be a non-empty list of widths between 1 and 100, got [3, 101]"),
        # Keras refused it only when the Trainer built the model ("The name conv3 is used 2 times").
        ({"conv_widths": [3, 3]}, "trainer.conv_widths must not repeat a width, got [3, 3] (each width is one convolution of trainer.conv_filters filters: raise that for more)"),
        ({"conv_widths": [5, 3, 5, 3]}, "trainer.conv_widths must not repeat a width, got [5, 3, 5, 3] (each width is one convolution of trainer.conv_filters filters: raise that for more)"),
    ],
)  # fmt: skip
def test_options_built_in_code_are_checked_like_a_config_file(values, message):
    with pytest.raises(OptionsError) as error:
        TrainerOptions(**values)
    assert str(error.value) == message


# Every seed option: NumPy, TensorFlow and gensim take 0..2**32-1, and refused others only once the step ran.
SEEDS = ("trainer.seed", "word2vec.seed", "embedding.seed")


@pytest.mark.parametrize(
    ("option", "value"),
    [("trainer.seed", -1), ("trainer.seed", 99999999999999), ("word2vec.seed", -1), ("embedding.seed", -5)],
)
def test_a_seed_out_of_numpys_range_is_refused_before_any_step(option, value):
    for build in (
        lambda: build_config(overrides={option: value}),
        lambda: _config_from_command_line(f"--{option}", str(value)),
    ):
        with pytest.raises(OptionsError) as error:
            build()
        assert str(error.value) == f"{option} must be between 0 and 4294967295, got {value}"


@settings(max_examples=60, deadline=None)
@given(option=st.sampled_from(SEEDS), seed=st.integers(-(2**70), 2**70))
def test_every_seed_option_takes_exactly_0_to_2_to_the_32_minus_1(option, seed):
    section, field = option.split(".")
    if 0 <= seed <= 2**32 - 1:
        assert getattr(getattr(build_config(overrides={option: seed}), section), field) == seed
    else:
        with pytest.raises(OptionsError) as error:
            build_config(overrides={option: seed})
        assert str(error.value) == f"{option} must be between 0 and 4294967295, got {seed}"


# Every option that is a share, rate or distance between 0 and 1 (components.options.Share).
SHARES = (
    "example_gen.max_bad_share",
    "drift.max_label_distance",
    "drift.max_length_divergence",
    "drift.max_oov_change",
    "word2vec.sample",
    "trainer.ngram_l2",
    "evaluation.min_accuracy",
    "evaluation.min_auc",
    "evaluation.baseline_margin",
    "evaluation.min_short_text_accuracy",
)


@settings(max_examples=80, deadline=None)
@given(option=st.sampled_from(SHARES), value=st.one_of(st.floats(-2, 3), st.integers(-3, 3), st.floats()))
def test_every_share_option_takes_exactly_the_finite_numbers_from_0_to_1(option, value):
    section, field = option.split(".")
    if 0 <= value <= 1:
        assert getattr(getattr(build_config(overrides={option: value}), section), field) == value
        return
    with pytest.raises(OptionsError) as error:
        build_config(overrides={option: value})
    shown = float(value) if isinstance(value, int) else value
    if value != value or value in (float("inf"), float("-inf")):
        assert str(error.value) == f"{option} must be a finite number, got {shown!r}"
    else:
        assert str(error.value) == f"{option} must be between 0.0 and 1.0, got {shown!r}"


@settings(max_examples=60, deadline=None)
@given(widths=st.lists(st.integers(1, 100), min_size=1, max_size=5), max_length=st.integers(1, 120))
def test_a_cnn_is_refused_when_max_length_is_shorter_than_its_widest_convolution(widths, max_length):
    widths = sorted(set(widths))
    overrides = {
        "trainer.architecture": "cnn",
        "trainer.conv_widths": widths,
        "transform.max_length": max_length,
    }
    if max_length >= widths[-1]:
        assert build_config(overrides=overrides).trainer.conv_widths == tuple(widths)
    else:
        # The Trainer refused it only after Transform ("shorter than the widest convolution").
        with pytest.raises(OptionsError) as error:
            build_config(overrides=overrides)
        assert str(error.value) == (
            f"transform.max_length ({max_length}) is shorter than the widest of trainer.conv_widths "
            f"({widths[-1]}) with trainer.architecture cnn: raise transform.max_length to {widths[-1]} or more, "
            "or leave out the wider convolutions"
        )
        # The bag model has no convolution: the same lengths are fine.
        assert (
            build_config(overrides={**overrides, "trainer.architecture": "bag"}).transform.max_length
            == max_length
        )


WIDE_ONLY_FROZEN_THEN_FINE_TUNE = (
    "trainer.embedding_training frozen_then_fine_tune unfreezes the embedding layer, and with "
    "trainer.use_embeddings false the model has none; set trainer.embedding_training fine_tune, "
    "or trainer.use_embeddings true"
)
WIDE_ONLY_ONE_NGRAM_BUCKET = (
    "trainer.use_embeddings is false and transform.ngram_buckets is 1: every n-gram would share the "
    "one id, which weighs nothing, so the model would learn nothing; set transform.ngram_buckets to "
    "2 or more (the default is 8388608), or trainer.use_embeddings true"
)


@settings(max_examples=120, deadline=None)
@given(
    use_embeddings=st.booleans(),
    embedding_training=st.sampled_from(["fine_tune", "frozen", "frozen_then_fine_tune"]),
    architecture=st.sampled_from(["bag", "cnn"]),
    ngram_buckets=st.sampled_from([1, 2, 3, 2**23]),
    widths=st.lists(st.integers(1, 8), min_size=1, max_size=3, unique=True),
    max_length=st.integers(1, 8),
    hidden_units=st.integers(1, 3),
)
def test_options_the_other_branch_makes_impossible_are_refused_and_options_merely_unused_accepted(
    use_embeddings, embedding_training, architecture, ngram_buckets, widths, max_length, hidden_units
):
    overrides = {
        "trainer.use_embeddings": use_embeddings,
        "trainer.embedding_training": embedding_training,
        "trainer.architecture": architecture,
        "trainer.conv_widths": widths,
        "trainer.hidden_units": hidden_units,
        "transform.ngram_buckets": ngram_buckets,
        "transform.max_length": max_length,
    }
    # Checked in this order: the Trainer's own options, then the rules across sections.
    if not use_embeddings and embedding_training == "frozen_then_fine_tune":
        expected = WIDE_ONLY_FROZEN_THEN_FINE_TUNE
    elif not use_embeddings and ngram_buckets == 1:
        expected = WIDE_ONLY_ONE_NGRAM_BUCKET
    elif use_embeddings and architecture == "cnn" and max_length < max(widths):
        expected = (
            f"transform.max_length ({max_length}) is shorter than the widest of trainer.conv_widths "
            f"({max(widths)}) with trainer.architecture cnn: raise transform.max_length to {max(widths)} or "
            "more, or leave out the wider convolutions"
        )
    else:
        # A wide-only model leaves architecture, conv_widths, hidden_units and a plain embedding_training
        # unused; a model with embeddings gives one n-gram bucket no weight but still learns.
        config = build_config(overrides=overrides)
        assert (
            config.trainer.use_embeddings,
            config.transform.ngram_buckets,
            config.transform.max_length,
        ) == (
            use_embeddings,
            ngram_buckets,
            max_length,
        )
        return
    with pytest.raises(OptionsError) as error:
        build_config(overrides=overrides)
    assert str(error.value) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trainer.use_embeddings": False, "trainer.embedding_training": "frozen_then_fine_tune"},
            WIDE_ONLY_FROZEN_THEN_FINE_TUNE,
        ),
        ({"trainer.use_embeddings": False, "transform.ngram_buckets": 1}, WIDE_ONLY_ONE_NGRAM_BUCKET),
    ],
)
def test_a_wide_only_model_refuses_what_it_cannot_train(overrides, message):
    with pytest.raises(OptionsError) as error:
        build_config(overrides=overrides)
    assert str(error.value) == message


def test_a_wide_only_model_has_no_convolution_to_fit_in_max_length():
    config = build_config(
        overrides={"trainer.architecture": "cnn", "trainer.use_embeddings": False, "transform.max_length": 2}
    )
    assert (config.trainer.architecture, config.trainer.conv_widths, config.transform.max_length) == (
        "cnn",
        (3, 4, 5),
        2,
    )


def test_options_are_frozen():
    options = TrainerOptions()
    with pytest.raises(ValidationError):
        options.epochs = 3
    assert options.epochs == 2


def test_run_help_describes_every_option_with_the_models_description(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--help"])
    help_text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, also after a '-'
    for section, options_class in SECTIONS.items():
        for name, field in options_class.model_fields.items():
            shown = f"--{section}.{name} {name.upper()} {field.description} (default: {cli._shown(field.default)})"
            assert "".join(shown.split()) in help_text


def _yaml_value(tmp_path, scalar: str):
    """The value the config file ``trainer: {epochs: <scalar>}`` gives, as loaded (before validation)."""
    path = tmp_path / "conf.yaml"
    path.write_text(f"trainer:\n  epochs: {scalar}\n", encoding="utf-8")
    return load_config_file(str(path))["trainer"]["epochs"]


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        # YAML 1.1 (PyYAML's own rules) would read 8, 3600, 10, True, False, the string '1.5e3', 1000.5.
        ("010", 10),
        ("0o10", 8),
        ("0x10", 16),
        ("-007", -7),
        ("1:00:00", "1:00:00"),
        ("1_0", "1_0"),
        ("yes", "yes"),
        ("off", "off"),
        ("true", True),
        ("1.5e3", 1500.0),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("2.", 2.0),
        ("1_000.5", "1_000.5"),
        ("~", None),
    ],
)
def test_plain_scalars_in_a_config_file_are_read_by_yaml_1_2s_core_schema(tmp_path, scalar, value):
    assert _yaml_value(tmp_path, scalar) == value
    assert type(_yaml_value(tmp_path, scalar)) is type(value)


@pytest.mark.parametrize(
    ("scalar", "problem"),
    [
        ("!!int 0b11", "'0b11' is no int: invalid literal for int() with base 10: '0b11'"),
        ("!!int abc", "'abc' is no int: invalid literal for int() with base 10: 'abc'"),
        ("!!float abc", "'abc' is no float: could not convert string to float: 'abc'"),
    ],
)
def test_a_value_its_explicit_tag_does_not_fit_is_a_config_error_naming_the_line(tmp_path, scalar, problem):
    with pytest.raises(OptionsError) as error:
        _yaml_value(tmp_path, scalar)
    assert str(error.value) == f"config file {tmp_path / 'conf.yaml'}, line 2: not valid YAML: {problem}"


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_a_number_written_as_json_writes_it_is_read_as_json_reads_it(tmp_path_factory, number):
    assert _yaml_value(tmp_path_factory.mktemp("conf"), json.dumps(number)) == json.loads(json.dumps(number))


def test_an_octal_looking_epoch_count_is_the_decimal_number(tmp_path):
    (tmp_path / "conf.yaml").write_text("trainer:\n  epochs: 010\n", encoding="utf-8")
    assert _config_from_command_line("--config", str(tmp_path / "conf.yaml")).trainer.epochs == 10


def test_paths_in_a_config_read_from_a_pipe_are_relative_to_the_working_folder(tmp_path, monkeypatch):
    """``--config <(printf 'output: rel')``: the file's folder is /proc/<pid>/fd, which holds no folders."""
    monkeypatch.chdir(tmp_path)
    read, write = os.pipe()
    os.write(write, b"output: rel\n")
    os.close(write)
    try:
        config = _config_from_command_line("--config", f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert config.output == str(tmp_path / "rel")


def test_config_given_twice_is_a_usage_error_naming_both(tmp_path):
    for name, epochs in (("a.yaml", 2), ("b.yaml", 3)):
        (tmp_path / name).write_text(f"trainer:\n  epochs: {epochs}\n")
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    with pytest.raises(cli.UsageError) as error:
        _config_from_command_line("--config", a, "--config", b)
    assert (
        str(error.value) == f"--config was given 2 times ({a}, {b}): give one file; flags override its values"
    )
    assert _config_from_command_line("--config", b).trainer.epochs == 3
    result = run_cli("run", "--dry-run", "--config", a, "--config=" + b, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"imdb-pipeline run: error: --config was given 2 times ({a}, {b}): give one file; flags override its "
        "values (see imdb-pipeline run --help)"
    )


_NUMBER_FLAGS = {int: "trainer.epochs", float: "trainer.learning_rate"}


def _flag_number(kind, text):
    """The value the number flag of ``kind`` takes from ``text``, or None when it is refused."""
    try:
        args, _ = cli.build_parser().parse_known_args(["run", f"--{_NUMBER_FLAGS[kind]}={text}"])
    except SystemExit:
        return None
    return vars(args)[_NUMBER_FLAGS[kind]]


def _file_number(kind, text, folder):
    """The value the same option reads from ``text`` in a config file when it is a number of ``kind``
    (a float option takes a whole number too), else None."""
    section, option = _NUMBER_FLAGS[kind].split(".")
    path = os.path.join(folder, "config.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{section}:\n  {option}: {text}\n")
    try:
        value = load_config_file(path)[section][option]
    except OptionsError:  # not valid YAML there: no number either
        return None
    kinds = (int,) if kind is int else (int, float)
    return value if isinstance(value, kinds) and not isinstance(value, bool) else None


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([int, float]),
    text=st.text(alphabet="0123456789_+-.eExoXaf \u0661\u0662\u0660\uff11", min_size=1, max_size=8),
)
def test_number_flags_read_a_number_exactly_as_a_config_file_does(kind, text, tmp_path_factory):
    """`--trainer.epochs 1_0` was 10 and `--trainer.epochs \u0661` was 1 (Python's int()); a config file
    reads neither as a number (YAML 1.2's core schema): a flag now takes a number only where a file does."""
    assume(text != "--")  # argparse drops a '--' value before any type sees it
    expected = _file_number(kind, text, tmp_path_factory.mktemp("numbers"))
    flag = _flag_number(kind, text)
    assert flag == expected and type(flag) is type(expected)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1_0", None),
        ("\u0661", None),
        (" 3", 3),
        ("0x10", 16),
        ("0o10", 8),
        ("010", 10),
        ("3.0", None),
        ("+4", 4),
        ("1" * 4301, None),  # beyond int()'s digit limit: was a traceback from YAML's constructor
    ],
)
def test_whole_number_flags_are_read_as_a_config_file_reads_them(text, value):
    assert _flag_number(int, text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1_0", None),
        ("\u0661", None),
        (" 3 ", 3),
        ("+2", 2),
        ("0", None),
        (str(sys.maxsize), sys.maxsize),
        (str(sys.maxsize + 1), None),  # predict --batch-size was a traceback from itertools.islice
        ("9" * 400, None),
        ("\x1c7", None),  # int() strips it, as other separators: not a count's text
        ("7\x85", None),
        ("00000000000000000001", 1),
    ],
)
def test_count_flags_of_the_other_commands_take_ascii_digits_only(text, value):
    """`--batch-size`, `--k`, `--keep`: 1 to sys.maxsize, in ASCII digits (Python's int() also takes '1_0')."""
    import argparse

    from pipeline.commands.common import positive_int

    if value is None:
        with pytest.raises(
            argparse.ArgumentTypeError,
            match="expected a whole number between 1 and 9,223,372,036,854,775,807, got",
        ):
            positive_int(text)
    else:
        assert positive_int(text) == value


def _compile_parser():
    return cli._commands(cli.build_parser())["compile"]


def test_compile_dry_run_is_an_unknown_option_without_a_suggestion():
    """compile has no dry run; Beam's `--dry_run` (for testing runners) is not one to suggest."""
    with pytest.raises(cli.UsageError) as error:
        cli.split_beam_args(["--dry-run"], _compile_parser())
    assert str(error.value) == (
        "unknown option --dry-run; options that are not imdb-pipeline compile's go to Apache Beam only if "
        "Beam knows them"
    )


@settings(max_examples=60, deadline=None)
@given(name=st.text(alphabet="dryun_-", min_size=2, max_size=10))
def test_beams_dry_run_is_never_suggested_for_an_unknown_option(name):
    assume(name != "dry_run")  # Beam's own, refused (test_beams_dry_run_is_refused_by_every_command...)
    parser = _compile_parser()
    with pytest.raises(cli.UsageError) as error:
        cli.split_beam_args([f"--{name}"], parser)
    assume("Apache Beam option" not in str(error.value))  # a name Beam knows, given no value
    assert str(error.value).startswith(f"unknown option --{name}")
    assert "did you mean --dry_run?" not in str(error.value)


def _score_parser():
    return cli._commands(cli.build_parser())["score"]


@settings(max_examples=40, deadline=None)
@given(
    command=st.sampled_from(["compile", "score"]),
    value=st.text(min_size=1, max_size=12).filter(lambda text: not text.startswith("-")),
    attached=st.booleans(),
    before=st.sampled_from([[], ["--job_name=nightly"], ["--direct_num_workers", "2"]]),
)
def test_beams_dry_run_is_refused_by_every_command_that_passes_options_to_beam(
    command, value, attached, before
):
    """compile and score handed Beam's `--dry_run VALUE` (a test option) to every Beam step."""
    parser = _compile_parser() if command == "compile" else _score_parser()
    flag = [f"--dry_run={value}"] if attached else ["--dry_run", value]
    with pytest.raises(cli.UsageError) as error:
        cli.split_beam_args([*before, *flag], parser)
    assert str(error.value) == (
        "--dry_run is Apache Beam's option for testing runners (every Beam step would be given it), not "
        f"imdb-pipeline {command}'s: to see what a run would do, use imdb-pipeline run --dry-run"
    )


def test_compile_refuses_beams_dry_run_on_its_command_line_and_in_a_config_file(tmp_path):
    common = ["compile", "--output-file", "p.yaml", "--image", "img:1", "--output", "gs://b/o"]
    refused = (
        "--dry_run is Apache Beam's option for testing runners (every Beam step would be given it), not "
        "imdb-pipeline compile's: to see what a run would do, use imdb-pipeline run --dry-run"
    )
    result = run_cli(*common, "--dry_run", "true", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip().splitlines()) == (
        2,
        [f"imdb-pipeline compile: error: {refused} (see imdb-pipeline compile --help)"],
    )
    (tmp_path / "c.yaml").write_text('beam_args: ["--dry_run=true"]\n', encoding="utf-8")
    result = run_cli(*common, "--config", "c.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip().splitlines()) == (
        2,
        [f"imdb-pipeline compile: configuration error: config file c.yaml, line 1: beam_args: {refused}"],
    )
    assert not (tmp_path / "p.yaml").exists()


def _ngram_memory_refusal(
    buckets: int, memory: int, use_embeddings: bool = True, cgroup: bool = False
) -> str:
    """The need shown rounded up to 0.1 GiB, the memory down; the default (0.5 GiB, rounded up too) only for
    more buckets than it where it fits; setting use_ngrams aside only with embeddings."""
    default = (
        " (the default, 8,388,608, needs about 0.5 GiB)" if buckets > 2**23 and memory >= 2**23 * 56 else ""
    )
    whose = "the memory limit of this process's cgroup" if cgroup else "its total"
    return (
        f"transform.ngram_buckets is {buckets:,}: the Trainer's n-gram branch needs about "
        f"{math.ceil(buckets * 56 * 10 / 2**30) / 10:.1f} GiB for that many ids (56 bytes each) and this machine "
        f"has {memory * 10 // 2**30 / 10:.1f} GiB of memory "
        f"({whose}); "
        f"nothing was run: lower transform.ngram_buckets{default}"
        + (", or set trainer.use_ngrams to false" if use_embeddings else "")
    )


@settings(max_examples=80, deadline=None)
@given(
    buckets=st.integers(1, 2**30),
    memory=st.integers(0, 2**37),
    use_embeddings=st.booleans(),
    cgroup=st.booleans(),
)
def test_ngram_buckets_are_refused_exactly_when_the_trainer_memory_they_need_is_more_than_there_is(
    buckets, memory, use_embeddings, cgroup
):
    """2^30 buckets passed the options and failed in the Trainer, out of memory, after every earlier step."""
    assume(use_embeddings or buckets > 1)  # one bucket is refused without embeddings
    config = build_config(
        {"transform": {"ngram_buckets": buckets}, "trainer": {"use_embeddings": use_embeddings}}
    )
    if buckets * 56 <= memory:
        preflight.check_trainer_memory(config, memory, cgroup)
        return
    with pytest.raises(OptionsError) as error:
        preflight.check_trainer_memory(config, memory, cgroup)
    assert str(error.value) == _ngram_memory_refusal(buckets, memory, use_embeddings, cgroup)


@pytest.mark.parametrize(
    ("buckets", "memory", "cgroup", "expected"),
    [
        (
            2**28,
            2**28 * 56 - 1,
            False,
            "transform.ngram_buckets is 268,435,456: the Trainer's n-gram branch needs about 14.0 GiB for that "
            "many ids (56 bytes each) and this machine has 13.9 GiB of memory (its total); nothing was "
            "run: lower transform.ngram_buckets (the default, 8,388,608, needs about 0.5 GiB), or set "
            "trainer.use_ngrams to false",
        ),
        (
            2**28 + 1,
            2**28 * 56,
            True,
            "transform.ngram_buckets is 268,435,457: the Trainer's n-gram branch needs about 14.1 GiB for that "
            "many ids (56 bytes each) and this machine has 14.0 GiB of memory (the memory limit of this "
            "process's cgroup); nothing was run: lower transform.ngram_buckets (the default, 8,388,608, needs "
            "about 0.5 GiB), or set trainer.use_ngrams to false",
        ),
        (
            2**24,
            2**23 * 56 - 1,  # the default does not fit either
            True,
            "transform.ngram_buckets is 16,777,216: the Trainer's n-gram branch needs about 0.9 GiB for that "
            "many ids (56 bytes each) and this machine has 0.4 GiB of memory (the memory limit of this "
            "process's cgroup); nothing was run: lower transform.ngram_buckets, or set trainer.use_ngrams to "
            "false",
        ),
        (
            2**23,
            2**23 * 56 - 1,  # the default itself
            False,
            "transform.ngram_buckets is 8,388,608: the Trainer's n-gram branch needs about 0.5 GiB for that "
            "many ids (56 bytes each) and this machine has 0.4 GiB of memory (its total); nothing was "
            "run: lower transform.ngram_buckets, or set trainer.use_ngrams to false",
        ),
        (
            2**20,
            0,
            False,
            "transform.ngram_buckets is 1,048,576: the Trainer's n-gram branch needs about 0.1 GiB for that "
            "many ids (56 bytes each) and this machine has 0.0 GiB of memory (its total); nothing was "
            "run: lower transform.ngram_buckets, or set trainer.use_ngrams to false",
        ),
    ],
    ids=["total", "cgroup", "default-too-big", "the-default", "below-the-default"],
)
def test_the_ngram_memory_refusal_rounds_the_need_up_and_the_memory_down(buckets, memory, cgroup, expected):
    config = build_config({"transform": {"ngram_buckets": buckets}})
    with pytest.raises(OptionsError) as error:
        preflight.check_trainer_memory(config, memory, cgroup)
    assert str(error.value) == expected


@pytest.mark.parametrize(
    "values", [{"trainer": {"use_ngrams": False}}, {"transform": {"ngram_max": 0}}], ids=["unused", "off"]
)
def test_ngram_buckets_without_the_ngram_branch_need_no_trainer_memory(values):
    config = build_config({**values, "transform": {**values.get("transform", {}), "ngram_buckets": 2**30}})
    preflight.check_trainer_memory(config, 0)


def test_the_preflight_weighs_ngram_buckets_against_this_machines_memory_but_not_for_compile(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(preflight, "memory_limit", lambda: (2**34, True))
    config = build_config({"output": str(tmp_path / "out"), "transform": {"ngram_buckets": 2**30}})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert str(error.value) == _ngram_memory_refusal(2**30, 2**34, cgroup=True)
    preflight.check(config, local=False)  # compile: the Trainer runs on the cluster's machines
    preflight.check(build_config({"output": str(tmp_path / "out"), "transform": {"ngram_buckets": 2**28}}))


def test_the_preflight_does_not_refuse_what_fits_the_memory_though_not_what_is_free_now(
    tmp_path, monkeypatch
):
    """A scheduled run was refused one night and not the next: free memory (and a cgroup's use, which
    counts freeable page cache) varies; the machine's total and a cgroup's limit do not."""
    monkeypatch.setattr(
        preflight.psutil, "virtual_memory", lambda: argparse.Namespace(total=2**34, available=2**20)
    )
    no_cgroup = functools.partial(preflight.memory_limit, str(tmp_path / "no-cgroup"), str(tmp_path))
    monkeypatch.setattr(preflight, "memory_limit", no_cgroup)
    config = build_config({"output": str(tmp_path / "out"), "transform": {"ngram_buckets": 2**28}})
    preflight.check(config)


def test_a_run_with_more_ngram_buckets_than_memory_holds_is_refused_before_any_step(tmp_path):
    memory, cgroup = preflight.memory_limit()
    if memory >= 2**30 * 56:
        pytest.skip("this machine has the memory 2^30 n-gram buckets need")
    result = run_cli("run", "--output", "out", "--transform.ngram_buckets", str(2**30), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline run: configuration error: " + _ngram_memory_refusal(2**30, memory, cgroup=cgroup)
    )
    assert not (tmp_path / "out").exists()


def _fake_cgroup(folder, files: dict[str, str]):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return str(folder)


_V1_NONE = "9223372036854771712\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, (2**34, False)),
        ({"proc": "0::/\n", "root/memory.max": "1073741824\n"}, (2**30, True)),
        ({"proc": "0::/a/b\n", "root/memory.max": "max\n", "root/a/b/memory.max": "max\n"}, (2**34, False)),
        (
            {
                "proc": "0::/a/b\n",
                "root/a/memory.max": "1073741824\n",
                "root/a/b/memory.max": "2147483648\n",
                "root/a/b/memory.current": "2147483648\n",  # use, page cache included: never read
            },
            (2**30, True),
        ),
        (
            {"proc": "0::/a/b\n", "root/memory.max": "max\n", "root/a/b/memory.max": "3221225472\n"},
            (3 * 2**30, True),
        ),
        ({"proc": "0::/a\n", "root/a/memory.max": str(2**35) + "\n"}, (2**34, False)),
        (
            {
                "proc": "5:cpu,cpuacct:/x\n4:memory:/docker/c\n0::/\n",
                "root/memory/memory.limit_in_bytes": _V1_NONE,
                "root/memory/docker/memory.limit_in_bytes": "2147483648\n",
                "root/memory/docker/c/memory.limit_in_bytes": _V1_NONE,
                "root/memory/docker/c/memory.usage_in_bytes": "2147483648\n",
                "root/cpu,cpuacct/x/memory.limit_in_bytes": "1\n",  # not the memory controller's
            },
            (2**31, True),
        ),
        (
            {"proc": "4:memory:/docker/c\n", "root/memory/memory.limit_in_bytes": "1073741824\n"},
            (2**30, True),
        ),  # a container's view: its own cgroup is the root, its path outside it
        ({"proc": "4:memory:/\n", "root/memory/memory.limit_in_bytes": _V1_NONE}, (2**34, False)),
    ],
    ids=[
        "no-cgroup-file",
        "v2-root",
        "v2-unlimited",
        "v2-parent-smaller",
        "v2-own",
        "v2-above-total",
        "v1-parent",
        "v1-container",
        "v1-unlimited",
    ],
)
def test_memory_limit_is_the_smaller_of_the_machines_total_and_the_cgroups_limits(
    tmp_path, monkeypatch, files, expected
):
    """A container's memory limit is its cgroup's (psutil sees the whole machine's); a limit, never use."""
    monkeypatch.setattr(preflight.psutil, "virtual_memory", lambda: argparse.Namespace(total=2**34))
    _fake_cgroup(tmp_path, files)
    assert preflight.memory_limit(str(tmp_path / "proc"), str(tmp_path / "root")) == expected


@settings(max_examples=50, deadline=None)
@given(
    total=st.integers(1, 2**40),
    limits=st.lists(st.one_of(st.integers(0, 2**41), st.just("max")), min_size=1, max_size=4),
)
def test_memory_limit_is_the_smallest_on_the_way_up_to_the_cgroup_root(tmp_path_factory, total, limits):
    """v2: ``limits[i]`` is the ``memory.max`` of the cgroup i levels below the root, the process's last."""
    folder = tmp_path_factory.mktemp("cgroup")
    names = [f"c{depth}" for depth in range(1, len(limits))]
    (folder / "proc").write_text("0::/" + "/".join(names) + "\n")
    for depth, limit in enumerate(limits):
        _fake_cgroup(folder, {str(Path("root", *names[:depth], "memory.max")): f"{limit}\n"})
    expected = min([total] + [limit for limit in limits if limit != "max"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(preflight.psutil, "virtual_memory", lambda: argparse.Namespace(total=total))
        assert preflight.memory_limit(str(folder / "proc"), str(folder / "root")) == (
            expected,
            expected < total,
        )
