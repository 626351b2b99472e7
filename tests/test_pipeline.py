"""The DAG: steps in data-flow order, wiring, and Beam arguments; the garbage collector during a run."""

import contextlib
import gc
import tempfile
import weakref

from hypothesis import given
from hypothesis import strategies as st
import pytest

from components.artifacts import run_report
from components.artifacts.types import EmbeddingVectors
from pipeline import run_records
from pipeline.config import DEFAULT_RUNNER_ARG, build_config
from pipeline.pipeline import (
    SETUP_FILE,
    beam_args_with_dependencies,
    create_pipeline,
    pipeline_steps,
    report_input_sources,
)
from pipeline.runner import describe_plan, gc_frozen
from tests.conftest import DEFAULT_STEP_IDS


def _ids(pipeline):
    return [component.id for component in pipeline.components]


def test_default_pipeline_trains_word2vec_and_lists_steps_in_data_flow_order(tmp_path):
    pipeline = create_pipeline(build_config({"output": str(tmp_path)}))
    assert _ids(pipeline) == list(DEFAULT_STEP_IDS)
    by_id = {component.id: component for component in pipeline.components}
    # Nothing learns from examples before they passed validation.
    assert "ExampleValidator" in {node.id for node in by_id["Transform"].upstream_nodes}
    assert "ExampleValidator" in {node.id for node in by_id["Word2Vec"].upstream_nodes}
    # Statistics need the Transform's vocabulary; nothing is trained before the drift check passed.
    assert by_id["StatisticsGen"].inputs["transform_graph"].producer_component_id == "Transform"
    assert {node.id for node in by_id["previous_statistics_resolver"].upstream_nodes} == {"StatisticsGen"}
    assert (
        by_id["DriftCheck"].inputs["baseline_statistics"].producer_component_id
        == "previous_statistics_resolver"
    )
    assert "DriftCheck" in {node.id for node in by_id["Trainer"].upstream_nodes}
    # The baseline excludes this run's candidate, so an unchanged run is a cache hit.
    assert {node.id for node in by_id["baseline_model_resolver"].upstream_nodes} == {"Trainer"}
    assert by_id["Evaluator"].inputs["baseline_model"].producer_component_id == "baseline_model_resolver"
    # The Pusher pushes only what the Evaluator and, after it, the canary blessed.
    assert by_id["Pusher"].inputs["model_blessing"].producer_component_id == "Evaluator"
    assert by_id["Pusher"].inputs["infra_blessing"].producer_component_id == "Canary"
    assert by_id["Canary"].inputs["model"].producer_component_id == "Trainer"
    assert "Evaluator" in {node.id for node in by_id["Canary"].upstream_nodes}
    # The Evaluator scores the official test split only, and apart its first sentences, both validated.
    assert by_id["Evaluator"].inputs["examples"].producer_component_id == "EvalSlices"
    assert by_id["EvalSlices"].inputs["examples"].producer_component_id == "FileBasedExampleGen"
    assert "ExampleValidator" in {node.id for node in by_id["EvalSlices"].upstream_nodes}
    assert by_id["Evaluator"].exec_properties["example_splits"] == '["test", "test_first_sentence"]'
    assert pipeline.pipeline_info.pipeline_root == str(tmp_path / "pipeline_root")
    assert pipeline.enable_cache


def test_pretrained_vectors_are_imported_instead_of_training_word2vec(tmp_path):
    vectors = tmp_path / "glove.txt"
    vectors.write_text("good 0.1 0.2\nbad -0.1 0.3\n")
    pipeline = create_pipeline(build_config({"output": str(tmp_path), "vectors": str(vectors)}))
    by_id = {component.id: component for component in pipeline.components}
    assert "Word2Vec" not in by_id
    assert by_id["vectors_importer"].exec_properties["artifact_uri"] == str(vectors)
    assert by_id["EmbeddingAligner"].inputs["vectors"].producer_component_id == "vectors_importer"


