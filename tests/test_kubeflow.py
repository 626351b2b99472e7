"""The same pipeline compiled for Kubeflow Pipelines / Vertex AI with TFX's Kubeflow V2 runner.

Each compiled file is loaded by the real client's own loader, offline: KFP's
package reader (what ``create_run_from_pipeline_package`` and
``create_recurring_run`` call) and ``aiplatform.PipelineJob(template_path=...)``.
"""

import json
import os
import re
import tempfile

from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform
from hypothesis import given
from hypothesis import strategies as st
import kfp
import pytest
import yaml

from pipeline import kubeflow
from pipeline.config import build_config
from tests.conftest import DEFAULT_STEP_IDS, run_cli

IMAGE = "europe-docker.pkg.dev/my-project/images/imdb:1"


@pytest.mark.parametrize("image", ["", " ", "\t\n"])
def test_compiling_from_python_refuses_a_blank_image_writing_nothing(tmp_path, image):
    """TFX would run every step in its own image; before, only the command line refused it."""
    config = build_config({"data": "gs://bucket/imdb/aclImdb_v1.tar.gz", "output": "gs://bucket/runs"})
    with pytest.raises(ValueError) as error:
        kubeflow.compile_pipeline(config, str(tmp_path / "imdb.json"), image)
    assert str(error.value) == "--image must not be empty: every step runs in it (an image with this project)"
    assert list(tmp_path.iterdir()) == []


def test_compiled_spec_holds_every_step_the_image_and_the_parameters(tmp_path):
    config = build_config(
        {
            "data": "gs://bucket/imdb/span-{SPAN}/aclImdb_v1.tar.gz",
            "output": "gs://bucket/runs",
            "trainer": {"epochs": 3},
            "beam_args": ["--runner=DataflowRunner", "--region=europe-west1"],
        }
    )
    spec = kubeflow.compile_pipeline(config, str(tmp_path / "imdb.json"), IMAGE)
    assert json.loads((tmp_path / "imdb.json").read_text()) == spec
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/runs/pipeline_root"

    pipeline_spec = spec["pipelineSpec"]
    assert pipeline_spec["pipelineInfo"]["name"] == "imdb-sentiment"
    # Every step, and nothing else; TFX compiles the baseline resolver's latest-blessed-model
    # strategy to two resolver tasks.
    assert set(pipeline_spec["root"]["dag"]["tasks"]) == (
        set(DEFAULT_STEP_IDS) - {"baseline_model_resolver"}
    ) | {
        "baseline_model_resolver-model-blessing-resolver",
        "baseline_model_resolver-model-resolver",
    }
    executors = pipeline_spec["deploymentSpec"]["executors"]
    assert {executor["container"]["image"] for executor in executors.values() if "container" in executor} == {
        IMAGE
    }
    transform_args = executors["Transform_executor"]["container"]["args"]
    assert "components.transform.executor.Executor" in transform_args
    assert transform_args[-2:] == ["--runner=DataflowRunner", "--region=europe-west1"]

    def parameter(task, name):
        value = pipeline_spec["root"]["dag"]["tasks"][task]["inputs"]["parameters"][name]
        return value["runtimeValue"]["constantValue"]["stringValue"]

    assert json.loads(parameter("Trainer", "options"))["epochs"] == 3
    assert json.loads(parameter("FileBasedExampleGen", "input_config"))["splits"][0]["pattern"] == (
        "span-{SPAN}/aclImdb_v1.tar.gz"
    )
    assert parameter("Pusher", "serving_model_dir") == "gs://bucket/runs/serving/imdb_sentiment"


@pytest.mark.parametrize("expression", ["0 3 * * *", "*/15 * * * 1-5", "0 0 1,15 * *"])
def test_valid_cron_expressions(expression):
    assert kubeflow.validate_cron(f"  {expression} ") == expression


@pytest.mark.parametrize("expression", ["0 3 * *", "every day", "0 3 * * * *", "@daily"])
def test_invalid_cron_expressions_are_rejected(expression):
    with pytest.raises(kubeflow.ScheduleError, match="five-field cron expression"):
        kubeflow.validate_cron(expression)


