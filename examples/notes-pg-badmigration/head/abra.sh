# Versions of the configs in compose.yml, bumped whenever a config file changes.
export APP_PY_VERSION=v3
export ENTRYPOINT_VERSION=v1
