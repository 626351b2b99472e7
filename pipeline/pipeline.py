"""The pipeline DAG, in data-flow order (the README's diagram)."""

import collections
from collections.abc import Sequence
import glob
from pathlib import Path

from ml_metadata.proto import metadata_store_pb2
from tfx.components import Evaluator
from tfx.dsl.components.base import base_node, executor_spec
from tfx.dsl.components.common import resolver
from tfx.dsl.components.common.importer import Importer
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.utils import io_utils

from components.artifacts.types import EmbeddingVectors
from components.canary.component import Canary
from components.embeddings.component import EmbeddingAligner, Word2Vec
from components.evaluator import executor as evaluator_executor
from components.evaluator.baseline import create_baseline_resolver
from components.evaluator.eval_config import make_eval_config
from components.example_gen.component import create_example_gen
from components.pusher.component import Pusher
from components.report import Report
from components.schema_validation.component import ExampleValidator, SchemaImporter
from components.slicing.component import EvalSlices
from components.statistics.baseline import create_previous_statistics_resolver
from components.statistics.component import DriftCheck, StatisticsGen
from components.trainer.base_model import create_warm_start_resolver
from components.trainer.component import Trainer
from components.transform.component import Transform
from pipeline.config import PipelineConfig
from schemas import features
from schemas.schema import RAW_SCHEMA_PATH


def create_components(config: PipelineConfig, portable: bool = False) -> list[base_node.BaseNode]:
    """The wired steps in data-flow order; ``portable``: only what TFX's compilers know (Kubeflow, Vertex AI),
    and no file read."""
    example_gen = create_example_gen(
        config.data,
        config.eval_percent,
        span=config.span,
        options=config.example_gen,
        num_spans=config.num_spans,
    )
    schema_importer = SchemaImporter(schema_text=RAW_SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = ExampleValidator(
        examples=example_gen.outputs["examples"], schema=schema_importer.outputs["schema"]
    )
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_importer.outputs["schema"],
        options=config.transform,
    )
    # Nothing learns from examples that failed validation.
    transform.add_upstream_node(validator)
    statistics_gen = StatisticsGen(
        examples=example_gen.outputs["examples"], transform_graph=transform.outputs["transform_graph"]
    )
    previous_statistics = create_previous_statistics_resolver(
        statistics_gen.outputs["statistics"], portable=portable
    )
    drift_check = DriftCheck(
        statistics=statistics_gen.outputs["statistics"],
        baseline_statistics=previous_statistics.outputs["statistics"],
        options=config.drift,
    )

    if config.vectors:
        # Locally the pipeline is built as its run starts: the sizes and modification times of the file
        # and of the files whose names extend it (a KeyedVectors file's <name>.vectors.npy) make a changed
        # file a new artifact, so cached downstream steps re-run. A compiled pipeline reads nothing at
        # compile time, and its orchestrators run no driver that could fingerprint the file: each run
        # imports it anew.
        vector_source = Importer(
            source_uri=config.vectors,
            artifact_type=EmbeddingVectors,
            reimport=portable,
            custom_properties=None
            if portable
            else {"fingerprint": io_utils.generate_fingerprint("vectors", glob.escape(config.vectors) + "*")},
        ).with_id("vectors_importer")
        vectors = vector_source.outputs["result"]
    else:
        vector_source = Word2Vec(examples=example_gen.outputs["examples"], options=config.word2vec)
        vector_source.add_upstream_node(validator)
        vectors = vector_source.outputs["vectors"]

    aligner = EmbeddingAligner(
        transform_graph=transform.outputs["transform_graph"], vectors=vectors, options=config.embedding
    )
    # With warm start, the Trainer starts from the served model (see components/trainer/base_model.py).
    warm_start = (
        create_warm_start_resolver(
            None if portable else transform.outputs["transformed_examples"], config.serving_model_dir
        )
        if config.trainer.warm_start
        else None
    )
    trainer = Trainer(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        embedding=aligner.outputs["embedding"],
        options=config.trainer,
        base_model=warm_start.outputs["model"] if warm_start else None,
    )
    # Nothing is trained on data that drifted past a threshold whose action is stop.
    trainer.add_upstream_node(drift_check)
    # The test split with the features TFMA slices on, and its first sentences scored alone.
    eval_slices = EvalSlices(examples=example_gen.outputs["examples"])
    # Nothing is scored on examples that failed validation either.
    eval_slices.add_upstream_node(validator)
    baseline = create_baseline_resolver(
        None if portable else trainer.outputs["model"], config.serving_model_dir
    )
    evaluator = Evaluator(
        examples=eval_slices.outputs["sliced_examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=make_eval_config(config.evaluation),
        example_splits=list(features.SLICED_TEST_SPLITS),
    )
    # TFX's executor, with the process's freed memory handed back before and after (the component,
    # its id and its type stay TFX's).
    evaluator.executor_spec = executor_spec.BeamExecutorSpec(evaluator_executor.Executor)
    # What TFX's InfraValidator does, in a fresh TensorFlow-only process: the
    # Pusher pushes only a model both the Evaluator and the canary blessed.
    canary = Canary(model=trainer.outputs["model"], options=config.canary)
    # After the Evaluator, as TFX places its InfraValidator: the last check before a push.
    canary.add_upstream_node(evaluator)
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        infra_blessing=canary.outputs["blessing"],
        serving_model_dir=config.serving_model_dir,
        options=config.push,
        examples=example_gen.outputs["examples"],
        transform_graph=transform.outputs["transform_graph"],
        embedding=aligner.outputs["embedding"],
        evaluation=evaluator.outputs["evaluation"],
    )
    steps = [
        example_gen,
        schema_importer,
        validator,
        transform,
        statistics_gen,
        previous_statistics,
        drift_check,
        vector_source,
        aligner,
        *([warm_start] if warm_start else []),
        trainer,
        eval_slices,
        baseline,
        evaluator,
        canary,
        pusher,
    ]
    # Last: a report of what the steps read, learnt and decided (every input optional).
    report = Report(
        pipeline_name=config.pipeline_name,
        steps=steps,
        examples=example_gen.outputs["examples"],
        statistics=statistics_gen.outputs["statistics"],
        drift=drift_check.outputs["anomalies"],
        transform_graph=transform.outputs["transform_graph"],
        embedding=aligner.outputs["embedding"],
        model=trainer.outputs["model"],
        model_run=trainer.outputs["model_run"],
        evaluation=evaluator.outputs["evaluation"],
        blessing=evaluator.outputs["blessing"],
        infra_blessing=canary.outputs["blessing"],
        pushed_model=pusher.outputs["pushed_model"],
    )
    return [*steps, report]


