"""The pure model: recipes, settings, versions, names, compose, lint, backupbot, levels and verdicts.

Nothing here imports docker, requests or pytest, and nothing here imports from the layers above
(swarm, run, plugin): tests/unit/test_layers.py keeps it so.
"""
