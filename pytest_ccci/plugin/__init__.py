"""The pytest glue: options, collection and ordering, runner hooks, fixtures, the tier tests,
reporting, the xdist scheduler and interrupt handling. `main` is the pytest11 entry point.
"""
