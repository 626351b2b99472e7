"""Options are the CLI's or Beam's; config files are strict; paths work from anywhere, with any characters.

Named cases with exact messages, and hypothesis for the open classes (option
names, path characters, YAML content).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import string
import tempfile

from apache_beam.io.filesystems import FileSystems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
import pytest
import tensorflow as tf
from tfx.components.example_gen import input_processor
from tfx.proto import example_gen_pb2
from tfx.utils import io_utils, proto_utils
import yaml

from components.example_gen import component, spans
from components.file_patterns import all_files_pattern
from components.options import OptionsError
from components.pusher.options import PushOptions
from components.trainer.options import TrainerOptions
from pipeline import cli, preflight, stored_uris
from pipeline.config import (
    SAMPLE_DATA,
    SECTIONS,
    TOP_LEVEL_KEYS,
    absolute_path,
    build_config,
    load_config_file,
)
from pipeline.pipeline import beam_args_with_dependencies
from tests.conftest import run_cli
from tests.imdb_files import GOOD_FILES, GOOD_REVIEWS, write_dataset

BEAM_HINT = "options that are not imdb-pipeline run's go to Apache Beam only if Beam knows them"


def config_from_command_line(*argv: str):
    args, unknown = cli.build_parser().parse_known_args(["run", *argv])
    return cli.config_from_args(args, unknown)


def usage_error(*argv: str) -> str:
    with pytest.raises(cli.UsageError) as error:
        config_from_command_line(*argv)
    return str(error.value)


# --- options: this CLI's or Beam's -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--vector", "glove.txt"), f"unknown option --vector (did you mean --vectors?); {BEAM_HINT}"),
        (("--eval_percent", "50"), f"unknown option --eval_percent (did you mean --eval-percent?); {BEAM_HINT}"),
        (("--eval_percent=50",), f"unknown option --eval_percent (did you mean --eval-percent?); {BEAM_HINT}"),
        (("--trainer-epochs=3",), f"unknown option --trainer-epochs (did you mean --trainer.epochs?); {BEAM_HINT}"),
        (("--trainer_epochs", "3"), f"unknown option --trainer_epochs (did you mean --trainer.epochs?); {BEAM_HINT}"),
        (("--pipeline_name", "x"), f"unknown option --pipeline_name (did you mean --pipeline-name?); {BEAM_HINT}"),
        (("--runer=DirectRunner",), f"unknown option --runer (did you mean --runner?); {BEAM_HINT}"),
        (("--zzzzqqqq",), f"unknown option --zzzzqqqq; {BEAM_HINT}"),
        (("stray",), f"unexpected argument 'stray'; {BEAM_HINT}"),
        (("--direct_num_workers", "two"), "Apache Beam option: argument --direct_num_workers: invalid int value: 'two'"),
        (("--gcs_custom_audit_entries=0",), "Apache Beam options --gcs_custom_audit_entries=0: AttributeError: "
            "'int' object has no attribute 'items'"),
    ],
)  # fmt: skip
def test_an_option_neither_the_cli_nor_beam_knows_is_a_usage_error_with_the_closest_option(argv, message):
    assert usage_error(*argv) == message


@pytest.mark.parametrize(
    "argv",
    [
        ("--direct_num_workers", "2"),
        ("--direct_num_workers=2", "--direct_running_mode=multi_processing"),
        ("--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"),
        ("--runner", "PortableRunner", "--job_endpoint", "embed"),
        ("--temp_location", "gs://x"),
        ("--runner=DataflowRunner", "--project", "p", "--region=europe-west1", "--temp_location=gs://b/t"),
        ("--runner=FlinkRunner", "--flink_master=localhost:8081"),
        ("--runner=SparkRunner", "--spark_master_url", "spark://h:7077"),
        ("--save_main_session",),
    ],
)
def test_beam_options_pass_through_untouched_in_both_forms_for_every_runner(argv):
    config = config_from_command_line("--eval-percent", "20", *argv)
    assert config.eval_percent == 20
    names_runner = any(arg.startswith("--runner") for arg in argv)
    assert config.beam_args == (argv if names_runner else ("--runner=FnApiRunner", *argv))


def _run_parser():
    return cli._commands(cli.build_parser())["run"]


BEAM_OPTIONS = set(cli._option_strings(cli._beam_parser()))
# Beam's options that take a value (``--dry_run`` is one): given one when a test passes them on.
BEAM_VALUED = {o for a in cli._beam_parser()._actions if a.nargs != 0 for o in a.option_strings}
CLI_OPTIONS = sorted(o for o in cli._option_strings(_run_parser()) if o.startswith("--") and len(o) > 6)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CLI_OPTIONS), st.lists(st.sampled_from("-_."), min_size=8, max_size=8))
def test_a_cli_option_with_other_separators_is_refused_naming_the_option(option, separators):
    """Any mix of ``-``, ``_`` and ``.`` between the words of a known option: refused, that option suggested."""
    words = [word for word in option[2:].replace("-", " ").replace("_", " ").replace(".", " ").split()]
    misspelt = "--" + words[0] + "".join(sep + word for sep, word in zip(separators, words[1:], strict=False))
    if misspelt == option:
        return
    if misspelt in BEAM_OPTIONS and misspelt.replace("_", "-") == option:  # --dry_run for --dry-run
        assert usage_error(misspelt) == (
            f"{misspelt} is Apache Beam's option, not imdb-pipeline run's {option}: did you mean {option}?"
        )
        return
    if misspelt in BEAM_OPTIONS:  # another of Beam's own options: passed on, by the rule
        argument = f"{misspelt}=1" if misspelt in BEAM_VALUED else misspelt
        assert argument in config_from_command_line(argument).beam_args
        return
    assert usage_error(misspelt, "1") == (f"unknown option {misspelt} (did you mean {option}?); {BEAM_HINT}")


BEAM_STRING_OPTIONS = sorted(
    option
    for action in cli._beam_parser()._actions
    if type(action) is argparse._StoreAction
    and action.type in (None, str)
    and not action.choices
    and action.nargs is None
    for option in action.option_strings
    if option.startswith("--")
    and not option.startswith("--runner")
    # Beam's spelling of one of the command's own options (`--dry_run`) is refused, not passed on
    and option.replace("-", "_") not in {own.replace("-", "_") for own in cli._option_strings(_run_parser())}
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(BEAM_STRING_OPTIONS), st.text(string.ascii_letters + string.digits + ":/._", min_size=1)
)
def test_every_beam_option_passes_through_untouched(option, value):
    assert config_from_command_line(f"{option}={value}").beam_args == (
        "--runner=FnApiRunner",
        f"{option}={value}",
    )
    assert config_from_command_line(option, value).beam_args == ("--runner=FnApiRunner", option, value)


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"--[a-z][a-z_]{2,20}", fullmatch=True))
def test_an_option_unknown_to_both_is_never_passed_on(option):
    known = set(cli._option_strings(_run_parser())) | set(cli._option_strings(cli._beam_parser()))
    if option in known:
        return
    assert usage_error(f"{option}=1").startswith(f"unknown option {option}")


def test_other_commands_suggest_the_closest_option_too(tmp_path):
    result = run_cli("report", f"--outptu={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"imdb-pipeline report: error: unrecognized arguments: --outptu={tmp_path} (did you mean --output?)\n"
    )


# --- config files: UTF-8, each key once, a mapping of known keys ------------------------------------


def _write(tmp_path, text: str | bytes, name="config.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"eval_percent: 20\ndata: caf\xe9\n", "line 2: not UTF-8 text (byte 0xe9 at offset 26); save it as UTF-8"),
        ("eval_percent: 20\nspan: 1\neval_percent: 30\n", "line 3: key 'eval_percent' is given twice (first on line 1)"),
        ("trainer:\n  epochs: 2\n  dropout: 0.1\n  epochs: 3\n", "line 4: key 'epochs' is given twice (first on line 2)"),
        ("trainer:\n  epochs: 2\ntrainer:\n  dropout: 0.1\n", "line 3: key 'trainer' is given twice (first on line 1)"),
        ("eval_precent: 20\n", "line 1: unknown key 'eval_precent' (did you mean eval_percent?); known: "
            + ", ".join(TOP_LEVEL_KEYS + tuple(SECTIONS))),
        ("transform:\n  max_length: 64\ntrainer:\n  epoch: 3\n", "line 4: unknown option 'trainer.epoch' (did you "
            "mean trainer.epochs?); known: " + ", ".join(sorted(SECTIONS["trainer"].model_fields))),
        ("trainer: 3\n", "line 1: trainer must be a mapping of options, got 3"),
        ("trainer: {epochs: 1, epochs: 2}\n", "line 1: key 'epochs' is given twice (first on line 1)"),
        ("null: 1\n", "line 1: key 'null' is not a name: YAML reads it as None"),
        ("trainer:\n  epochs: 2\n  true: 1\n", "line 3: key 'true' is not a name: YAML reads it as True"),
        ("push:\n  ~: 3\n", "line 2: key '~' is not a name: YAML reads it as None"),
        ("? [data]\n: x\n", "line 1: a key must be a name, not a list"),
        ("trainer:\n  ? {epochs: 1}\n  : 2\n", "line 2: a key must be a name, not a mapping"),
        ("trainer: [unclosed\n", "line 2: not valid YAML: while parsing a flow sequence expected ',' or ']', but got '<stream end>'"),
    ],
)  # fmt: skip
def test_config_file_errors_name_the_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(OptionsError) as error:
        load_config_file(path)
    assert str(error.value) == f"config file {path}, {message}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**15), 10**15), st.floats(allow_nan=False)),
    st.sampled_from([None, *SECTIONS]),
)
def test_a_key_yaml_reads_as_no_name_is_refused_with_its_line(tmp_path, key, section):
    """Every option is named: a key written as null, a bool or a number is refused where it is written."""
    text = yaml.safe_dump({key: 1} if section is None else {section: {key: 1}})
    path = _write(tmp_path, text)
    with pytest.raises(OptionsError) as error:
        load_config_file(path)
    written = text.splitlines()[-1].strip().rpartition(":")[0]
    assert str(error.value) == (
        f"config file {path}, line {1 if section is None else 2}: key {written!r} is not a name: "
        f"YAML reads it as {key!r}"
    )


@pytest.mark.parametrize(
    "text", ["push:\n", "push:\n  # keep_versions: 3\n", "trainer:\npush: ~\n", "trainer: {}\n"]
)
def test_a_section_with_every_option_commented_out_takes_the_defaults(tmp_path, text):
    path = _write(tmp_path, text)
    config = config_from_command_line("--config", path)
    assert config.push == PushOptions() and config.trainer == TrainerOptions()


@pytest.mark.parametrize(("text", "kind"), [("- 1\n- 2\n", "list"), ("just text\n", "str"), ("3\n", "int")])
def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path, text, kind):
    path = _write(tmp_path, text)
    with pytest.raises(OptionsError) as error:
        load_config_file(path)
    assert str(error.value) == f"config file {path} must hold a mapping of keys, got {kind}"


def test_a_bad_value_in_a_config_file_names_its_line_unless_a_flag_overrides_it(tmp_path):
    path = _write(tmp_path, "transform:\n  max_length: 64\ntrainer:\n  epochs: 0\n")
    with pytest.raises(OptionsError) as error:
        config_from_command_line("--config", path)
    assert str(error.value) == (
        f"config file {path}, line 4: trainer.epochs must be between 1 and 1000, got 0"
    )
    assert config_from_command_line("--config", path, "--trainer.epochs", "2").trainer.epochs == 2


def test_the_cli_reports_a_config_file_error_with_exit_2_and_no_traceback(tmp_path):
    path = _write(tmp_path, "eval_percent: 20\neval_percent: 30\n")
    result = run_cli("run", "--config", path, "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"imdb-pipeline run: configuration error: config file {path}, line 2: key 'eval_percent' is given "
        "twice (first on line 1)\n"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


_SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), st.text(string.ascii_letters, max_size=5))
_KEYS = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        _KEYS, st.one_of(_SCALARS, st.dictionaries(_KEYS, _SCALARS, max_size=3)), min_size=1, max_size=5
    ),
    st.data(),
)
def test_a_repeated_key_at_any_level_is_found_with_its_line(tmp_path, values, data):
    """Generated YAML: repeat one key (top level or inside a section) and the error names its two lines."""
    text = yaml.safe_dump(values, sort_keys=False)
    lines = text.splitlines()
    key_lines = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("- ")]
    i = data.draw(st.sampled_from(key_lines))
    indent = len(lines[i]) - len(lines[i].lstrip())
    key = lines[i].strip().split(":")[0]
    # The end of the mapping that holds line i: the repeat goes there, at the same indent.
    end = len(lines)
    if indent:
        end = i + 1
        while end < len(lines) and lines[end].startswith(" " * indent):
            end += 1
    repeated = [*lines[:end], " " * indent + f"{key}: 1", *lines[end:]]
    path = _write(tmp_path, "\n".join(repeated) + "\n")
    with pytest.raises(OptionsError) as error:
        load_config_file(path)
    assert f"config file {path}, line {end + 1}: key " in str(error.value)
    assert f"is given twice (first on line {i + 1})" in str(error.value)


# --- paths: absolute once, any characters ---------------------------------------------------------

PATH_NAMES = st.text(
    st.sampled_from([*"ab xyz-_.[]*?{}!$'#%&()+,;=@~^\\", "é", "ü", "ß", "中", "文", "ñ", "Ω"]),
    min_size=1,
    max_size=12,
).filter(
    lambda name: name.strip(".") and "/" not in name and not name.startswith("~")
)  # ~ is the home folder


def test_local_paths_are_made_absolute_once_and_remote_ones_are_untouched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = build_config({"output": "runs/out", "vectors": "gs://b/glove.txt", "data": "gs://b/aclImdb"})
    assert (config.output, config.vectors, config.data) == (
        f"{tmp_path}/runs/out",
        "gs://b/glove.txt",
        "gs://b/aclImdb",
    )
    assert config.metadata_path == f"{tmp_path}/runs/out/metadata.sqlite"
    assert build_config({"output": "gs://b/out"}).pipeline_root == "gs://b/out/pipeline_root"


def test_paths_in_a_config_file_are_relative_to_the_file(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    path = _write(tmp_path / "conf", "output: ../runs/out\ndata: data/aclImdb\n")
    monkeypatch.chdir("/")
    config = config_from_command_line("--config", path)
    assert (config.output, config.data) == (f"{tmp_path}/runs/out", f"{tmp_path}/conf/data/aclImdb")
    assert (
        config_from_command_line("--config", path, "--output", "x").output == "/x"
    )  # flags: the working folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PATH_NAMES)
def test_a_path_is_absolute_whatever_its_characters(tmp_path, name):
    assert absolute_path(name, relative_to=str(tmp_path)) == os.path.join(str(tmp_path), name)


@pytest.mark.parametrize("below", [["new"], ["new", "deeper"]])
def test_absolute_path_resolves_what_exists_and_keeps_the_rest_as_given(tmp_path, below):
    """A link to a folder is resolved (one output, one cache); a part yet to be made is kept as given, so a
    link to nowhere or a loop on the way is left for the pre-flight to name, not followed to its target."""
    (tmp_path / "real").mkdir()
    (tmp_path / "to-real").symlink_to("real")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    (tmp_path / "loop").symlink_to("loop")
    rest = os.path.join(*below)
    assert absolute_path(f"to-real/{rest}", relative_to=str(tmp_path)) == f"{tmp_path}/real/{rest}"
    assert absolute_path(f"dangling/{rest}", relative_to=str(tmp_path)) == f"{tmp_path}/dangling/{rest}"
    assert absolute_path(f"loop/{rest}", relative_to=str(tmp_path)) == f"{tmp_path}/loop/{rest}"
    assert absolute_path("to-real", relative_to=str(tmp_path)) == f"{tmp_path}/real"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PATH_NAMES)
def test_an_escaped_path_matches_only_itself_in_python_beam_and_tensorflow(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "part-0").write_text("x")
    # Decoys a raw pattern would match instead.
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "a" / "part-0").write_text("decoy")
    expected = [str(folder / "part-0")]
    pattern = all_files_pattern(str(folder))
    assert glob.glob(pattern) == expected
    assert tf.io.gfile.glob(pattern) == expected
    assert [m.path for m in FileSystems.match([pattern])[0].metadata_list] == expected
    shutil.rmtree(folder)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PATH_NAMES)
def test_the_example_gen_input_reads_a_dataset_folder_whatever_its_name(tmp_path, name):
    root = write_dataset(tmp_path / name / "aclImdb", GOOD_FILES)
    input_base, pattern = component.dataset_input(str(tmp_path / name))
    found = sorted(tf.io.gfile.glob(os.path.join(input_base, pattern)))
    assert found == sorted(str(root / relative) for relative in GOOD_FILES if "/urls_" not in relative)
    fingerprint = io_utils.generate_fingerprint("all", os.path.join(input_base, pattern))
    assert fingerprint.startswith(f"split:all,num_files:{len(found)},")
    shutil.rmtree(tmp_path / name)


def test_an_archive_with_glob_characters_in_its_name_is_its_own_pattern(tmp_path):
    archive = tmp_path / "imdb [v1]" / "aclImdb *?.tar.gz"
    archive.parent.mkdir()
    shutil.copy(SAMPLE_DATA, archive)
    shutil.copy(SAMPLE_DATA, tmp_path / "imdb [v1]" / "aclImdb ab.tar.gz")  # what '*?' would match
    input_base, pattern = component.dataset_input(str(archive))
    assert tf.io.gfile.glob(os.path.join(input_base, pattern)) == [str(archive)]


# --- spans -------------------------------------------------------------------------------------------


@pytest.fixture
def span_root(tmp_path):
    root = tmp_path / "imdb [v1] ü"
    for span in (1, 2, 10):
        (root / f"span-{span}").mkdir(parents=True)
        shutil.copy(SAMPLE_DATA, root / f"span-{span}" / "aclImdb.tar.gz")
    (root / "span-3").mkdir()  # a span folder without its dataset
    (root / "span-x").mkdir()
    return root


def test_spans_found_on_disk(span_root):
    data = str(span_root / "span-{SPAN}" / "aclImdb.tar.gz")
    assert spans.find_spans(data) == {n: str(span_root / f"span-{n}" / "aclImdb.tar.gz") for n in (1, 2, 10)}


def test_date_spans_are_days_since_1970(tmp_path):
    for day in ("2024-01-02", "2024-01-10"):
        write_dataset(tmp_path / day / "aclImdb", GOOD_FILES)
    assert spans.find_spans(str(tmp_path / "{YYYY}-{MM}-{DD}" / "aclImdb")) == {
        19724: str(tmp_path / "2024-01-02" / "aclImdb"),
        19732: str(tmp_path / "2024-01-10" / "aclImdb"),
    }


def test_one_span_written_two_ways_is_a_configuration_error_naming_both(span_root):
    shutil.copytree(span_root / "span-2", span_root / "span-02")
    data = str(span_root / "span-{SPAN}" / "aclImdb.tar.gz")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": data}))
    first, second = sorted(str(span_root / name / "aclImdb.tar.gz") for name in ("span-02", "span-2"))
    assert str(error.value) == (
        f"data: span 2 is written two ways, {first} and {second}: rename or remove one (only one would be read)"
    )


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.integers(0, 120), st.sets(st.integers(0, 3), min_size=1, max_size=3), min_size=1))
def test_spans_are_refused_exactly_when_a_number_is_written_two_ways(widths_by_span):
    """Any spans, each written with zero-padding to some widths: refused iff one number has two spellings."""
    with tempfile.TemporaryDirectory() as root:
        names = {
            number: {str(number).zfill(width) for width in widths}
            for number, widths in widths_by_span.items()
        }
        for spelling in set().union(*names.values()):
            for label in ("pos", "neg"):  # a folder dataset: the driver's pattern reaches every file
                os.makedirs(os.path.join(root, f"span-{spelling}", "train", label))
                open(os.path.join(root, f"span-{spelling}", "train", label, "0_9.txt"), "w").close()
        doubled = sorted(number for number, spellings in names.items() if len(spellings) > 1)
        for pattern in ("span-{SPAN}", "span-{SPAN}/*/*/*.txt"):
            if doubled:
                with pytest.raises(ValueError, match=r"^data: span \d+ is written two ways, "):
                    spans.matched_spans(root, pattern)
            else:
                assert sorted(spans.matched_spans(root, pattern)) == sorted(names)


def test_dated_spans_are_listed_with_their_dates(tmp_path):
    for day in ("2024-01-02", "2024-01-10"):
        write_dataset(tmp_path / day / "aclImdb", GOOD_FILES)
    data = str(tmp_path / "{YYYY}-{MM}-{DD}" / "aclImdb")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": data, "span": 19725}))
    assert str(error.value) == (
        f"data: span 19725 (2024-01-03) not found under {tmp_path} (matching {{YYYY}}-{{MM}}-{{DD}}/aclImdb); "
        "spans found: 19724 (2024-01-02), 19732 (2024-01-10)"
    )
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": data, "num_spans": 2}))
    assert str(error.value) == (
        "data: spans 19731 (2024-01-09) to 19732 (2024-01-10) were asked for (2 spans), but span "
        f"19731 (2024-01-09) is not under {tmp_path} (matching {{YYYY}}-{{MM}}-{{DD}}/aclImdb); "
        "spans found: 19724 (2024-01-02), 19732 (2024-01-10)"
    )
    assert spans.span_name(10**9, data) == str(10**9)  # past the year 9999: no date
    assert spans.span_name(19724, data) == "19724 (2024-01-02)"
    assert spans.span_name(19724, "span-{SPAN}") == "19724"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("/d/span-{SPAN:2}/x-{SPAN:w}", "holds {SPAN} 2 times; a span's path holds it once"),
        ("/d/span-{SPAN}/v-{VERSION:3}/{VERSION:}", "holds {VERSION} 2 times; a span's path holds it once"),
        ("/d/{VERSION:2}", "holds {VERSION} without {SPAN} or a date"),
    ],
)
def test_placeholders_are_counted_as_tfx_reads_them_whatever_their_width(data, problem):
    """TFX's driver reads ``{SPAN:<anything>}`` as a span placeholder with a width."""
    with pytest.raises(spans.SpanError) as error:
        spans.check_placeholders(data)
    assert str(error.value) == f"data: {data} {problem} (TFX's span placeholders)"


