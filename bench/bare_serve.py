"""Serves bench/bare_app.py exactly as `apixo-mock serve` serves the mock: same granian settings.

python bench/bare_serve.py PORT [THREADS] [WORKERS]
"""

from __future__ import annotations

import sys

from bare_app import create_app

from mock_server.serving import granian_server, tune_interpreter
from mock_server.settings import Settings


def main(argv: list[str]) -> int:
    """Serve the canned app on loopback until stopped."""
    port = int(argv[0])
    threads = int(argv[1]) if len(argv) > 1 else Settings().threads
    workers = int(argv[2]) if len(argv) > 2 else 1
    settings = Settings(port=port, threads=threads, workers=workers)  # stateless: no store
    server = granian_server(settings, "127.0.0.1", port)

    def load(*_: object) -> object:
        tune_interpreter()  # as serve's worker does
        return create_app()

    server.serve(target_loader=load)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
