"""The DAG: steps in data-flow order, wiring, and Beam arguments; the garbage collector during a run."""

import contextlib
import gc
import tempfile
import weakref

import pytest

from pipeline.config import DEFAULT_RUNNER_ARG, build_config
from pipeline.pipeline import SETUP_FILE, beam_args_with_dependencies, create_pipeline, pipeline_steps
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