def test_a_missing_span_is_a_configuration_error_listing_the_spans_found(span_root):
    config = build_config({"data": str(span_root / "span-{SPAN}" / "aclImdb.tar.gz"), "span": 3})
    with pytest.raises(OptionsError) as error:
        preflight.check(config)
    assert str(error.value) == (
        f"data: span 3 not found under {span_root} (matching span-{{SPAN}}/aclImdb.tar.gz); spans found: 1, 2, 10"
    )


def test_no_span_at_all_is_a_configuration_error(tmp_path):
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(tmp_path / "span-{SPAN}")}))
    assert str(error.value) == f"data: no span found: nothing under {tmp_path} matches span-{{SPAN}}"


@pytest.mark.parametrize("span", [1, 2, 10, None])
def test_tfx_resolves_the_span_asked_for_and_fingerprints_only_its_files(span_root, span):
    """TFX's own driver logic (FileBasedInputProcessor) over the ExampleGen's input, in a folder with '[v1]'."""
    data = str(span_root / "span-{SPAN}" / "aclImdb.tar.gz")
    assert preflight.check(build_config({"data": data, "span": span})) == spans.find_spans(data)[span or 10]
    example_gen = component.create_example_gen(data, span=span)
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(example_gen.exec_properties["input_config"], input_config)
    processor = input_processor.FileBasedInputProcessor(
        example_gen.exec_properties["input_base"],
        input_config.splits,
        spans.span_range(span) if span else None,
    )
    assert processor.resolve_span_and_version() == (span or 10, None)
    fingerprint = processor.get_input_fingerprint(span or 10, None)
    size = os.path.getsize(SAMPLE_DATA)
    assert fingerprint.startswith(f"split:all,num_files:1,total_bytes:{size},")


