#!/usr/bin/env bash
# After a run: say what (if anything) it left on the local swarm; exit 1 if anything.
#   scripts/show-leftovers.sh RESULTS_JSON   the app domains that run recorded
#   scripts/show-leftovers.sh                everything carrying pytest-ccci's labels
set -u
if [ $# -ge 1 ]; then
  domains=$(python3 -c 'import json,sys; print(" ".join(r["domain"] for r in json.load(open(sys.argv[1]))["recipes"].values() if r.get("domain")))' "$1")
  filters=""; for d in $domains; do filters="$filters ccci.domain=$d"; done
  [ -n "$filters" ] || { echo "show-leftovers: the run recorded no app domain: nothing was deployed"; exit 0; }
else
  filters="ccci.domain"
fi
left=""
for f in $filters; do
  stack=${f#ccci.domain=}; stack=${stack//./_}
  left="$left$(docker service ls --filter label=$f --format 'service {{.Name}}')
$(docker secret ls --filter label=$f --format 'secret {{.Name}}')
$(docker volume ls --filter label=$f --format 'volume {{.Name}}')
$(docker network ls --filter label=$f --format 'network {{.Name}}')
$(docker config ls --filter label=$f --format 'config {{.Name}}')
"
done
left=$(echo "$left" | sed '/^$/d')
if [ -n "$left" ]; then
  echo "show-leftovers: still on the swarm:"; echo "$left" | sed 's/^/  /'
  exit 1
fi
echo "show-leftovers: nothing of the run is left on the swarm (services, secrets, volumes, networks, configs)"
