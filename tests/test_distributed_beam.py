"""Beam flags reach the steps: multi-process execution gives exactly what in-memory execution gives."""

import pytest

from components.transform.options import TransformOptions
from schemas import features
from tests.conftest import BEAM_RUNNER
from tests.test_transform import read_transformed, run_transform_executor

SPLITS = {
    features.TRAIN: [
        ("A fine, moving film.", 1),
        ("A dull film; dull acting!", 0),
        ("Fine acting, fine story", 1),
        ("Boring. So boring.", 0),
        ("Moving and fine", 1),
        ("dull dull boring", 0),
    ],
    features.EVAL: [("fine film", 1), ("boring acting", 0)],
    features.TEST: [("so dull", 0), ("a moving story", 1), ("unseen words only", 1)],
    features.UNSUP: [],
}


@pytest.mark.slow
def test_transform_on_two_worker_processes_matches_in_memory(tmp_path):
    options = TransformOptions(vocab_size=12, min_frequency=1, max_length=6)
    in_memory = run_transform_executor(
        str(tmp_path / "in_memory"),
        SPLITS,
        options,
        (f"--runner={BEAM_RUNNER}", "--direct_running_mode=in_memory"),
    )
    two_processes = run_transform_executor(
        str(tmp_path / "multi"),
        SPLITS,
        options,
        (f"--runner={BEAM_RUNNER}", "--direct_running_mode=multi_processing", "--direct_num_workers=2"),
    )
    vocabulary = in_memory[0].vocabulary_by_name(features.VOCABULARY_NAME)
    assert vocabulary[:4] == [b"<pad>", b"<unk>", b"fine", b"dull"]
    assert two_processes[0].vocabulary_by_name(features.VOCABULARY_NAME) == vocabulary
    for split in (features.TRAIN, features.EVAL, features.TEST):
        assert read_transformed(*two_processes, split) == read_transformed(*in_memory, split)
        assert len(read_transformed(*in_memory, split)) == len(SPLITS[split])