def _imported_vectors_after_runs(tmp_path, vectors, contents, portable):
    """The EmbeddingVectors artifacts in ML Metadata after a run of the vectors importer, built as each
    run builds its pipeline, per file contents (written before the run when they differ): their ids, run by run."""
    from ml_metadata import metadata_store
    from tfx.orchestration import metadata
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    connection = metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))
    ids = []
    for text in contents:
        if not vectors.exists() or vectors.read_text() != text:
            vectors.write_text(text)
        config = build_config({"output": str(tmp_path), "vectors": str(vectors)})
        (importer,) = [
            node
            for node in create_pipeline(config, portable=portable).components
            if node.id == "vectors_importer"
        ]
        # Alone: what reads it is not part of this pipeline.
        for node in list(importer.downstream_nodes):
            importer.remove_downstream_node(node)
        LocalDagRunner().run(
            tfx_pipeline.Pipeline(
                pipeline_name="vectors",
                pipeline_root=str(tmp_path / "root"),
                components=[importer],
                metadata_connection_config=connection,
            )
        )
        store = metadata_store.MetadataStore(connection)
        ids.append(
            sorted(artifact.id for artifact in store.get_artifacts_by_type(EmbeddingVectors.TYPE_NAME))
        )
    return ids


def test_a_local_run_imports_a_changed_vectors_file_anew_and_reuses_an_unchanged_one(tmp_path):
    """The same artifact for an unchanged file (so the EmbeddingAligner and what follows are cache hits),
    a new one once the file changed (so they re-run): the file is fingerprinted as each run starts."""
    vectors = tmp_path / "glove.txt"
    runs = ["good 0.1 0.2\n", "good 0.1 0.2\n", "good 0.1 0.2\nbad -0.1 0.3\n"]
    assert _imported_vectors_after_runs(tmp_path, vectors, runs, portable=False) == [[1], [1], [1, 2]]


def test_the_compiled_pipeline_imports_the_vectors_file_anew_on_every_run(tmp_path):
    """Kubeflow and Vertex AI run no driver that could fingerprint the file: every run imports it anew,
    as that run finds it, so a scheduled run never trains on vectors the file no longer holds."""
    vectors = tmp_path / "glove.txt"
    runs = ["good 0.1 0.2\n", "good 0.1 0.2\n"]
    assert _imported_vectors_after_runs(tmp_path, vectors, runs, portable=True) == [[1], [1, 2]]


def test_beam_args_pass_through_and_ship_this_project_with_setup_py():
    args = beam_args_with_dependencies([DEFAULT_RUNNER_ARG, "--direct_num_workers=2"])
    assert args == [DEFAULT_RUNNER_ARG, "--direct_num_workers=2", f"--setup_file={SETUP_FILE}"]
    own = ["--runner=DataflowRunner", "--sdk_container_image=example/imdb:1"]
    assert beam_args_with_dependencies(own) == own
    assert beam_args_with_dependencies(["--extra_packages=a.tar.gz"]) == ["--extra_packages=a.tar.gz"]


def test_steps_are_every_node_but_the_resolver_and_dry_run_counts_the_same(tmp_path):
    pipeline = create_pipeline(build_config({"output": str(tmp_path)}))
    steps = pipeline_steps(pipeline)
    resolvers = {"baseline_model_resolver", "previous_statistics_resolver"}
    assert steps == [node for node in DEFAULT_STEP_IDS if node not in resolvers]
    plan = describe_plan(build_config({"output": str(tmp_path)}))
    assert plan.splitlines()[0] == f"pipeline imdb-sentiment: {len(steps)} steps, cache on"
    numbered = [line.split()[1] for line in plan.splitlines() if line.strip()[:1].isdigit()]
    assert numbered == steps


