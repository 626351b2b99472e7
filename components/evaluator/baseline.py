"""Which model the candidate is compared with: the latest blessed model other than itself.

TFX's ``LatestBlessedModelStrategy`` returns the latest blessed model, which,
once the candidate of a previous run is blessed, is that same model: a second
identical run would then evaluate the candidate against itself and re-execute
the Evaluator and Pusher instead of being a cache hit. Excluding the candidate
gives the same baseline for an unchanged run (so every step is cached), and the
previously served model for a new one.
"""

from typing import Any

from tfx import types
from tfx.components.evaluator import constants
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
CANDIDATE_KEY = "candidate"


def latest_blessed_other_than(
    models: list[types.Artifact], blessings: list[types.Artifact], candidate_ids: set[int]
) -> tuple[types.Artifact, types.Artifact] | None:
    """The newest blessed model (and its blessing) whose id is not a candidate's."""
    blessing_by_model = {
        blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): blessing
        for blessing in blessings
        if blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
    }
    for model in sorted(models, key=lambda artifact: artifact.id, reverse=True):
        if model.id in blessing_by_model and model.id not in candidate_ids:
            return model, blessing_by_model[model.id]
    return None


class BaselineModelStrategy(resolver.ResolverStrategy):
    """Resolves the latest blessed Model that is not this run's candidate.

    Inputs: ``model`` (all Model artifacts), ``model_blessing`` (all
    ModelBlessing artifacts) and ``candidate`` (this run's Trainer output).
    Outputs ``model`` and ``model_blessing``: one artifact each, or none.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        candidates = {artifact.id for artifact in input_dict.get(CANDIDATE_KEY, [])}
        found = latest_blessed_other_than(
            input_dict.get(MODEL_KEY, []), input_dict.get(MODEL_BLESSING_KEY, []), candidates
        )
        model, blessing = found if found else (None, None)
        return {
            MODEL_KEY: [model] if model else [],
            MODEL_BLESSING_KEY: [blessing] if blessing else [],
            CANDIDATE_KEY: input_dict.get(CANDIDATE_KEY, []),
        }


def create_baseline_resolver(candidate: types.BaseChannel | None) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Evaluator's baseline.

    Args:
        candidate: This run's Trainer output, excluded from the baseline. None
            selects TFX's LatestBlessedModelStrategy, for orchestrators whose
            compilers only know TFX's own strategies (Kubeflow Pipelines V2):
            the baseline is then the latest blessed model, which can be the
            candidate itself in a re-run (it then passes the comparison).
    """
    if candidate is None:
        return resolver.Resolver(
            strategy_class=latest_blessed_model_strategy.LatestBlessedModelStrategy,
            model=types.Channel(type=standard_artifacts.Model),
            model_blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        ).with_id("baseline_model_resolver")
    return resolver.Resolver(
        strategy_class=BaselineModelStrategy,
        model=types.Channel(type=standard_artifacts.Model),
        model_blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        candidate=candidate,
    ).with_id("baseline_model_resolver")
