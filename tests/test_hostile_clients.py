"""Hostile checks of what users and real clients do with the CLI's outputs.

``compile`` (KFP package / Vertex AI job), ``predict`` (arguments, files,
stdin), ``neighbors``, ``report``, ``run --dry-run`` and the README's client
snippets, each tried the way a demanding user would: odd paths, typos,
damaged or foreign inputs, and stderr that must hold only the command's own
messages. Every test runs the real console script (or ``python -m pipeline``)
in a fresh process, or the real client library's own loader.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

CLI = str(Path(sys.executable).with_name("imdb-pipeline"))
README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "config.yaml"

# TensorFlow's C++ start-up lines (absl's banner, I/W/E lines) and the
# continuation line of the CPU feature notice.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
    r"|To enable the following instructions:)",
    re.M,
)


def cli(*args: str, cwd, stdin: bytes | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The console script in a fresh process (PYTHONPATH inherited); text output."""
    result = subprocess.run(
        [CLI, *args], cwd=cwd, input=stdin, capture_output=True, timeout=timeout, check=False
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def tf_noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if _TF_NOISE.match(line)]


@pytest.fixture(scope="module")
def sample_run(pushed_run):
    """The session's run of the bundled sample (tests/conftest.py), read and never changed: (output
    folder, completed process of its first run)."""
    output, result, _ = pushed_run
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result


@pytest.fixture(scope="module")
def model_dir(sample_run) -> Path:
    return sample_run[0] / "serving" / "imdb_sentiment"