def _kfp_job_config(package):
    """What ``kfp.Client().create_run_from_pipeline_package`` and ``create_recurring_run`` send.

    Both build the request with ``Client._create_job_config``, which reads the
    package with KFP's own reader and parses it strictly into KFP's
    ``PipelineSpec`` proto; it uses nothing of the client instance, so no
    server is needed.
    """
    return kfp.Client._create_job_config(
        None,
        params=None,
        pipeline_package_path=str(package),
        pipeline_id=None,
        version_id=None,
        enable_caching=None,
        cache_key=None,
        pipeline_root=None,
    )


def _vertex_job(template):
    return aiplatform.PipelineJob(
        display_name="imdb-sentiment",
        template_path=str(template),
        project="my-project",
        location="europe-west1",
        credentials=AnonymousCredentials(),
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The pipeline compiled by the console script for each target: (dir, kfp result, vertex result)."""
    workdir = tmp_path_factory.mktemp("compiled")
    common = ("--image", IMAGE, "--output", "gs://bucket/runs", "--trainer.epochs", "3")
    kfp_result = run_cli("compile", "--output-file", "imdb.yaml", *common, cwd=workdir)
    vertex_result = run_cli(
        "compile", "--target", "vertex", "--output-file", "imdb.json", *common, cwd=workdir
    )
    return workdir, kfp_result, vertex_result


def test_kfp_package_is_loaded_by_the_kfp_client(compiled):
    workdir, result, _ = compiled
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""  # TensorFlow's start-up lines are filtered out
    job_config = _kfp_job_config(workdir / "imdb.yaml")
    spec = job_config.pipeline_spec
    assert spec["pipelineInfo"]["name"] == "imdb-sentiment"
    assert spec["defaultPipelineRoot"] == "gs://bucket/runs/pipeline_root"
    assert len(spec["root"]["dag"]["tasks"]) == len(DEFAULT_STEP_IDS) + 1
    trainer_options = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["options"]
    assert json.loads(trainer_options["runtimeValue"]["constantValue"]["stringValue"])["epochs"] == 3
    # Vertex AI reads a KFP package too, and takes the pipeline root from it.
    job = _vertex_job(workdir / "imdb.yaml")
    assert job._gca_resource.runtime_config.gcs_output_directory == "gs://bucket/runs/pipeline_root"
    # The printed snippets name this file for both services.
    assert result.stdout.splitlines()[0] == (
        f"wrote imdb.yaml: Kubeflow Pipelines package of pipeline imdb-sentiment, {len(DEFAULT_STEP_IDS) - 2} "
        f"steps ({len(DEFAULT_STEP_IDS) + 1} tasks: one per step, and TFX's for the resolvers: "
        f"baseline_model_resolver 2, previous_statistics_resolver 1), image {IMAGE}"
    )
    assert 'template_path="imdb.yaml"' in result.stdout
    assert 'client.create_run_from_pipeline_package(\n    "imdb.yaml",' in result.stdout


def test_vertex_job_is_loaded_by_aiplatform_and_refused_by_kfp_as_a_package(compiled):
    workdir, _, result = compiled
    assert result.returncode == 0, result.stderr[-3000:]
    job = _vertex_job(workdir / "imdb.json")
    resource = job._gca_resource
    assert resource.display_name == "imdb-sentiment"
    assert resource.runtime_config.gcs_output_directory == "gs://bucket/runs/pipeline_root"
    assert len(resource.pipeline_spec["root"]["dag"]["tasks"]) == len(DEFAULT_STEP_IDS) + 1
    assert result.stdout.startswith("wrote imdb.json: Vertex AI pipeline job of pipeline imdb-sentiment")
    assert 'template_path="imdb.json"' in result.stdout
    # The Kubeflow snippet does not offer the JSON, which KFP's client refuses:
    assert "create_run_from_pipeline_package" not in result.stdout
    assert "imdb-pipeline compile --target kfp --output-file imdb.yaml" in result.stdout
    with pytest.raises(ValueError, match="should end with one of"):
        _kfp_job_config(workdir / "imdb.json")


def test_compile_refuses_a_target_the_file_name_contradicts_or_an_unknown_extension(tmp_path):
    result = run_cli(
        "compile", "--target", "kfp", "--output-file", "spec.json", "--image", IMAGE, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline compile: configuration error: --output-file spec.json is a Vertex AI pipeline job "
        "(JSON) name, but --target is kfp (a Kubeflow Pipelines package (YAML)): name the file *.yaml or *.yml"
    )
    result = run_cli("compile", "--output-file", "spec.tar.gz", "--image", IMAGE, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline compile: configuration error: --output-file spec.tar.gz: the name must end with "
        ".yaml or .yml or .json, in lower case (.yaml/.yml: a Kubeflow Pipelines package; .json: a Vertex AI "
        "pipeline job)"
    )
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


@given(
    stem=st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=12),
    extension=st.sampled_from([".yaml", ".YML", ".yml", ".json", ".JSON", ".tgz", ".txt", "", ".yaml.json"]),
    target=st.sampled_from([None, "kfp", "vertex"]),
)
def test_the_target_follows_the_extension_and_a_contradiction_is_refused(stem, extension, target):
    name = f"{stem}{extension}"
    # Case-sensitive, as kfp's writer and kfp.Client's package reader are.
    implied = {".yaml": "kfp", ".yml": "kfp", ".json": "vertex"}.get(os.path.splitext(name)[1])
    if implied is None or target not in (None, implied):
        with pytest.raises(kubeflow.TargetError, match="--output-file"):
            kubeflow.resolve_target(name, target)
    else:
        assert kubeflow.resolve_target(name, target) == implied


def test_client_commands_use_each_service_cron_format_and_file():
    config = build_config({"output": "gs://bucket/runs"})
    commands = kubeflow.client_commands("imdb.yaml", kubeflow.KFP, config, cron="0 3 * * *")
    assert 'job.create_schedule(display_name="imdb-sentiment-schedule", cron="0 3 * * *")' in commands
    assert 'cron_expression="0 0 3 * * *"' in commands
    assert 'pipeline_package_path="imdb.yaml"' in commands
    assert 'pipeline_root="gs://bucket/runs/pipeline_root"' in commands
    vertex_only = kubeflow.client_commands("imdb.json", kubeflow.VERTEX, config, cron="0 3 * * *")
    assert "create_recurring_run" not in vertex_only
    assert 'template_path="imdb.json"' in vertex_only


_CRON_RANGES = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),  # robfig/cron: no 7
)


@given(data=st.data())
def test_cron_fields_in_range_are_accepted_and_out_of_range_refused_naming_the_field(data):
    fields = []
    for _, low, high, names in _CRON_RANGES:
        # A value as a number, or (month, day of week) as its name in any case, as robfig/cron reads them.
        def spelt(value, names=names, low=low):
            if names and data.draw(st.booleans()):
                return data.draw(st.sampled_from([str.lower, str.upper, str.title]))(names[value - low])
            return str(value)

        start = data.draw(st.integers(low, high))
        end = data.draw(st.integers(start, high))
        step = data.draw(st.integers(1, 60))
        fields.append(
            data.draw(
                st.sampled_from(
                    ["*", spelt(start), f"{spelt(start)}-{spelt(end)}", f"*/{step}", f"{spelt(start)}/{step}",
                     f"{spelt(start)},{spelt(end)}", f"{spelt(start)}-{spelt(end)}/{step}"]
                )
            )
        )  # fmt: skip
    assert kubeflow.validate_cron(" ".join(fields)) == " ".join(fields)
    index = data.draw(st.integers(0, 4))
    name, low, high, names = _CRON_RANGES[index]
    bad = data.draw(
        st.sampled_from(
            [str(high + 1), str(low - 1) if low else "*/0", f"{low}-{high + 7}", "JANUARY", "1-", "٣"]
        )
    )
    fields[index] = bad
    with pytest.raises(kubeflow.ScheduleError, match=f"{name} field '{re.escape(bad)}'"):
        kubeflow.validate_cron(" ".join(fields))


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 3 * * 7", "day of week field '7': '7' is out of range: values are 0-6 or SUN-SAT"),
        ("0 3 * * SUNDAY", "day of week field 'SUNDAY': 'SUNDAY' is not a number or a name (SUN, MON, TUE, WED, THU, FRI, SAT)"),
        ("0 3 * JAN-JUNE *", "month field 'JAN-JUNE': 'JAN-JUNE': 'JUNE' is not a number or a name (JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC)"),
        ("0 3 * DEC-JAN *", "month field 'DEC-JAN': 'DEC-JAN': the range's start is after its end"),
        ("MON 3 * * *", "minute field 'MON': 'MON' is not *, N or N-M, optionally followed by /STEP"),
        ("0 3 * * ٣", "day of week field '٣': '٣' is not *, N or N-M, optionally followed by /STEP"),
        ("0 3 * * */0", "day of week field '*/0': '*/0': the step must be between 1 and 999999999"),
        ("0 3 * * */1000000000", "day of week field '*/1000000000': '*/1000000000': the step must be between 1 and 999999999"),
        ("0 " + "9" * 5000 + " * * *", "hour field '" + "9" * 5000 + "': '" + "9" * 5000 + "' is out of range: values are 0-23"),
    ],
)  # fmt: skip
def test_cron_problems_are_named_exactly(cron, message):
    with pytest.raises(kubeflow.ScheduleError) as error:
        kubeflow.validate_cron(cron)
    assert str(error.value) == f"schedule {cron!r}: {message}"


def test_a_schedule_is_refused_for_a_configuration_that_names_its_span():
    config = build_config({"data": "gs://b/span-{SPAN}/a.tar.gz", "span": 3})
    kubeflow.check_schedule(config, None)  # one run of span 3
    kubeflow.check_schedule(build_config({"data": "gs://b/span-{SPAN}/a.tar.gz"}), "0 3 * * *")
    with pytest.raises(kubeflow.ScheduleError) as error:
        kubeflow.check_schedule(config, "0 3 * * *")
    assert str(error.value) == (
        "--schedule with --span 3: a scheduled run takes the newest span each time, but --span 3 would pin "
        "every run to span 3; drop --span (or --schedule, for one run of that span)"
    )


def test_the_portable_baseline_compiles_to_tfxs_latest_blessed_model_queries(tmp_path):
    """TFX's LatestBlessedModelStrategy, as the orchestrators run it: the latest ModelBlessing with
    ``blessed`` = 1, then the Model it names (``current_model_id``)."""
    config = build_config({"data": "gs://bucket/imdb/aclImdb_v1.tar.gz", "output": "gs://bucket/runs"})
    executors = kubeflow.compile_pipeline(config, str(tmp_path / "imdb.json"), IMAGE)["pipelineSpec"][
        "deploymentSpec"
    ]["executors"]
    assert executors["baseline_model_resolver-model-blessing-resolver_executor"] == {
        "resolver": {
            "outputArtifactQueries": {
                "model_blessing": {
                    "filter": 'schema_title="tfx.ModelBlessing" AND state=LIVE AND metadata.blessed.number_value=1'
                }
            }
        }
    }
    assert executors["baseline_model_resolver-model-resolver_executor"] == {
        "resolver": {
            "outputArtifactQueries": {
                "model": {
                    "filter": 'schema_title="tfx.Model" AND state=LIVE AND '
                    "name=\"{{$.inputs.artifacts['input'].metadata['current_model_id']}}\""
                }
            }
        }
    }


def test_compile_with_remote_vectors_works_offline_and_fixes_no_fingerprint(tmp_path):
    """The README's command with ``--vectors gs://...``: nothing is read at compile time (no network);
    the spec imports the file anew on each run, with no fingerprint frozen into it."""
    result = run_cli(
        "compile",
        "--output-file",
        "k/p.yaml",
        "--image",
        "img:1",
        "--data",
        "gs://b/imdb/span-{SPAN}/aclImdb_v1.tar.gz",
        "--output",
        "gs://b/imdb",
        "--vectors",
        "gs://b/glove.txt",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "k" / "p.yaml").read_text()
    assert "fingerprint" not in text
    importer = yaml.safe_load(text)["deploymentSpec"]["executors"]["vectors_importer_executor"]["importer"]
    assert importer["artifactUri"] == {"constantValue": {"stringValue": "gs://b/glove.txt"}}
    assert importer["reimport"] is True


def test_compile_refuses_a_range_of_spans_which_tfxs_own_example_gen_driver_cannot_ingest(tmp_path):
    result = run_cli(
        "compile", "--output-file", "p.yaml", "--image", IMAGE, "--num-spans", "3",
        "--data", "gs://bucket/imdb/span-{SPAN}/aclImdb_v1.tar.gz", "--output", "gs://bucket/runs",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline compile: num_spans 3: on Kubeflow Pipelines and Vertex AI the ExampleGen runs TFX's own "
        "driver, which ingests one span per run; compile with num_spans 1 (the newest span, or --span)"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_the_portable_pipeline_run_locally_twice_takes_the_latest_blessed_model_as_baseline(
    tmp_path, monkeypatch
):
    """The pipeline ``compile`` builds (``portable=True``), run by TFX's LocalDagRunner twice: the
    second run's Evaluator compares its model with the first run's, the latest the Evaluator blessed."""
    # The portable pipeline names no --setup_file (a container has the project installed), so each Beam
    # step's TFX executor builds a 50 MB source package of TFX into a temporary folder it never removes:
    # here into this test's folder.
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    from tfx.orchestration import metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline.pipeline import create_pipeline

    connection = metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    for seed in (42, 7):  # a new seed: the second night trains a new model
        config = build_config({"output": str(tmp_path / "out"), "trainer": {"epochs": 1, "seed": seed}})
        LocalDagRunner().run(create_pipeline(config, metadata_connection_config=connection, portable=True))

    store = metadata_store.MetadataStore(connection)
    models = sorted(store.get_artifacts_by_type("Model"), key=lambda artifact: artifact.id)
    blessings = sorted(store.get_artifacts_by_type("ModelBlessing"), key=lambda artifact: artifact.id)
    assert len(models) == 2
    assert blessings[0].custom_properties["blessed"].int_value == 1
    assert blessings[0].custom_properties["current_model_id"].int_value == models[0].id
    (evaluator,) = [kind.name for kind in store.get_execution_types() if kind.name.endswith(".Evaluator")]
    evaluations = sorted(store.get_executions_by_type(evaluator), key=lambda execution: execution.id)
    assert len(evaluations) == 2

    def baseline_of(execution) -> list[int]:
        return [
            event.artifact_id
            for event in store.get_events_by_execution_ids([execution.id])
            if event.type == metadata_store_pb2.Event.INPUT and event.path.steps[0].key == "baseline_model"
        ]

    assert baseline_of(evaluations[0]) == []  # nothing blessed before the first run
    assert baseline_of(evaluations[1]) == [models[0].id]


def test_compile_with_warm_start_counts_the_warm_start_resolvers_tasks(tmp_path):
    """Before: '14 steps (19 tasks: TFX compiles the baseline resolver into two)', which does not add up: the
    warm-start model resolver is compiled into two tasks as well, and the statistics resolver into one."""
    args = ("--image", IMAGE, "--output", "gs://bucket/runs", "--trainer.warm_start", "true")
    result = run_cli("compile", "--target", "vertex", "--output-file", "imdb.json", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[0] == (
        "wrote imdb.json: Vertex AI pipeline job of pipeline imdb-sentiment, 14 steps (19 tasks: one per step, "
        "and TFX's for the resolvers: baseline_model_resolver 2, previous_statistics_resolver 1, "
        f"warm_start_model_resolver 2), image {IMAGE}"
    )
    tasks = json.loads((tmp_path / "imdb.json").read_text(encoding="utf-8"))["pipelineSpec"]["root"]["dag"]
    assert sorted(task for task in tasks["tasks"] if "resolver" in task) == [
        "baseline_model_resolver-model-blessing-resolver",
        "baseline_model_resolver-model-resolver",
        "previous_statistics_resolver",
        "warm_start_model_resolver-model-blessing-resolver",
        "warm_start_model_resolver-model-resolver",
    ]
