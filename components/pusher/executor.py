"""Pusher executor: safe, versioned publication with a lineage manifest and retention."""

import logging
import os

from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.types import artifact_utils, standard_component_specs

from components.artifacts import infra_blessing as canary_results
from components.artifacts.pushed_model import build_manifest
from components.component_spec import Artifacts, Properties, optional_instance
from components.plural import counted
from components.pusher import publish
from components.pusher.options import PushOptions

logger = logging.getLogger(__name__)


def refusal_reason(input_dict: Artifacts) -> str:
    """Why the blessing check refused the model, from the blessing artifacts, for the log."""
    reasons = []
    blessing = optional_instance(input_dict, standard_component_specs.MODEL_BLESSING_KEY)
    if blessing is not None and not blessing.get_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY
    ):
        reasons.append("the Evaluator did not bless it")
    infra_blessing = optional_instance(input_dict, standard_component_specs.INFRA_BLESSING_KEY)
    if infra_blessing is not None and not infra_blessing.get_int_custom_property(
        canary_results.BLESSED_PROPERTY
    ):
        failures = infra_blessing.get_string_custom_property(canary_results.FAILURES_PROPERTY)
        reasons.append(f"the canary refused it ({failures or 'no reason recorded'})")
    return "; ".join(reasons) or "it is not blessed"


class Executor(tfx_pusher_executor.Executor):
    """TFX's Pusher executor (blessing check, model path, PushedModel) with :func:`publish.push`."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = PushOptions.from_exec_properties(exec_properties)
        model_dir = exec_properties["serving_model_dir"]
        pushed = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed)
            logger.info(
                "Pusher: model %s not pushed: %s; %s unchanged",
                model.uri,
                refusal_reason(input_dict),
                model_dir,
            )
            return

        manifest = build_manifest(
            model_name=os.path.basename(model_dir.rstrip("/")),
            model=model,
            blessing=optional_instance(input_dict, standard_component_specs.MODEL_BLESSING_KEY),
            examples=optional_instance(input_dict, "examples"),
            transform_graph=optional_instance(input_dict, "transform_graph"),
            embedding=optional_instance(input_dict, "embedding"),
            evaluation=optional_instance(input_dict, "evaluation"),
            infra_blessing=optional_instance(input_dict, standard_component_specs.INFRA_BLESSING_KEY),
        )
        # Under the model directory's push lock: choosing the version, copying, retention.
        result = publish.push(self.GetModelPath(input_dict), model_dir, manifest, options.keep_versions)
        if result.copied:
            logger.info("Pusher: pushed version %d to %s", result.version, result.version_dir)
        else:
            logger.info(
                "Pusher: model %s is already served as version %d; nothing copied", model.uri, result.version
            )
        self._MarkPushed(pushed, pushed_destination=result.version_dir, pushed_version=str(result.version))
        if result.removed:
            logger.info(
                "Pusher: kept the newest %s, deleted %s",
                counted(options.keep_versions, "version"),
                ", ".join(map(str, result.removed)),
            )
