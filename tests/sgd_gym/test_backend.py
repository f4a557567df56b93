"""The JVM liveness check of sgd_gym.backend, apart from the simulator."""

import subprocess
import sys
import time

from sgd_gym.backend import _running


def test_running_sees_a_killed_process_while_another_thread_waits_on_it():
    """py4j's ProcessConsumer thread holds the Popen wait lock; poll() then cannot tell a dead process."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _running(process)
        with process._waitpid_lock:  # what a thread inside process.wait() holds
            process.kill()
            for _ in range(200):
                if not _running(process):
                    break
                time.sleep(0.05)
            assert process.poll() is None  # the trap: poll() cannot answer while the lock is held
            assert not _running(process)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert not _running(process)
