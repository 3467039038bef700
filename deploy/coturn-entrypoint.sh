#!/bin/sh
# Start coturn on a Fargate task: relay addresses are the task's public IP, which
# coturn's image finds with detect-external-ip; the NLB only carries 3478.
set -eu
: "${TURN_SECRET:?TURN_SECRET must be set (the task definition reads it from SSM)}"
REALM="${TURN_REALM:-arbiter}"
MIN_PORT="${TURN_MIN_PORT:-49152}"
MAX_PORT="${TURN_MAX_PORT:-65535}"
EXTERNAL_IP="$(detect-external-ip 2>/dev/null || true)"
PRIVATE_IP="$(hostname -i 2>/dev/null | awk '{print $1}')"

set -- turnserver \
  --listening-port=3478 \
  --min-port="$MIN_PORT" --max-port="$MAX_PORT" \
  --use-auth-secret --static-auth-secret="$TURN_SECRET" \
  --realm="$REALM" \
  --fingerprint --no-cli --no-tls --no-dtls --no-multicast-peers \
  --denied-peer-ip=169.254.0.0-169.254.255.255 \
  --log-file=stdout --simple-log

if [ -n "$EXTERNAL_IP" ] && [ -n "$PRIVATE_IP" ]; then
  set -- "$@" --external-ip="$EXTERNAL_IP/$PRIVATE_IP"
fi
exec "$@"
