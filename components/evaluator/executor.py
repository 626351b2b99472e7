"""TFX's Evaluator executor, starting and ending with the pipeline process's freed memory handed back."""

from typing import Any

from tfx import types
from tfx.components.evaluator import executor as tfx_evaluator

from components.evaluator import scoring
from components.process_memory import release_freed_memory

CUSTOM_EXTRACTORS_KEY = "custom_extractors"


class Executor(tfx_evaluator.Executor):
    """TFMA's evaluation as TFX runs it; the steps before it (Word2Vec, the Trainer) and its own
    loaded models and predictions leave no freed heap behind in the resident memory."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        # TFX's hook for extractors: a function's dotted path under its name.
        exec_properties = {**exec_properties, CUSTOM_EXTRACTORS_KEY: f"{scoring.__name__}.custom_extractors"}
        release_freed_memory()
        try:
            super().Do(input_dict, output_dict, exec_properties)
        finally:
            release_freed_memory()