@pytest.mark.parametrize("char", ["*", "?", "$", "^", "|"])
def test_a_span_path_tfx_cannot_match_is_refused_clearly(tmp_path, char):
    data = str(tmp_path / f"imdb{char}" / "span-{SPAN}")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": data}))
    assert str(error.value) == (
        f"data: {data} holds {char!r}, which TFX's span matching cannot take in a path with a span placeholder; "
        "rename the folder, or give one span's data without a placeholder"
    )


# --- pre-flight: data with no reviews ---------------------------------------------------------------


def test_an_empty_data_folder_is_a_configuration_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(tmp_path / "empty")}))
    assert str(error.value) == f"data: {tmp_path}/empty is an empty folder: there are no reviews to ingest"


def test_a_dataset_folder_without_reviews_is_a_configuration_error(tmp_path):
    root = write_dataset(
        tmp_path / "aclImdb", {"README": b"x", "train/pos/notes.md": b"x", "test/urls_pos.txt": b""}
    )
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(tmp_path)}))
    assert str(error.value) == (
        f"data: {tmp_path} holds no reviews: no file {root}/<train|test>/<pos|neg|unsup>/*.txt"
    )


def test_an_archive_without_reviews_is_a_configuration_error(tmp_path):
    import tarfile

    archive = tmp_path / "aclImdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        readme = tmp_path / "README"
        readme.write_text("no reviews here")
        tar.add(readme, arcname="aclImdb/README")
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"data": str(archive)}))
    assert str(error.value) == (
        f"data: {archive} holds no reviews: no member <train|test>/<pos|neg|unsup>/*.txt in the archive"
    )


