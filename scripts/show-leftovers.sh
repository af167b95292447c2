#!/usr/bin/env bash
# After a run: say what (if anything) pytest-ccci left on the local swarm. Exit 1 if anything.
set -u
left=$(docker stack ls --format '{{.Name}}'; docker secret ls --filter label=ccci.domain --format 'secret {{.Name}}'; \
       docker volume ls --filter label=ccci.domain --format 'volume {{.Name}}'; \
       docker network ls --filter label=ccci.domain --format 'network {{.Name}}'; \
       docker config ls --filter label=ccci.domain --format 'config {{.Name}}')
if [ -n "$left" ]; then
  echo "show-leftovers: still on the swarm:"; echo "$left" | sed 's/^/  /'
  exit 1
fi
echo "show-leftovers: nothing of pytest-ccci is left on the swarm (stacks, secrets, volumes, networks, configs)"
