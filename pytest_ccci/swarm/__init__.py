"""The swarm edge: the only code that talks to the Docker engine.

- facade.py      `Swarm`, the one handle the other layers hold, and `connect()`
- connection.py  reaching a swarm manager; every engine error leaves as InfraError
- stack.py       `docker stack config` / `docker stack deploy` (the CLI: the API has neither)
- convergence.py pure: task state and the convergence verdict, from what the swarm reports
- events.py      the engine's event stream, for waiting with a timeout
- waiter.py      waiting for a stack to converge, or for a removed stack to be gone
- execution.py   commands inside a running task, bounded, killed through the engine
- archives.py    files in and out of a running container
- inventory.py   services, their state, containers, health and task logs, secrets
- teardown.py    removing a run's stack and resources; what earlier runs left
- images.py      whether an image is here; pulling one (never the runner's own)
- networks.py    the runner's infrastructure networks; whether the host routes service VIPs
- helper.py      the probe helper: a short-lived container in a task's network namespace
- picture.py     a deployed app's front page, pictured by headless Chromium in its namespace

Import from the modules (`pytest_ccci.swarm.facade` and so on): this package itself imports
nothing, so reading a model or a convergence verdict does not load docker-py.
"""
