"""The swarm edge: the only code that talks to the Docker engine.
"""
