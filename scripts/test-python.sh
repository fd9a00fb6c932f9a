#!/usr/bin/env bash
# Run the unit suite (or the given pytest arguments) on one CPython of the matrix, in a locked venv of its own.
#
#   scripts/test-python.sh 3.10                  # tests/unit on CPython 3.10
#   scripts/test-python.sh 3.13 tests/unit/test_configure.py -x
#
# The venv is .ci/.py3.10 (made with uv from requirements/dev.lock plus lc-otel itself, editable), rebuilt when
# the lock or pyproject.toml is newer than it. The interpreter comes from scripts/find-python.sh: a missing
# one fails with CI=true and is reported as not run (exit 0) on a developer's machine.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: test-python.sh MAJOR.MINOR [PYTEST ARGS...]}
shift
[ "$#" -gt 0 ] || set -- tests/unit

set +e
python=$(scripts/find-python.sh "$version")
found=$?
set -e
if [ "$found" -eq 3 ]; then
    exit 0  # a developer's machine without it: find-python.sh said so loudly
elif [ "$found" -ne 0 ]; then
    exit "$found"
fi

venv=".ci/.py$version"
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ requirements/dev.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
    || [ "$(cat "$stamp")" != "$python" ]; then
    echo "[test-python] $venv: $("$python" --version) with requirements/dev.lock" >&2
    rm -rf "$venv"
    scripts/uv.sh venv --quiet --python "$python" "$venv"
    scripts/uv.sh pip install --quiet --python "$venv/bin/python" -r requirements/dev.lock -e '.[dev]'
    echo "$python" >"$stamp"
fi

echo "[test-python] pytest on $("$venv/bin/python" --version)" >&2
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "[test-python] no tests collected: failing" >&2
    rc=1
fi
exit "$rc"
