#!/usr/bin/env bash
# Shared setup for scripts/dev and scripts/test: system packages, the Python venv, the web SDK.
# Usage: scripts/setup.sh [dev|test]   (test also installs what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-dev}"

want_apt=(coturn)
[ "$mode" = test ] && want_apt+=(chromium tmux libasound2-data)
missing=()
for pkg in "${want_apt[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    echo "==> sudo apt-get install ${missing[*]}"
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: cannot install ${missing[*]} (not root, no sudo); features needing them are off" >&2
  fi
fi
# coturn's package starts a system service; Arbiter runs its own turnserver, so stop that one.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet coturn 2>/dev/null; then
  systemctl stop coturn || true
fi

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.arbiter-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> pip install -e .[dev]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi

if [ -f apps/web-sdk/package.json ] && command -v npm >/dev/null 2>&1; then
  echo "==> building the web SDK (npm ci, npm run build)"
  (cd apps/web-sdk && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)
fi
