"""The run layer: one recipe's lifecycle in a process (checkout, locks, deployments, data,
teardown), the janitor, and the controller's results.
"""
