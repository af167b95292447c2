# Versions of the configs in compose.yml, bumped whenever a config file changes.
export APP_PY_VERSION=v2
export ENTRYPOINT_VERSION=v1
