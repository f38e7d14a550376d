#!/bin/sh
# Writes the secret files compose.yaml mounts as compose secrets (/run/secrets/NAME in the containers):
#   deploy/compose/secrets/operator-token   operator console and API token
#   deploy/compose/secrets/agent-api-key    the demo agent's API key (Authorization: Bearer ...)
#   deploy/compose/secrets/redis-password   Redis `requirepass`, also read by the gateway
#   deploy/compose/secrets/grafana-admin-password   Grafana's `admin` user
#   deploy/compose/secrets/metrics-token    the token Prometheus presents on the gateway's /metrics
# Existing files are kept, so running it again never rotates a secret by accident. The directory is
# readable by you alone; the files are world-readable inside it because the containers run as their own
# unprivileged users (node, redis, grafana) and bind-mounted secrets keep the host's file mode.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
for name in operator-token agent-api-key redis-password grafana-admin-password metrics-token; do
  file="$dir/$name"
  if [ -s "$file" ]; then
    echo "kept    $file"
    continue
  fi
  prefix=""
  [ "$name" = agent-api-key ] && prefix=pc_   # the shape of `portcullis keys new`
  umask 022
  printf '%s%s' "$prefix" "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$file"
  chmod 644 "$file"
  echo "created $file"
done
