"""TFX's Evaluator executor, starting and ending with the pipeline process's freed memory handed back."""

from tfx.components.evaluator import executor as tfx_evaluator

from components.component_spec import Artifacts, Properties
from components.evaluator import scoring
from components.process_memory import release_freed_memory

CUSTOM_EXTRACTORS_KEY = "custom_extractors"


class Executor(tfx_evaluator.Executor):
    """TFMA's evaluation as TFX runs it; the steps before it (Word2Vec, the Trainer) and its own
    loaded models and predictions leave no freed heap behind in the resident memory."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        # TFX's hook for extractors: a function's dotted path under its name.
        exec_properties = {**exec_properties, CUSTOM_EXTRACTORS_KEY: f"{scoring.__name__}.custom_extractors"}
        release_freed_memory()
        try:
            super().Do(input_dict, output_dict, exec_properties)
        finally:
            release_freed_memory()
