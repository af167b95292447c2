# Versions of the configs in compose.yml, bumped whenever a config file changes.
export ENTRYPOINT_VERSION=v4
