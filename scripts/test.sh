#!/usr/bin/env bash
# Run every check of the project from a fresh clone: sets up .venv and the test programs,
# then ruff, mypy, the import-layer contracts and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --test-deps

echo "== ruff"
.venv/bin/ruff check appliance_cli lab tests scripts
.venv/bin/ruff format --check appliance_cli lab tests scripts
# Bytecode caches on: each test worker and each CLI child process would otherwise compile the
# project's modules again, and pytest would rewrite every test module's asserts again per worker.
unset PYTHONDONTWRITEBYTECODE
# mypy uses one core. On another, pytest collects the tests once, which writes every test
# module's assert-rewritten bytecode: otherwise each pytest worker rewrites all of them itself,
# at the same moment (from a fresh clone about 3.5 s of CPU per worker, for nothing).
.venv/bin/pytest -p no:cacheprovider --collect-only -q >/dev/null 2>&1 &
warm=$!
trap 'kill "$warm" 2>/dev/null || true' EXIT
echo "== mypy (strict)"
.venv/bin/mypy
echo "== import layers"
.venv/bin/lint-imports
wait "$warm" || true  # a collection error shows again, with its message, in the run below
echo "== pytest"
set +e
# .venv/bin first: the tests find the kubectl setup.sh may have installed there.
# Tests run on PYTEST_WORKERS processes (pytest-xdist). The default is twice the cores: the
# tests spend about half their time waiting (a lab's timeline, a child process, a browser), so
# two workers per core keep the cores busy. An idle worker takes tests queued for a busy one,
# so a run of long tests on one worker does not hold up the end. The 15 slowest are listed.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/pytest -n "${PYTEST_WORKERS:-$((2 * $(nproc)))}" --dist worksteal --durations=15 "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit $rc
