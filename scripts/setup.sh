#!/usr/bin/env bash
# Create .venv with Python 3.10 and install the locked dependencies.
# Idempotent: does nothing when requirements.lock and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"
want="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  echo "setup: $VENV is not Python 3.10; recreating it"
  rm -rf "$VENV"
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/rasa" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  py="$(scripts/find_python.sh)"
  echo "setup: creating $VENV with $py"
  "$py" -m venv "$VENV"
fi
echo "setup: installing dependencies (a few minutes the first time)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -U "pip<26" "setuptools<71" wheel
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
mkdir -p var models
echo "$want" > "$STAMP"
echo "setup: done"
