"""Reports over results.json documents: shard plans, merging, history (levels over time, flake
rates, last green release), the static dashboard, badges and summary.md.

Pure apart from reading and writing files: nothing here imports docker or pytest, or the swarm
and plugin layers (tests/unit/test_layers.py keeps it so). `python -m pytest_ccci report` (cli.py)
is the command line over it.
"""
