#!/usr/bin/env bash
# Shared setup for scripts/dev and scripts/test: system packages, the Python venv, the web SDK.
# Usage: scripts/setup.sh [dev|test]   (test also installs what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-dev}"

want_apt=(coturn)
# iproute2: the packaging tests run 'arbiter-server dev' in a network namespace of their own
[ "$mode" = test ] && want_apt+=(chromium tmux libasound2-data iproute2)
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
  elif [ "$mode" = test ]; then
    echo "error: the tests need ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  else
    echo "warning: cannot install ${missing[*]} (not root, no sudo); features needing them are off" >&2
  fi
fi
if [ "$mode" = test ]; then
  # The suite runs real coturn, tmux and Chromium: a missing tool fails here, never as a skip.
  for tool in turnserver tmux chromium ip unshare nsenter setpriv; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is missing after setup" >&2; exit 1; }
  done
fi

# The web SDK builds with Vite 7, which needs Node.js >= 20.19.
node_ok() {
  command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}
if ! node_ok; then
  if [ "$mode" = test ]; then
    echo "error: the web SDK needs Node.js >= 20.19 with npm (found: $(node --version 2>/dev/null || echo none))" >&2
    exit 1
  fi
  echo "warning: Node.js >= 20.19 with npm not found; the web demo page will not be built" >&2
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

if node_ok; then
  # the library, the demo page (into arbiter_server/web, which the wheel carries), the tarball
  echo "==> building the web SDK (npm ci, npm run build)"
  (cd apps/web-sdk && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)
fi

# The suite's named subset also runs on Python 3.12 and 3.13 (scripts/test), each in its own
# venv with the 'test' extra. pyenv's interpreters are found too.
find_python() {
  local found
  for found in "python$1" "$(pyenv root 2>/dev/null)"/versions/"$1".*/bin/"python$1"; do
    if command -v "$found" >/dev/null 2>&1 && "$found" -c 'pass' >/dev/null 2>&1; then
      command -v "$found"
      return 0
    fi
  done
  return 1
}
if [ "$mode" = test ]; then
  for version in 3.12 3.13; do
    venv=".venv-$version"
    if [ ! -x "$venv/bin/python" ]; then
      interpreter="$(find_python "$version")" || {
        echo "error: the tests need Python $version (e.g. pyenv install $version)" >&2
        exit 1
      }
      echo "==> creating $venv with $interpreter"
      "$interpreter" -m venv "$venv"
    fi
    if [ ! -f "$venv/.arbiter-installed" ] || [ pyproject.toml -nt "$venv/.arbiter-installed" ]; then
      echo "==> $venv: pip install -e .[test]"
      "$venv/bin/python" -m pip install -q --upgrade pip
      ARBITER_SKIP_WEB_BUILD=1 "$venv/bin/python" -m pip install -q -e ".[test]"
      touch "$venv/.arbiter-installed"
    fi
  done
fi
