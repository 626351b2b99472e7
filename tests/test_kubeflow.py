"""The same pipeline compiled for Kubeflow Pipelines / Vertex AI with TFX's Kubeflow V2 runner."""

import json

import pytest

from pipeline import kubeflow
from pipeline.config import build_config
from tests.conftest import DEFAULT_STEP_IDS

IMAGE = "europe-docker.pkg.dev/my-project/images/imdb:1"


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


def test_schedule_commands_use_each_service_cron_format():
    config = build_config({"output": "gs://bucket/runs"})
    commands = kubeflow.schedule_commands("imdb.json", "0 3 * * *", config)
    assert 'job.create_schedule(display_name="imdb-sentiment-schedule", cron="0 3 * * *")' in commands
    assert 'cron_expression="0 0 3 * * *"' in commands
    assert 'pipeline_root="gs://bucket/runs/pipeline_root"' in commands