def test_the_cli_stops_an_empty_data_folder_before_any_step(tmp_path):
    (tmp_path / "data [v1]").mkdir()
    result = run_cli("run", "--data", "data [v1]", "--output", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"imdb-pipeline run: configuration error: data: {tmp_path}/data [v1] is an empty folder: "
        "there are no reviews to ingest\n"
    )
    assert not (tmp_path / "out").exists()


# --- stores written before paths were absolute ------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "output", "expected"),
    [
        ("imdb-pipeline-output/pipeline_root/Trainer/model/7", "/home/u/imdb-pipeline-output", "/home/u/imdb-pipeline-output/pipeline_root/Trainer/model/7"),
        ("runs/full/pipeline_root/Trainer/model/7", "/data/runs/full", "/data/runs/full/pipeline_root/Trainer/model/7"),
        ("../out/pipeline_root/Evaluator/evaluation/9", "/srv/out", "/srv/out/pipeline_root/Evaluator/evaluation/9"),
        ("out/serving/imdb_sentiment/1700000000", "/x/out", "/x/out/serving/imdb_sentiment/1700000000"),
        ("pipeline_root/pipeline_root/Report/report/3", "/x/pipeline_root", "/x/pipeline_root/pipeline_root/Report/report/3"),
        ("glove.txt", "/home/u/imdb-pipeline-output", "/home/u/glove.txt"),
        ("/abs/pipeline_root/x", "/other", "/abs/pipeline_root/x"),
        ("gs://b/out/pipeline_root/x", "/other", "gs://b/out/pipeline_root/x"),
    ],
)  # fmt: skip
def test_a_relative_uri_of_an_earlier_version_is_resolved_against_its_output(uri, output, expected):
    assert stored_uris.resolve_stored_uri(uri, output) == expected


