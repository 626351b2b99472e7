"""Which model the candidate is compared with: the served model (of the latest push), not the candidate.

Not TFX's ``LatestBlessedModelStrategy``: it can pick a model the canary refused
(never served), or the candidate itself in a re-run.
"""

from typing import Any

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts

from components.artifacts.pushed_model import latest_pushed_other_than, pushed_from

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
PUSHED_MODEL_KEY = "pushed_model"
CANDIDATE_KEY = "candidate"


class BaselineModelStrategy(resolver.ResolverStrategy):
    """Resolves ``model`` (all Models) to the served one that is not in ``candidate``; none before a push."""

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        candidates = {artifact.id for artifact in input_dict.get(CANDIDATE_KEY, [])}
        pushes = input_dict.get(PUSHED_MODEL_KEY, [])
        model = latest_pushed_other_than(
            input_dict.get(MODEL_KEY, []), pushes, pushed_from(store, pushes), candidates
        )
        return {
            MODEL_KEY: [model] if model else [],
            PUSHED_MODEL_KEY: [],
            CANDIDATE_KEY: input_dict.get(CANDIDATE_KEY, []),
        }


def create_baseline_resolver(candidate: types.BaseChannel | None) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Evaluator's baseline.

    Args:
        candidate: This run's Trainer output, excluded from the baseline. None selects TFX's
            LatestBlessedModelStrategy, for compilers that know only TFX's strategies (Kubeflow V2).
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
        pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        candidate=candidate,
    ).with_id("baseline_model_resolver")