def test_a_pipeline_built_and_not_run_leaves_nothing_in_the_temporary_folder(tmp_path, monkeypatch):
    """Building is not running: no step's Beam pipeline (whose ``beam-pipeline-temp*`` folder only its run
    removes) is made, for a run, a dry run or a compiled package."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    config = build_config({"output": str(tmp_path / "out")})
    create_pipeline(config)
    create_pipeline(config, portable=True)
    describe_plan(config)
    assert list(temporary.iterdir()) == []


def test_the_evaluator_is_tfxs_with_the_executor_that_hands_freed_memory_back(tmp_path):
    from tfx.components import Evaluator

    from components.evaluator.executor import Executor

    pipeline = create_pipeline(build_config({"output": str(tmp_path)}))
    (evaluator,) = [component for component in pipeline.components if component.id == "Evaluator"]
    # The component (its id and its type in ML Metadata) stays TFX's; only the executor is wrapped.
    assert type(evaluator) is Evaluator
    assert evaluator.executor_spec.executor_class is Executor


class _Node:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self):
        self.me = self


@pytest.mark.parametrize("fails", [False, True])
def test_a_run_leaves_the_objects_from_before_it_to_the_collector_afterwards(fails):
    node = _Node()
    ref = weakref.ref(node)
    del node  # cyclic garbage from before the run
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext(), gc_frozen():
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert ref() is not None  # frozen: not walked, so not freed
        if fails:
            raise RuntimeError("a step failed")
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


def test_a_run_leaves_a_callers_own_freeze_as_it_is():
    """Code that froze the collector before it runs the pipeline keeps its frozen objects frozen."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_frozen():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def _channel(artifact_type):
    from tfx import types

    return types.Channel(type=artifact_type)


def test_a_step_takes_its_specs_inputs_and_options_by_name_and_makes_its_outputs():
    from tfx.types import standard_artifacts

    from components.canary.component import Canary
    from components.canary.options import CanaryOptions

    canary = Canary(model=_channel(standard_artifacts.Model), options=CanaryOptions())
    assert canary.exec_properties == {"options": CanaryOptions().to_json()}
    assert canary.outputs["blessing"].type is standard_artifacts.InfraBlessing


@given(
    st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(
        lambda name: name not in ("model", "options")
    )
)
def test_a_step_refuses_an_argument_its_spec_lacks(name):
    from tfx.types import standard_artifacts

    from components.canary.component import Canary
    from components.canary.options import CanaryOptions

    arguments = {"model": _channel(standard_artifacts.Model), "options": CanaryOptions(), name: None}
    with pytest.raises(TypeError) as raised:
        Canary(**arguments)
    assert str(raised.value) == f"Canary() got an unexpected keyword argument '{name}'"


def test_a_misspelled_optional_input_is_refused_not_dropped():
    from components.trainer.component import Trainer

    with pytest.raises(TypeError) as raised:
        Trainer(base_modl=None)
    assert str(raised.value) == "Trainer() got an unexpected keyword argument 'base_modl'"


def test_a_step_refuses_another_steps_options():
    from tfx.types import standard_artifacts

    from components.canary.component import Canary
    from components.trainer.options import TrainerOptions

    with pytest.raises(TypeError) as raised:
        Canary(model=_channel(standard_artifacts.Model), options=TrainerOptions())
    assert str(raised.value) == "Canary() takes CanaryOptions, got TrainerOptions as 'options'"


def test_every_step_of_the_pipeline_takes_the_options_class_the_configuration_gives_it():
    """Each step built by the pipeline got its own section's options (a swapped section would be refused)."""
    from components.component_spec import _FromSpec
    from pipeline.config import PipelineConfig
    from pipeline.pipeline import create_components

    steps = [step for step in create_components(PipelineConfig()) if isinstance(step, _FromSpec)]
    taking = {type(step).__name__: step.OPTIONS.__name__ for step in steps if step.OPTIONS}
    assert taking == {
        "Canary": "CanaryOptions",
        "DriftCheck": "DriftOptions",
        "EmbeddingAligner": "EmbeddingOptions",
        "Pusher": "PushOptions",
        "Trainer": "TrainerOptions",
        "Transform": "TransformOptions",
        "Word2Vec": "Word2VecOptions",
    }


