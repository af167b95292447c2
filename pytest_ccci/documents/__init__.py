"""The documents a run leaves behind, typed: results.json (results.py, schema
`pytest-ccci/results/1`), its reading and atomic writing (files.py), merging shards (merge.py),
the shard plan (shards.py), the history of runs (history.py) and the JSON Schema third parties
validate results.json against (schema.py, shipped as results-1.schema.json).

A pure layer just above model/: it imports model/ and errors.py only, never run/, swarm/,
plugin/, report/, docker or pytest (tests/unit/test_layers.py enforces it). run/ fills these
documents; report/ and plugin/ read and write them through here.
"""
