#!/usr/bin/env bash
# Print the path of a CPython interpreter of the given minor version (3.10, 3.13, ...).
#
#   scripts/find-python.sh 3.10
#
# Looked for under pyenv's versions (~/.pyenv/versions/3.10.*/bin/python, the newest patch release first), then
# as python3.10 on PATH. Not found: with CI=true that is a failure (exit 1), since the matrix must not shrink
# unnoticed; on a developer's machine it is a loud message and exit 3, which the callers report as "not run".
set -euo pipefail
version=${1:?usage: find-python.sh MAJOR.MINOR}
root="${PYENV_ROOT:-$HOME/.pyenv}"

matches=$(ls -d "$root/versions/$version".[0-9]*/bin/python 2>/dev/null | sort -V || true)
candidates=$(printf '%s\n' $matches | tac)
command -v "python$version" >/dev/null 2>&1 && candidates="$candidates"$'\n'"$(command -v "python$version")"
for candidate in $candidates; do
    [ -x "$candidate" ] || continue
    actual=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
    if [ "$actual" = "$version" ]; then
        echo "$candidate"
        exit 0
    fi
done

if [ "${CI:-}" = "true" ]; then
    echo "find-python: CPython $version is missing (looked in $root/versions/$version.*/bin/python and for" \
        "python$version on PATH); the test matrix needs it: failing (CI=true)" >&2
    exit 1
fi
echo "find-python: *** CPython $version is missing (looked in $root/versions/$version.*/bin/python and for" \
    "python$version on PATH): its part of the test matrix is NOT run here (CI fails on this) ***" >&2
exit 3