class _Locked(BaseException):
    """Stands for the run's lock: what a run does after its pre-flight (a BaseException, so no handler takes it)."""


def _lock(state_dir):
    raise _Locked(state_dir)


def test_a_run_makes_its_pre_flight_once_whoever_starts_it(tmp_path, monkeypatch):
    """`imdb-pipeline run` makes the pre-flight (a problem is a configuration error, exit 2), and the runner
    makes it for any other caller: it ran twice per command, the served model's version folders read twice."""
    from pipeline import cli, preflight, runner

    checks = []
    monkeypatch.setattr(preflight, "check", lambda config, local=True: checks.append((config, local)))
    monkeypatch.setattr(runner, "run_lock", _lock)
    config = build_config({"output": str(tmp_path / "out")})
    with pytest.raises(_Locked):
        runner.run_pipeline(config)
    assert checks == [(config, True)]
    with pytest.raises(_Locked):
        runner.run_pipeline(config, checked=True)
    assert checks == [(config, True)]
    with pytest.raises(_Locked):
        cli.main(["run", "--output", str(tmp_path / "out")])
    assert len(checks) == 2
    assert checks[1][1] is True  # the steps of `run` run here: the Trainer's memory is checked


def test_a_run_without_a_report_step_maps_every_steps_output_to_the_report_input_it_feeds(tmp_path):
    """A failed or stopped run's report inputs are found by (step, output key) as the DAG wires the Report: the
    DriftCheck's ``anomalies`` feed ``drift`` and the Canary's ``blessing`` feeds ``infra_blessing``."""
    assert (
        run_records._input_by_output()
        == report_input_sources()
        == {
            ("FileBasedExampleGen", "examples"): "examples",
            ("StatisticsGen", "statistics"): "statistics",
            ("DriftCheck", "anomalies"): "drift",
            ("Transform", "transform_graph"): "transform_graph",
            ("EmbeddingAligner", "embedding"): "embedding",
            ("Trainer", "model"): "model",
            ("Trainer", "model_run"): "model_run",
            ("Evaluator", "evaluation"): "evaluation",
            ("Evaluator", "blessing"): "blessing",
            ("Canary", "blessing"): "infra_blessing",
            ("Pusher", "pushed_model"): "pushed_model",
        }
    )


def test_an_execution_without_its_node_is_matched_to_a_report_input_by_its_type_where_unambiguous():
    """Before: such an execution was named by its type, never a step id of the map, and the run lost every
    report input unsaid. A type no step or several steps have matches nothing."""
    from ml_metadata.proto import metadata_store_pb2 as pb
    from tfx.types.standard_artifacts import ExampleStatistics, Model

    from tests.metadata_records import in_memory_store, put_artifact

    store = in_memory_store()
    store.put_context_type(pb.ContextType(name="node"))  # a store TFX wrote has it; no execution here has one
    [run] = store.put_contexts(
        [pb.Context(type_id=store.put_context_type(pb.ContextType(name="pipeline_run")), name="r")]
    )
    statistics = put_artifact(store, ExampleStatistics, "/root/StatisticsGen/statistics/3")
    model = put_artifact(store, Model, "/root/Trainer/model/4")
    for type_name, key, artifact in (
        ("components.statistics.component.StatisticsGen", "statistics", statistics),
        ("SomeOtherStep", "model", model),
    ):
        execution_type = store.put_execution_type(pb.ExecutionType(name=type_name))
        [execution] = store.put_executions(
            [pb.Execution(type_id=execution_type, last_known_state=pb.Execution.COMPLETE)]
        )
        store.put_attributions_and_associations([], [pb.Association(context_id=run, execution_id=execution)])
        event = pb.Event(artifact_id=artifact.id, execution_id=execution, type=pb.Event.OUTPUT)
        event.path.steps.add().key = key
        store.put_events([event])

    [record] = run_records.list_runs(store)

    assert {key: ref.uri for key, ref in record.inputs.items()} == {
        "statistics": "/root/StatisticsGen/statistics/3"
    }
    assert report_input_sources(by_type=True)[
        ("components.statistics.component.StatisticsGen", "statistics")
    ] == ("statistics")
    assert report_input_sources(by_type=True) == {
        ("tfx.components.example_gen.component.FileBasedExampleGen", "examples"): "examples",
        ("components.statistics.component.StatisticsGen", "statistics"): "statistics",
        ("components.statistics.component.DriftCheck", "anomalies"): "drift",
        ("components.transform.component.Transform", "transform_graph"): "transform_graph",
        ("components.embeddings.component.EmbeddingAligner", "embedding"): "embedding",
        ("components.trainer.component.Trainer", "model"): "model",
        ("components.trainer.component.Trainer", "model_run"): "model_run",
        ("tfx.components.evaluator.component.Evaluator", "evaluation"): "evaluation",
        ("tfx.components.evaluator.component.Evaluator", "blessing"): "blessing",
        ("components.canary.component.Canary", "blessing"): "infra_blessing",
        ("components.pusher.component.Pusher", "pushed_model"): "pushed_model",
    }


