"""Record, drift, replay: a recording proxy, a drift report and replay of recorded answers.

Shell code (it speaks HTTP): `exchange` is the file format, `proxy` the
recorder, `drift` judges a recording with the contract suite's checks, and
`replay` indexes a recording for answering from it.
"""
