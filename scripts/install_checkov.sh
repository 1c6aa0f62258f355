#!/usr/bin/env bash
# Installs checkov in a virtual environment of its own (.tools/checkov-venv): its pinned dependencies
# conflict with paysim's, so it never shares .venv. Idempotent: a stamp file records the done install.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
VENV=".tools/checkov-venv"
STAMP="$VENV/.installed"
PYTHON="${PYTHON:-python3}"

if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$CHECKOV_VERSION" ]] && [[ -x "$VENV/bin/checkov" ]]; then
    touch "$STAMP"  # newer than this script again, so make stops asking
    exit 0
fi

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "checkov==$CHECKOV_VERSION"
"$VENV/bin/checkov" --version >/dev/null
echo "$CHECKOV_VERSION" >"$STAMP"