# Beam flags that already tell a runner how to get this code onto its workers.
_DEPENDENCY_FLAGS = ("--setup_file", "--extra_package", "--requirements_file", "--sdk_container_image")
SETUP_FILE = Path(__file__).resolve().parents[1] / "setup.py"


def beam_args_with_dependencies(beam_args: Sequence[str]) -> list[str]:
    """Adds ``--setup_file`` (this project's) unless a dependency flag is given: else TFX attaches a 50 MB
    source package of itself to every Beam step, even on a local runner."""
    args = list(beam_args)
    has_dependency_flag = any(arg.split("=")[0].rstrip("s") in _DEPENDENCY_FLAGS for arg in args)
    if not has_dependency_flag and SETUP_FILE.is_file():
        args.append(f"--setup_file={SETUP_FILE}")
    return args


def create_pipeline(
    config: PipelineConfig,
    enable_cache: bool = True,
    metadata_connection_config: metadata_store_pb2.ConnectionConfig | None = None,
    portable: bool = False,
) -> tfx_pipeline.Pipeline:
    """The TFX pipeline for ``config``, for any TFX orchestrator (local runs pass their SQLite store)."""
    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config, portable=portable),
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        # In a container image the project is installed already, and this
        # machine's setup.py path means nothing there.
        beam_pipeline_args=list(config.beam_args)
        if portable
        else beam_args_with_dependencies(config.beam_args),
    )


def report_input_sources(by_type: bool = False) -> dict[tuple[str, str], str]:
    """(step id, output key) -> the Report input that output feeds, as :func:`create_components` wires
    them: how a run without a Report step (failed, stopped) finds its report's artifacts in ML Metadata.

    ``by_type``: keyed by the step's type (its class, as ML Metadata names an execution's type) instead,
    for each type only one step has: how an execution recorded without its node (step id) is matched.
    """
    components = create_components(PipelineConfig(), portable=True)
    types = {component.id: component.type for component in components}
    steps_of_type = collections.Counter(types.values())
    (report,) = (component for component in components if isinstance(component, Report))
    return {
        (
            types[channel.producer_component_id] if by_type else channel.producer_component_id,
            channel.output_key,
        ): key
        for key, channel in report.inputs.items()
        if not by_type or steps_of_type[types[channel.producer_component_id]] == 1
    }


def pipeline_steps(pipeline: tfx_pipeline.Pipeline) -> list[str]:
    """The ids of the pipeline's steps, in order: every node but its resolvers (which only pick an input),
    as the run log, ``--dry-run``, ``compile`` and the run summary count them."""
    return [node.id for node in pipeline.components if not isinstance(node, resolver.Resolver)]
