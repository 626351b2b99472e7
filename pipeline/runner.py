"""Local runs: TFX's LocalDagRunner over the pipeline, and a summary from ML Metadata."""

from __future__ import annotations

import logging
import os
import time

from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from pipeline.config import PipelineConfig
from pipeline.pipeline import create_pipeline
from pipeline.summary import RunSummary, summarize_latest_run

logger = logging.getLogger(__name__)


def run_pipeline(config: PipelineConfig, enable_cache: bool = True) -> RunSummary:
    """Runs the pipeline to completion and summarises it; raises if a step fails."""
    logger.info("Pipeline %s: data %s, output %s", config.pipeline_name, config.data, config.output)
    os.makedirs(config.output, exist_ok=True)
    started = time.monotonic()
    LocalDagRunner().run(create_pipeline(config, enable_cache=enable_cache))
    return summarize_latest_run(
        config.metadata_path, config.pipeline_name, seconds=time.monotonic() - started
    )


def describe_failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