def test_the_relative_uris_of_an_earlier_store_are_made_absolute_once(tmp_path):
    path = str(tmp_path / "metadata.sqlite")
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = path
    store = metadata_store.MetadataStore(connection)
    type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Model"))
    uris = ["out/pipeline_root/Trainer/model/7", "gs://b/x", f"{tmp_path}/pipeline_root/Trainer/model/8"]
    store.put_artifacts([metadata_store_pb2.Artifact(type_id=type_id, uri=uri) for uri in uris])
    del store
    assert stored_uris.make_store_uris_absolute(path, str(tmp_path)) == 1
    assert stored_uris.make_store_uris_absolute(path, str(tmp_path)) == 0
    store = metadata_store.MetadataStore(connection)
    assert sorted(a.uri for a in store.get_artifacts()) == sorted(
        [f"{tmp_path}/pipeline_root/Trainer/model/7", "gs://b/x", f"{tmp_path}/pipeline_root/Trainer/model/8"]
    )


def _store_of(output, *uris):
    """An ML Metadata store in ``output`` holding artifacts of ``uris``, oldest first."""
    output.mkdir(parents=True, exist_ok=True)
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(output / "metadata.sqlite")
    store = metadata_store.MetadataStore(connection)
    type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Model"))
    for uri in uris:
        store.put_artifacts([metadata_store_pb2.Artifact(type_id=type_id, uri=uri)])
    return str(output / "metadata.sqlite")