@pytest.fixture(scope="module")
def version_dir(model_dir) -> Path:
    return max((p for p in model_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


# ---------------------------------------------------------------- compile


def test_compile_upper_case_yaml_extension_is_a_usage_error_not_a_traceback(tmp_path):
    # kfp's writer and kfp.Client's package reader both test `.endswith(".yaml")`, case-sensitively.
    result = cli("compile", "--output-file", "out.YAML", "--image", "img:1", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert "out.YAML" in result.stderr


def test_compile_to_a_directory_named_like_a_package_is_a_usage_error(tmp_path):
    (tmp_path / "pkg.yaml").mkdir()
    result = cli("compile", "--output-file", "pkg.yaml", "--image", "img:1", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert "pkg.yaml" in result.stderr


def test_compile_to_an_unwritable_place_is_a_usage_error(tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = cli("compile", "--output-file", "a-file/pipeline.yaml", "--image", "img:1", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert "a-file" in result.stderr


def test_compile_refuses_an_empty_image(tmp_path):
    # With an empty --image TFX silently falls back to gcr.io/tfx-oss-public/tfx, which lacks this project.
    result = cli("compile", "--output-file", "p.yaml", "--image", "", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "image" in result.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_compile_refuses_an_empty_schedule(tmp_path):
    # `--schedule "$CRON"` with an unset variable must not silently compile without a schedule.
    result = cli("compile", "--output-file", "p.yaml", "--image", "img:1", "--schedule", "", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stdout
    assert "schedule" in result.stderr
    assert not (tmp_path / "p.yaml").exists()  # checked before anything is written


def test_compile_refuses_a_misspelt_command_flag(tmp_path):
    # `--schedul` is not a Beam flag: passing it to Beam drops the schedule silently.
    result = cli(
        "compile", "--output-file", "p.yaml", "--image", "img:1", "--schedul", "0 3 * * *", cwd=tmp_path
    )
    assert result.returncode == 2, result.stdout
    assert "--schedul" in result.stderr


@pytest.mark.parametrize(
    "cron",
    # KFP's robfig/cron takes day of week 0-6 only: 7 (Sunday in some crons) would fail the recurring run.
    [
        "61 3 * * *",
        "0 25 * * *",
        "0 3 32 * *",
        "0 3 * 13 *",
        "0 3 * * 9",
        "*/0 * * * *",
        "0 3 * * 7",
        "0 3 * * 5-7",
    ],
)
def test_schedule_values_out_of_range_are_refused(cron):
    from pipeline import kubeflow

    with pytest.raises(kubeflow.ScheduleError):
        kubeflow.validate_cron(cron)


@pytest.mark.parametrize(
    "cron",
    [
        "0 3 * * *",
        "*/15 0-6 1,15 * 1-5",
        "59 23 31 12 6",
        "0 0 * * 0",
        "0 3 * JAN MON",
        "0 3 * jan-mar/2 Mon-Fri",
    ],
)
def test_schedule_values_in_range_are_accepted(cron):
    from pipeline import kubeflow

    assert kubeflow.validate_cron(cron) == cron


def test_compile_refuses_a_schedule_with_a_span(tmp_path):
    # Every scheduled run would have ingested span 3, not the newest.
    result = cli(
        "compile", "--output-file", "p.yaml", "--image", "img:1", "--data", "gs://b/span-{SPAN}/a.tar.gz",
        "--span", "3", "--schedule", "0 3 * * *", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines()[-1] == (
        "imdb-pipeline compile: error: --schedule with --span 3: a scheduled run takes the newest span each time, "
        "but --span 3 would pin every run to span 3; drop --span (or --schedule, for one run of that span) "
        "(see imdb-pipeline compile --help)"
    )
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize("target", ["kfp", "vertex"])
@pytest.mark.parametrize("name", ['my "pipeline"', "back\\slash"])
def test_printed_client_snippets_are_valid_python_naming_the_file(name, target):
    from pipeline import kubeflow
    from pipeline.config import build_config

    spec_file = name + (".yaml" if target == "kfp" else ".json")
    snippet = kubeflow.client_commands(spec_file, target, build_config(), cron="0 3 * * *")
    tree = ast.parse(snippet)  # a quote or backslash in the name must not break the code
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    assert spec_file in strings


def test_compiled_kfp_package_and_vertex_job_load_in_the_real_clients(tmp_path):
    import google.auth.credentials
    from google.cloud import aiplatform
    from kfp.client import client as kfp_client

    from pipeline import kubeflow
    from pipeline.config import build_config

    config = build_config()
    package = tmp_path / "dir with space [x]" / "pipeline ü.yml"
    job_file = tmp_path / "job.json"
    kubeflow.compile_pipeline(config, str(package), "img:1")
    kubeflow.compile_pipeline(config, str(job_file), "img:1")
    doc = kfp_client._extract_pipeline_yaml(str(package))  # what create_run_from_pipeline_package reads
    assert doc.pipeline_spec.pipeline_info.name == "imdb-sentiment"
    assert len(doc.pipeline_spec.root.dag.tasks) == 17
    for path in (package, job_file):
        job = aiplatform.PipelineJob(
            display_name="imdb",
            template_path=str(path),
            project="p",
            location="us-central1",
            credentials=google.auth.credentials.AnonymousCredentials(),
        )
        assert job._gca_resource.runtime_config.gcs_output_directory == config.pipeline_root


def test_readme_vertex_call_runs_with_the_installed_sdk(tmp_path, monkeypatch):
    """The README's `aiplatform.PipelineJob(template_path=..., pipeline_root=...)` must construct."""
    import google.auth.credentials
    from google.cloud import aiplatform

    from pipeline import kubeflow
    from pipeline.config import build_config

    calls = re.findall(r"`(aiplatform\.PipelineJob\([^`]*?\))(?:\.submit\(\))?`", README.read_text())
    assert calls, "the README names no aiplatform.PipelineJob call"
    monkeypatch.chdir(tmp_path)
    kubeflow.compile_pipeline(build_config(), "imdb-pipeline.yaml", "img:1")
    aiplatform.init(
        project="p", location="us-central1", credentials=google.auth.credentials.AnonymousCredentials()
    )
    for call in calls:
        code = call.replace("...", repr("gs://bucket/root"))
        eval(code, {"aiplatform": aiplatform, "__builtins__": {}}, {})


# ------------------------------------------------------ run, dry-run, report, config


def test_run_prints_no_tensorflow_startup_lines_without_verbose(sample_run):
    assert tf_noise(sample_run[1].stderr) == []


def test_dry_run_prints_no_tensorflow_startup_lines(tmp_path):
    result = cli("run", "--config", str(EXAMPLE_CONFIG), "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tf_noise(result.stderr) == []
    assert result.stderr == ""


def test_misspelt_dry_run_flag_is_refused_not_run(tmp_path):
    # An empty dataset folder: if the typo reaches Beam, the run starts and fails in ExampleGen (exit 1).
    (tmp_path / "aclImdb").mkdir()
    result = cli("run", "--dryrun", "--data", str(tmp_path), "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--dryrun" in result.stderr
    assert not (tmp_path / "out" / "pipeline_root").exists()


def test_report_of_a_missing_output_prints_only_its_message(tmp_path):
    result = cli("report", "--output", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"imdb-pipeline report: no ML Metadata store at {tmp_path / 'none'}/metadata.sqlite: "
        "has a run written to this output?"
    ]


def test_example_config_is_exactly_the_defaults():
    from pipeline import config

    assert config.build_config(config.load_config_file(str(EXAMPLE_CONFIG))) == config.build_config()


def test_step_counts_agree(sample_run, tmp_path):
    result = sample_run[1]
    dry = cli("run", "--config", str(EXAMPLE_CONFIG), "--dry-run", cwd=tmp_path)
    planned = int(re.search(r": (\d+) steps, cache", dry.stdout).group(1))
    logged = {int(m) for m in re.findall(r"Step \d+/(\d+) ", result.stderr)}
    summary = int(re.search(r": (\d+) steps \((\d+) executed, (\d+) cached\)", result.stdout).group(1))
    from pipeline import kubeflow
    from pipeline.config import build_config
    from pipeline.pipeline import create_pipeline, pipeline_steps

    compiled = len(pipeline_steps(create_pipeline(build_config(), portable=True)))
    assert {planned, summary, compiled} | logged == {14}
    assert (
        kubeflow.task_count(kubeflow.compile_pipeline(build_config(), str(tmp_path / "p.json"), "img:1"))
        == 17
    )


# ---------------------------------------------------------------- predict

TEXTS = ["an awful, boring waste of time", "a wonderful, moving masterpiece", "tab\there", "ok"]


def _scores(stdout: str) -> list[float]:
    return [json.loads(line)["probability"] for line in stdout.splitlines()]


def test_predict_same_numbers_from_arguments_file_stdin_and_python_m(model_dir, tmp_path):
    lines = "\r\n".join(json.dumps({"text": t, "id": i}) for i, t in enumerate(TEXTS)).encode()
    (tmp_path / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + lines + b"\r\n")
    common = ("predict", "--model", str(model_dir), "--format", "jsonl")
    by_args = cli(*common, *TEXTS, cwd=tmp_path)
    by_file = cli(*common, "--input", "in.jsonl", cwd=tmp_path)
    by_stdin = cli(*common, "-", cwd=tmp_path, stdin=lines)
    module = subprocess.run(
        [sys.executable, "-m", "pipeline", *common, *TEXTS], cwd=tmp_path, capture_output=True, text=True
    )
    for result in (by_args, by_file, by_stdin, module):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    assert _scores(by_args.stdout) == _scores(by_file.stdout) == _scores(by_stdin.stdout)
    assert module.stdout == by_args.stdout
    assert [json.loads(line)["id"] for line in by_file.stdout.splitlines()] == [0, 1, 2, 3]


def test_predict_tsv_escapes_tabs_and_line_breaks(model_dir, tmp_path):
    result = cli("predict", "--model", str(model_dir), "a\tb\nc\\d\re", cwd=tmp_path)
    assert result.returncode == 0
    score, text = result.stdout.rstrip("\n").split("\t")
    assert text == "a\\tb\\nc\\\\d\\re"
    assert re.fullmatch(r"0\.\d{4}|1\.0000", score)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ok\nbad \xff byte\n", "in.txt, line 2 is not valid UTF-8 (byte 0xff at byte 4)"),
        (b'{"text": "a"}\n{"txt": "b"}\n', 'in.txt, line 2: the JSON object has no string "text" field'),
        (b'{"text": "a"}\n{"text": null}\n', 'in.txt, line 2: the JSON object has no string "text" field'),
        (b'{"text": "a"}\n{"text": 5}\n', 'in.txt, line 2: the JSON object has no string "text" field'),
        (
            b'{"text": "a"}\nplain\n',
            "in.txt, line 2 is not a JSON object (JSON Lines input: one object per line)",
        ),
    ],
)
def test_predict_bad_input_lines_are_usage_errors_naming_file_and_line(model_dir, tmp_path, content, message):
    (tmp_path / "in.txt").write_bytes(content)
    result = cli("predict", "--model", str(model_dir), "--input", "in.txt", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"imdb-pipeline predict: {message}"


def test_predict_jsonl_output_is_strict_json(model_dir, tmp_path):
    # Python's json reads NaN and 1e999; the output must still be JSON a strict reader (jq) accepts.
    (tmp_path / "in.jsonl").write_bytes(b'{"text": "great", "x": NaN, "y": 1e999}\n')
    result = cli(
        "predict", "--model", str(model_dir), "--input", "in.jsonl", "--format", "jsonl", cwd=tmp_path
    )

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    if result.returncode == 0:
        for line in result.stdout.splitlines():
            json.loads(line, parse_constant=refuse)
    else:
        assert result.returncode == 2
        assert "in.jsonl, line 1" in result.stderr


def test_predict_a_json_array_file_is_not_scored_as_one_review(model_dir, tmp_path):
    (tmp_path / "reviews.json").write_text('[{"text": "great"}, {"text": "awful"}]\n')
    result = cli("predict", "--model", str(model_dir), "--input", "reviews.json", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert "reviews.json, line 1" in result.stderr


def test_predict_a_review_that_reads_like_a_flag_adds_no_noise(model_dir, tmp_path):
    result = cli("predict", "--model", str(model_dir), "--", "--verbose", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.endswith("\t--verbose\n")
    assert result.stderr == ""


def test_predict_truncated_variables_is_a_usage_error(version_dir, tmp_path):
    damaged = tmp_path / "model" / "1"
    shutil.copytree(version_dir, damaged)
    data = next((damaged / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:5000])
    result = cli("predict", "--model", str(damaged.parent), "x", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr[-2000:]
    assert str(damaged) in result.stderr


@pytest.mark.parametrize("command", ["predict", "neighbors"])
def test_a_file_given_as_model_is_not_said_to_be_missing(version_dir, tmp_path, command):
    pb = version_dir / "saved_model.pb"
    result = cli(command, "--model", str(pb), "great", cwd=tmp_path)
    assert result.returncode == 2
    assert str(pb) in result.stderr
    assert "does not exist" not in result.stderr


def test_predict_model_path_variants(model_dir, version_dir, tmp_path):
    odd = tmp_path / "glob [x]*? ü" / "7"
    shutil.copytree(version_dir, odd)
    expected = cli("predict", "--model", str(version_dir), "great", cwd=tmp_path)
    assert expected.returncode == 0
    assert cli("predict", "--model", str(odd.parent), "great", cwd=tmp_path).stdout == expected.stdout
    root = cli("predict", "--model", str(model_dir.parent), "great", cwd=tmp_path)
    assert root.returncode == 2
    assert "holds no SavedModel" in root.stderr


def test_predict_missing_model_flag_same_for_console_script_and_python_m(tmp_path):
    script = cli("predict", "x", cwd=tmp_path)
    module = subprocess.run(
        [sys.executable, "-m", "pipeline", "predict", "x"], cwd=tmp_path, capture_output=True, text=True
    )
    assert script.returncode == module.returncode == 2
    assert "the following arguments are required: --model" in script.stderr
    assert script.stderr == module.stderr


def test_predict_closed_pipe_is_quiet(model_dir, tmp_path):
    reviews = "a wonderful film\n" * 3000
    process = subprocess.Popen(
        [CLI, "predict", "--model", str(model_dir), "-", "--batch-size", "16"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdin.write(reviews.encode())
    process.stdin.close()
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert first.decode().endswith("\ta wonderful film\n")
    assert stderr == ""


# ---------------------------------------------------------------- neighbors


def _copy_with_matrix(version_dir: Path, target: Path, matrix: np.ndarray) -> Path:
    embeddings = target / "1" / "embeddings"
    embeddings.mkdir(parents=True)
    shutil.copy(version_dir / "saved_model.pb", target / "1")
    shutil.copy(version_dir / "embeddings" / "vocabulary.txt", embeddings)
    np.save(embeddings / "embeddings.npy", matrix)
    return target


def test_neighbors_matrix_with_nan_is_reported_not_called_zero(version_dir, tmp_path):
    matrix = np.load(version_dir / "embeddings" / "embeddings.npy")
    matrix[:, 0] = np.nan
    model = _copy_with_matrix(version_dir, tmp_path / "m", matrix)
    result = cli("neighbors", "--model", str(model), "great", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "embeddings.npy" in result.stderr
    assert "all zeros" not in result.stdout


@pytest.mark.parametrize("dtype", [np.complex64, np.str_])
def test_neighbors_foreign_matrix_dtype_is_a_usage_error(version_dir, tmp_path, dtype):
    matrix = np.load(version_dir / "embeddings" / "embeddings.npy").astype(dtype)
    model = _copy_with_matrix(version_dir, tmp_path / "m", matrix)
    result = cli("neighbors", "--model", str(model), "great", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert "embeddings.npy" in result.stderr


def test_neighbors_large_finite_vectors_are_not_zero(version_dir, tmp_path):
    trained = np.load(version_dir / "embeddings" / "embeddings.npy")
    model = _copy_with_matrix(version_dir, tmp_path / "m", trained * np.float32(1e20))
    result = cli("neighbors", "--model", str(model), "--k", "2", "great", cwd=tmp_path)
    reference = cli("neighbors", "--model", str(version_dir), "--k", "2", "great", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[1:] == reference.stdout.splitlines()[1:]


def test_neighbors_odd_words(model_dir, tmp_path):
    result = cli("neighbors", "--model", str(model_dir), "--k", "1", "GREAT", "Great", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    unknown = cli("neighbors", "--model", str(model_dir), "great film", "", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "2 words are not in the vocabulary" in unknown.stderr
    bad = cli(
        "neighbors", "--model", str(model_dir), b"\xffx".decode("utf-8", "surrogateescape"), cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "WORD argument 1 is not valid UTF-8" in bad.stderr
