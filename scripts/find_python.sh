#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain how to get one.
# Rasa Open Source 3.6.21 (the last open release) supports Python 3.8-3.10;
# this project pins 3.10.
set -euo pipefail

is_310() {
  [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null
}

candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
pyenv_root="${PYENV_ROOT:-}"
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
  pyenv_root="$(pyenv root 2>/dev/null || true)"
fi
[ -z "$pyenv_root" ] && pyenv_root="$HOME/.pyenv"
if [ -d "$pyenv_root/versions" ]; then
  # Newest 3.10.x first.
  while IFS= read -r dir; do
    candidates+=("$dir/bin/python3.10")
  done < <(ls -d "$pyenv_root"/versions/3.10* 2>/dev/null | sort -V -r)
fi
for c in /usr/bin/python3.10 /usr/local/bin/python3.10; do candidates+=("$c"); done

for c in "${candidates[@]}"; do
  if is_310 "$c"; then
    echo "$c"
    exit 0
  fi
done

cat >&2 <<'MSG'
ERROR: Python 3.10 was not found.
Rasa Open Source 3.6.21 runs on Python 3.10 (not 3.11 or newer). Install it, then re-run:
  - with pyenv:            pyenv install 3.10
  - on Debian/Ubuntu:      sudo apt install python3.10 python3.10-venv
    (on Debian 12, use pyenv or the deadsnakes build; Debian ships 3.11)
  - or point to one:       make run PYTHON310=/path/to/python3.10
MSG
exit 1