@pytest.mark.parametrize(
    ("uris", "recorded"),
    [
        ((), None),  # no artifact yet
        (("{out}/pipeline_root/Trainer/model/7",), None),
        (("{link}/pipeline_root/Trainer/model/7",), None),  # the same folder through a link
        (("{old}/pipeline_root/Trainer/model/7",), "{old}"),  # copied: the other folder is there
        (("{gone}/pipeline_root/Trainer/model/7",), "{gone}"),  # moved: it is gone
        # The newest artifact under a pipeline_root/ tells; an imported file or an older version's
        # relative URI does not.
        (("{old}/pipeline_root/Trainer/model/7", "{out}/pipeline_root/Pusher/pushed_model/8"), None),
        (("{old}/pipeline_root/Trainer/model/7", "{out}/vectors.txt", "out/pipeline_root/x/9"), "{old}"),
        (("{out}/pipeline_root/a/pipeline_root/Trainer/model/7",), "{out}/pipeline_root/a"),  # the last one
    ],
)
def test_a_copied_or_moved_output_is_told_by_its_store(tmp_path, uris, recorded):
    folders = {name: tmp_path / name for name in ("out", "old", "gone", "link")}
    folders["old"].mkdir()
    path = _store_of(folders["out"], *(uri.format(**folders) for uri in uris))
    os.symlink(folders["out"], folders["link"])
    expected = recorded.format(**folders) if recorded else None
    assert stored_uris.moved_from(path, str(folders["out"])) == expected


