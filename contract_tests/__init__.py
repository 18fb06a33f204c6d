"""The apixo contract suite: pytest tests of every rule of docs/contract.md, against any target.

Run it with `pytest contract_tests` (in-process mock), `make contract BASE_URL=...`
or, installed, `apixo-mock contract --base-url ...`. Guide: docs/contract-suite.md.
"""
