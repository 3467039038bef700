#!/bin/sh
# ECS container health check of a coturn task. The NLB's health checks are TCP only and
# cannot tell whether coturn answers on UDP; this asks the task's own coturn, on the
# task's own address, for a STUN Binding over UDP and wants the answer within
# TURN_HEALTH_TIMEOUT seconds (5).
# A task that fails it three times in a row is replaced (and a new coturn revision whose
# tasks fail it is rolled back).
set -u
PORT="${TURN_PORT:-3478}"
ADDRESS="${TURN_HEALTH_ADDRESS:-$(hostname -i | awk '{print $1}')}"
WAIT="${TURN_HEALTH_TIMEOUT:-5}"
if ! answer="$(timeout "$WAIT" turnutils_stunclient -p "$PORT" "$ADDRESS" 2>&1)"; then
  echo "arbiter-turn health: no STUN answer from $ADDRESS:$PORT within $WAIT s" >&2
  exit 1
fi
case "$answer" in
  *"reflexive addr"*) exit 0 ;;
esac
echo "arbiter-turn health: unexpected STUN answer from $ADDRESS:$PORT: $answer" >&2
exit 1