def test_a_run_in_a_copied_output_is_refused_before_it_starts(tmp_path):
    """A copy's store names the original's files: a run cached from them (or, the original gone, ran all
    anew and missed its served model); now a usage error naming both folders."""
    _store_of(tmp_path / "copy", f"{tmp_path}/out/pipeline_root/Trainer/model/7")
    result = run_cli("run", "--output", "copy", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: output: the ML Metadata store {tmp_path}/copy/metadata.sqlite "
        f"records its artifacts under {tmp_path}/out, not under {tmp_path}/copy: the output folder was copied "
        f"or moved (ML Metadata keeps absolute paths, so a run would read and cache from {tmp_path}/out); "
        f"nothing was run: give --output {tmp_path}/out (moved back there if it is gone), or a new output folder"
    )
    # The report reads the original's files (the runs' record is the store's), and says so (while the
    # original is there: an output moved from it is refused without the warning).
    (tmp_path / "out").mkdir()
    result = run_cli("report", "--output", "copy", cwd=tmp_path)
    assert (
        f"WARNING {tmp_path}/copy was copied or moved: its ML Metadata store records the artifacts under "
        f"{tmp_path}/out, which the report reads (ML Metadata keeps absolute paths)"
    ) in result.stderr, result.stderr[-2000:]


