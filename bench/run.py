"""Runs the project's benchmarks: `make bench` or `make bench ARGS="server --duration 5"`.

    python bench/run.py [server|startup|callbacks|callbacks_redis|receiver|store|all] [extra
        arguments for that one]

Benchmarks measure; they never gate a build. Every one talks to loopback only,
is bounded in time and stops what it starts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = {
    "server": "server.py",
    "startup": "startup.py",
    "callbacks": "callbacks.py",
    "callbacks_redis": "callbacks_redis.py",
    "receiver": "receiver.py",
    "store": "store.py",
}


def main(argv: list[str]) -> int:
    """Run one benchmark (or all) as its own process, so none disturbs another."""
    which = argv[0] if argv and argv[0] in (*SCRIPTS, "all") else "all"
    extra = argv[1:] if argv and argv[0] == which else argv
    names = list(SCRIPTS) if which == "all" else [which]
    worst = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        command = [sys.executable, str(HERE / SCRIPTS[name]), *(extra if which != "all" else [])]
        worst = max(worst, subprocess.run(command, cwd=HERE.parent, check=False).returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