@pytest.mark.parametrize("input_key", run_report.INPUT_KEYS)
def test_every_report_input_is_fed_by_the_output_the_records_map_to_it(tmp_path, input_key):
    pipeline = create_pipeline(build_config({"output": str(tmp_path)}))
    by_id = {component.id: component for component in pipeline.components}
    channel = by_id["Report"].inputs[input_key]
    assert run_records._input_by_output()[(channel.producer_component_id, channel.output_key)] == input_key
    producer = by_id[channel.producer_component_id]
    assert producer.outputs[channel.output_key].type is channel.type


def _spans(folder, *numbers):
    for number in numbers:
        (folder / f"span-{number}").mkdir()
        (folder / f"span-{number}" / "aclImdb_v1.tar.gz").write_bytes(b"")
    return str(folder / "span-{SPAN}" / "aclImdb_v1.tar.gz")


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({}, " (span 7, the newest)"),
        ({"span": 3}, " (span 3)"),
        ({"num_spans": 2}, " (2 spans ending at span 7, the newest)"),
        ({"span": 3, "num_spans": 2}, " (2 spans ending at span 3)"),
    ],
)
def test_dry_run_names_the_span_a_run_would_ingest(tmp_path, values, shown):
    data = _spans(tmp_path, 2, 3, 7)
    plan = describe_plan(build_config({"output": str(tmp_path / "out"), "data": data, **values}))
    assert plan.splitlines()[1] == f"  data:     {data}{shown}"


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({}, " (span 20785 (2026-11-28), the newest)"),
        ({"span": 20784}, " (span 20784 (2026-11-27))"),
        ({"span": 20785, "num_spans": 2}, " (2 spans ending at span 20785 (2026-11-28))"),
    ],
)
def test_dry_run_names_a_dated_span_by_its_date_the_newest_or_the_one_asked_for(tmp_path, values, shown):
    """Before: a --span was shown as a bare number (``span 20784``), the newest with its date."""
    for day in ("2026-11-27", "2026-11-28"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "aclImdb_v1.tar.gz").write_bytes(b"")
    data = str(tmp_path / "{YYYY}-{MM}-{DD}" / "aclImdb_v1.tar.gz")
    plan = describe_plan(build_config({"output": str(tmp_path / "out"), "data": data, **values}))
    assert plan.splitlines()[1] == f"  data:     {data}{shown}"


def test_dry_run_on_remote_spans_names_the_newest_without_listing_them():
    data = "gs://bucket/span-{SPAN}/aclImdb_v1.tar.gz"
    plan = describe_plan(build_config({"output": "gs://bucket/out", "data": data}))
    assert plan.splitlines()[1] == f"  data:     {data} (the newest span)"
