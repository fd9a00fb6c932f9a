#!/usr/bin/env bash
# Write the lock files from pyproject.toml and requirements/*.in, with uv, for every supported Python at once.
#
#   scripts/lock.sh            # add what pyproject.toml gained, keep every existing pin (make lock)
#   scripts/lock.sh --upgrade  # every pin to the newest release (make lock-upgrade; then run make test)
#   scripts/lock.sh --check    # fail if the locks do not match pyproject.toml and the .in files (make test)
#
# requirements/dev.lock   the `dev` extra (tests, linters) for the venvs of `make test`
# requirements/compat.lock  the compat run on langchain-core 0.3 (requirements/compat.in)
# requirements/build.lock   the build backend for `uv build` (requirements/build.in)
# The locks are universal (one file, markers per Python from 3.10 up), and lc-otel's own dependency ranges in
# pyproject.toml stay wide: only what the tests run on is pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
flags=(--quiet --universal --python-version 3.10 --custom-compile-command "make lock")
[ "$mode" = "--upgrade" ] && flags+=(--upgrade)

compile() {  # OUTPUT INPUT [ARGS...]
    local out=$1
    shift
    if [ "$mode" = "--check" ]; then
        local tmp
        tmp=$(mktemp)
        cp "$out" "$tmp"
        scripts/uv.sh pip compile "${flags[@]}" "$@" -o "$tmp"
        if ! diff -u "$out" "$tmp" >&2; then
            rm -f "$tmp"
            echo "lock.sh: $out is out of date with $1: run 'make lock' and commit it" >&2
            return 1
        fi
        rm -f "$tmp"
    else
        scripts/uv.sh pip compile "${flags[@]}" "$@" -o "$out"
    fi
}

compile requirements/dev.lock pyproject.toml --extra dev
compile requirements/compat.lock requirements/compat.in
compile requirements/build.lock requirements/build.in
[ "$mode" = "--check" ] && echo "lock.sh: the locks match pyproject.toml and requirements/*.in" >&2
exit 0
