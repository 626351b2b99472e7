"""One run at a time per output directory; a crashed run does not leave the lock stuck."""

import signal
import subprocess
import sys
import textwrap

import pytest

from pipeline.lock import RunInProgressError, run_lock


def _hold_lock_in_subprocess(output_dir):
    script = textwrap.dedent(
        f"""
        import sys, time
        from pipeline.lock import run_lock
        with run_lock({str(output_dir)!r}):
            print("locked", flush=True)
            time.sleep(600)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_run_fails_at_once_naming_the_holder_and_a_killed_holder_frees_the_lock(tmp_path):
    holder = _hold_lock_in_subprocess(tmp_path)
    try:
        with (
            pytest.raises(
                RunInProgressError,
                match=rf"another run is in progress on {tmp_path} \(pid {holder.pid}, started ",
            ),
            run_lock(str(tmp_path)),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(str(tmp_path)):
        pass  # the kernel released the killed process's lock


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(ValueError), run_lock(str(tmp_path)):
        raise ValueError("step failed")
    with run_lock(str(tmp_path)):
        pass
