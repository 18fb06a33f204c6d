"""`python -m mock_server` runs the `apixo-mock` command."""

from .cli import main

main()
