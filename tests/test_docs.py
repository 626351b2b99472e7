"""What the README and examples/ tell a user agrees with the code: options, defaults, commands, REST bodies."""

import base64
import enum
import json
import os
from pathlib import Path
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

from pipeline import config as config_module
from pipeline.config import build_config, load_config_file
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE_CONFIG = ROOT / "examples" / "config.yaml"
MODEL_NAME = "imdb_sentiment"


def _defaults() -> dict[str, dict[str, object]]:
    """Every option and its default: section -> option -> value ("" for the top level)."""
    top = {name: field.default for name, field in config_module.PipelineConfig.model_fields.items()}
    options = {"": {key: top[key] for key in config_module.TOP_LEVEL_KEYS}}
    for section, options_class in config_module.SECTIONS.items():
        # A choice's default is a StrEnum member; a YAML file holds its value.
        options[section] = {
            name: field.default.value if isinstance(field.default, enum.Enum) else field.default
            for name, field in options_class.model_fields.items()
        }
    return options


def test_the_example_config_lists_every_option_at_its_default():
    values = load_config_file(str(EXAMPLE_CONFIG))
    defaults = _defaults()
    # `data` defaults to the sample inside the installed package, a path no file can spell: it is
    # the one key shown commented out.
    assert re.search(r"^# data: \S+", EXAMPLE_CONFIG.read_text(encoding="utf-8"), re.MULTILINE)
    assert set(values) == (set(defaults[""]) - {"data"}) | set(config_module.SECTIONS)
    for key in set(defaults[""]) - {"data"}:
        expected = defaults[""][key]
        assert (tuple(values[key]) if isinstance(values[key], list) else values[key]) == expected, key
    for section in config_module.SECTIONS:
        assert list(values[section]) == list(defaults[section]), f"{section}: options missing or out of order"
        for option, expected in defaults[section].items():
            value = values[section][option]
            value = tuple(value) if isinstance(value, list) else value
            assert value == expected and type(value) is type(expected), f"{section}.{option}: {value!r}"
    assert build_config(values) == build_config()


def _options_table() -> list[tuple[str, list[str], list[str]]]:
    """(section, options, defaults) of each row of the README's configuration table."""
    section_text = README.split("### Configuration", 1)[1]
    rows, section = [], None
    for line in section_text.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] in ("section", "---"):
            continue
        if cells[0]:
            section = "" if cells[0] == "top level" else cells[0].strip("`")
        options = [name.strip("`") for name in cells[1].split(", ")]
        defaults = [value.strip("`") for value in cells[2].split(", ")]
        rows.append((section, options, defaults))
    return rows


