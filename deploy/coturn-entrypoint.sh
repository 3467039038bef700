#!/bin/sh
# Start coturn on a Fargate task. The configuration comes from the same code as the local
# stack's (python3 -m arbiter_server.turn_config, see docs/security.md): private ranges
# denied, no TCP relay, quotas and a bandwidth cap, the secret in a file only this user
# reads. Relay addresses are the task's public IP: TURN_EXTERNAL_IP when the task
# definition gives one (an Elastic IP), else found by detect-external-ip; without it
# coturn would hand out unreachable relays, so the task refuses to start instead (ECS
# then replaces it).
set -eu
: "${TURN_SECRET:?TURN_SECRET must be set (the task definition reads it from SSM)}"

EXTERNAL_IP="${TURN_EXTERNAL_IP:-}"
if [ -z "$EXTERNAL_IP" ] && { ! EXTERNAL_IP="$(detect-external-ip)" || [ -z "$EXTERNAL_IP" ]; }; then
  echo "arbiter-turn: cannot find this task's public address (detect-external-ip failed); not starting" >&2
  exit 1
fi
PRIVATE_IP="$(hostname -i | awk '{print $1}')"
if [ -z "$PRIVATE_IP" ]; then
  echo "arbiter-turn: cannot find this task's own address (hostname -i); not starting" >&2
  exit 1
fi

CONFIG_DIR="${TURN_CONFIG_DIR:-/tmp/arbiter-turn}"
CONFIG="$(python3 -m arbiter_server.turn_config production \
  --external-ip "$EXTERNAL_IP" --private-ip "$PRIVATE_IP" --dir "$CONFIG_DIR")"
exec turnserver -c "$CONFIG"
