#!/usr/bin/env bash
# Runs the keynet_sdk tests in a venv of their own (made when missing):
#   bash sdk/python/run-tests.sh [pytest args…]
# KEYNET_PY_VENV chooses the venv (default /var/tmp/keynet-sdk-venv); PYTHON the interpreter.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${KEYNET_PY_VENV:-/var/tmp/keynet-sdk-venv}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating venv $venv" >&2
    "$python" -m venv "$venv"
fi

# Reinstall when pyproject.toml changed or the editable install points elsewhere.
stamp="$venv/.keynet-sdk-stamp"
want="$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1) $here"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]] \
    || ! "$venv/bin/python" -c 'import pytest, keynet_sdk' >/dev/null 2>&1; then
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    "$venv/bin/python" -m pip install --quiet 'pytest>=8,<9'
    "$venv/bin/python" -m pip install --quiet -e "$here"
    echo "$want" >"$stamp"
fi

cd "$here"
set +e
"$venv/bin/python" -m pytest -q "$@"
status=$?
set -e
exit "$status"