def _shown(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def test_the_readme_options_table_names_every_option_with_its_default():
    defaults = _defaults()
    listed: dict[str, dict[str, str]] = {}
    for section, options, shown in _options_table():
        if len(shown) != len(options):
            shown = [shown[0]] * len(options)  # one phrase for all, e.g. "the bundled sample"
        for option, value in zip(options, shown, strict=True):
            assert option not in listed.setdefault(section, {}), f"{section}.{option} listed twice"
            listed[section][option] = value
    assert {s: set(o) for s, o in listed.items()} == {s: set(o) for s, o in defaults.items()}
    for section, options in listed.items():
        for option, value in options.items():
            expected = defaults[section][option]
            if section == "" and option in ("data", "span"):
                continue  # "the bundled sample", "newest": no literal default
            if expected is None:
                assert value == "null", option
            elif isinstance(expected, float):
                assert float(value) == expected, f"{section}.{option}"
            elif section == "" and option == "beam_args":
                assert value == " ".join(expected)
            else:
                assert value == _shown(expected), f"{section}.{option}: README says {value}"


def _sh_commands(text: str) -> list[str]:
    """The commands of the README's ```sh blocks: continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_readme_commands_use_the_projects_environment_as_a_fresh_clone_has_it():
    commands = _sh_commands(README)
    assert len(commands) > 10
    for command in commands:
        for segment in re.split(r"\s*(?:\||&&|;)\s*", command):
            program = shlex.split(segment)[0] if segment else ""
            if program in ("python", "python3", "pip", "imdb-pipeline", "saved_model_cli", "tensorboard"):
                pytest.fail(f"README command needs .venv/bin/{program}: {command}")


def _rest_bodies() -> dict[str, dict]:
    """The JSON bodies of the README's TF Serving requests, by signature."""
    bodies = {}
    for block in re.findall(
        r"POST http://localhost:8501/v1/models/imdb_sentiment:predict\n(.*?)\n```", README
    ):
        body = json.loads(block)
        bodies[body["signature_name"]] = body
    return bodies


def _tf_serving_row_inputs(body: dict, input_name: str) -> list:
    """The values of ``input_name`` that TF Serving's REST API makes of a row-format request.

    Per TF Serving's JSON mapping: each instance is an object of input names (or
    the bare value when the signature has one input), and a ``{"b64": ...}``
    object is binary data, base64-encoded.
    """
    values = []
    for instance in body["instances"]:
        if isinstance(instance, dict) and set(instance) != {"b64"}:
            assert set(instance) == {input_name}
            instance = instance[input_name]
        values.append(base64.b64decode(instance["b64"]) if isinstance(instance, dict) else instance.encode())
    return values


def test_the_readme_rest_bodies_are_well_formed_for_both_signatures():
    bodies = _rest_bodies()
    assert set(bodies) == {"serving_default", "serving_tf_example"}
    texts = _tf_serving_row_inputs(bodies["serving_default"], "text")
    serialized = _tf_serving_row_inputs(bodies["serving_tf_example"], "examples")
    from tensorflow.core.example import example_pb2

    decoded = [example_pb2.Example.FromString(value) for value in serialized]
    assert [e.features.feature["text"].bytes_list.value[0] for e in decoded] == texts


@pytest.mark.slow
def test_the_readme_rest_bodies_give_the_same_scores_through_the_pushed_model(pushed_run, tmp_path):
    output, first, _ = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    model_dir = output / "serving" / MODEL_NAME
    (version,) = [name for name in os.listdir(model_dir) if name.isdigit()]
    bodies = _rest_bodies()
    feeds = {
        "serving_default": ("text", _tf_serving_row_inputs(bodies["serving_default"], "text")),
        "serving_tf_example": ("examples", _tf_serving_row_inputs(bodies["serving_tf_example"], "examples")),
    }
    # In a fresh process with nothing but TensorFlow, as a server would load it.
    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        model = tf.saved_model.load({str(model_dir / version)!r})
        feeds = {{name: (key, [bytes.fromhex(v) for v in values]) for name, (key, values) in json.load(sys.stdin).items()}}
        print(json.dumps({{
            name: model.signatures[name](**{{key: tf.constant(values)}})["probability"].numpy().tolist()
            for name, (key, values) in feeds.items()
        }}))
        """
    )
    stdin = json.dumps({name: (key, [v.hex() for v in values]) for name, (key, values) in feeds.items()})
    result = subprocess.run(
        [sys.executable, "-c", script], input=stdin, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores["serving_tf_example"] == pytest.approx(scores["serving_default"], abs=1e-6)
    positive, negative = scores["serving_default"]
    assert negative < 0.3 < 0.7 < positive


def test_the_quick_starts_figures_are_the_default_sample_runs(pushed_run):
    """The summary line and the two example scores the README shows are what the default run gives.

    Within 0.01: the run is repeatable on one machine, but another CPU's float kernels may move the
    last digits; a change of defaults moves them by more (4 to 2 Trainer epochs moved AUC by 0.011).
    """
    output, first, _ = pushed_run
    metric = r"test accuracy ([\d.]+), auc ([\d.]+), precision ([\d.]+), recall ([\d.]+), loss ([\d.]+);"
    documented = re.search(r"imdb-sentiment run .*?" + metric, README.split("## Quick start", 1)[1])
    measured = re.search(metric, first.stdout)
    assert documented and measured, first.stdout[-2000:]
    assert [float(value) for value in documented.groups()] == pytest.approx(
        [float(value) for value in measured.groups()], abs=0.01
    )
    examples = re.findall(
        r"^# ([\d.]+)\t(.+)$", README.split("## Quick start", 1)[1].split("\n## ", 1)[0], re.M
    )
    assert len(examples) == 2
    scored = run_cli(
        "predict",
        "--model",
        str(output / "serving" / MODEL_NAME),
        *(text for _, text in examples),
        cwd=output,
    )
    assert scored.returncode == 0, scored.stderr[-2000:]
    lines = [line.split("\t") for line in scored.stdout.splitlines()]
    assert [text for _, text in lines] == [text for _, text in examples]
    assert [float(score) for score, _ in lines] == pytest.approx(
        [float(score) for score, _ in examples], abs=0.01
    )