def test_report_of_an_output_without_runs_is_a_clear_usage_error(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    result = run_cli("report", "--output", "../out [x]", cwd=tmp_path / "elsewhere")
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"imdb-pipeline report: no ML Metadata store at {tmp_path}/out [x]/metadata.sqlite: "
        "has a run written to this output?\n"
    )


@pytest.mark.parametrize("name", ["out [1]", "out*", "out?", "o\\ut", "gs://b/out[1]"])
def test_an_output_folder_with_glob_characters_is_refused_before_any_work(tmp_path, name):
    output = name if "://" in name else str(tmp_path / name)
    found = " ".join(repr(char) for char in "[*?\\" if char in name)
    with pytest.raises(OptionsError) as error:
        preflight.check(build_config({"output": output}))
    assert str(error.value) == (
        f"output: {output} holds {found}: Apache Beam's file writers (TFX's ExampleGen and Transform write "
        "with them) and TensorFlow's SavedModel reader take the paths below the output folder as glob "
        "patterns, so a run there would fail or mix up files; choose an output folder without '[', '*', '?' "
        "or '\\' (spaces, ']' and any other characters work)"
    )
    assert not os.path.exists(output)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PATH_NAMES, PATH_NAMES.filter(lambda name: not set(name) & set("[*?\\")))
def test_the_console_script_takes_any_data_and_output_names(tmp_path, data_name, output_name):
    """The real CLI (dry run) from another folder: relative paths with generated names become absolute."""
    folder = tmp_path / "data" / data_name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE_DATA, folder / "aclImdb.tar.gz")
    (tmp_path / "cwd").mkdir(exist_ok=True)
    result = run_cli(
        "run", "--dry-run", "--data", f"../data/{data_name}/aclImdb.tar.gz", "--output", f"../{output_name}",
        cwd=tmp_path / "cwd",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"  data:     {folder}/aclImdb.tar.gz\n" in result.stdout
    assert f"  root:     {tmp_path / output_name}/pipeline_root\n" in result.stdout
    shutil.rmtree(tmp_path / "data")


def test_report_of_a_damaged_metadata_store_is_a_clear_usage_error(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metadata.sqlite").write_text("not a database")
    result = run_cli("report", "--output", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"imdb-pipeline report: cannot open the ML Metadata store {tmp_path}/out/metadata.sqlite: "
        "Error when executing query: file is not a database\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("span", "expected"), [(1, 1), (None, 2)])
def test_the_example_gen_ingests_the_span_asked_for(tmp_path, span, expected):
    """TFX's LocalDagRunner runs the real ExampleGen over span folders below a folder named with '[v1]'."""
    from tfx.orchestration import metadata
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    root = tmp_path / "imdb [v1]"
    write_dataset(root / "span-1", GOOD_FILES)
    write_dataset(root / "span-2", {**GOOD_FILES, "train/unsup/1_0.txt": b"One more review in span 2."})
    data = str(root / "span-{SPAN}")
    config = build_config({"data": data, "span": span, "output": str(tmp_path / "out")})
    assert preflight.check(config) == str(root / f"span-{expected}")
    LocalDagRunner().run(
        tfx_pipeline.Pipeline(
            pipeline_name="spans",
            pipeline_root=str(tmp_path / "out"),
            components=[component.create_example_gen(config.data, span=config.span)],
            metadata_connection_config=metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite")),
            beam_pipeline_args=beam_args_with_dependencies(["--runner=FnApiRunner"]),
        )
    )
    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite"))
    )
    (examples,) = store.get_artifacts_by_type("Examples")
    assert examples.custom_properties["span"].int_value == expected
    assert examples.custom_properties["reviews_read"].int_value == len(GOOD_REVIEWS) + (expected == 2)


def test_beam_args_in_a_config_file_are_asked_of_beam_too(tmp_path):
    path = _write(tmp_path, "beam_args:\n  - --direct_num_workers=2\n  - --direct_num_worker=3\n")
    with pytest.raises(OptionsError) as error:
        config_from_command_line("--config", path)
    assert str(error.value) == (
        f"config file {path}, line 1: beam_args: unknown option --direct_num_worker (did you mean "
        f"--direct_num_workers?); {BEAM_HINT}"
    )
    path = _write(tmp_path, "beam_args: [--direct_num_workers=2]\n")
    assert config_from_command_line("--config", path).beam_args == (
        "--runner=FnApiRunner",
        "--direct_num_workers=2",
    )
