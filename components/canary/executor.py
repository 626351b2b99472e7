"""Canary executor: probes the candidate in a fresh TensorFlow process and writes the InfraBlessing."""

import logging
import time

from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import path_utils

from components.artifacts import infra_blessing as canary_results
from components.canary import checks
from components.canary.options import CanaryOptions
from components.canary.probes import PROBES
from components.component_spec import Artifacts, Properties

logger = logging.getLogger(__name__)


class Executor(base_executor.BaseExecutor):
    """Writes a blessed or not-blessed ``InfraBlessing``: like TFX's InfraValidator, a refusal is no error."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = CanaryOptions.from_exec_properties(exec_properties)
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[standard_component_specs.BLESSING_KEY])
        model_dir = path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))
        started = time.monotonic()
        result = checks.evaluate(checks.run_probes(model_dir, options), options)
        canary_results.write_result(blessing, result)
        if result.blessed:
            logger.info(
                "Canary: %d probes through both signatures in a fresh TensorFlow process in %.1f s: all finite, "
                "in [0, 1], signatures agree, clear reviews right; load %.2f s, batch %.3f s",
                len(PROBES),
                time.monotonic() - started,
                result.details["load_seconds"],
                max(result.details["batch_seconds"].values()),
            )
        else:
            logger.warning("Canary: model %s refused: %s", model_dir, "; ".join(result.failures))
