"""What a serving worker sets in its interpreter once the app is built."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc, sys
from mock_server.serving import SWITCH_INTERVAL_S, tune_interpreter
from mock_server.settings import Settings
from mock_server.web.app import create_app
app = create_app(Settings())
before = gc.get_freeze_count()
tune_interpreter()
print(before, gc.get_freeze_count() > 10_000, sys.getswitchinterval() == SWITCH_INTERVAL_S)
"""


def test_a_worker_hides_what_the_app_built_from_the_collector_and_switches_threads_often() -> None:
    # A process of its own: freezing is for the rest of a process's life.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["0", "True", "True"], done.stderr
