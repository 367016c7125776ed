#!/usr/bin/env bash
# The project's test command: sets up .venv from scratch if needed, then lint, type-check, tests.
#   bash scripts/test.sh            # everything (what CI runs): the full suite on Python 3.11,
#                                   # then the fast suite on each of PYTHON_VERSIONS
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest (3.11 only, no matrix)
#   PYTHON_VERSIONS="" bash scripts/test.sh   # no matrix
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_VERSIONS=${PYTHON_VERSIONS-3.12 3.13}

# An interpreter of version $1: on PATH if it runs, else pyenv's copy (this machine's kind ships
# both). A missing one fails the run rather than being skipped in silence.
interpreter() {
  local version=$1 candidate
  for candidate in "python$version" "$(pyenv root 2>/dev/null)"/versions/"$version".*/bin/"python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "scripts/test.sh: no Python $version found (set PYTHON_VERSIONS to the versions to test)" >&2
  return 1
}

echo "== .venv: Meltano, the tap, the simulator, the report and the test tools"
# The same environment the main job uses (scripts/pipeline_env.sh), plus the dev extras and the
# report package (report/, its own distribution: the tap does not depend on it). The simulator
# (simulator/, distribution dlf-simulator) comes with the pipeline environment.
VENV=$(bash scripts/pipeline_env.sh)
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e "./report[postgres]" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }
export PATH="$VENV/bin:$PATH"

echo "== ruff"
SOURCES=(tap_dlf_instances simulator report tests scripts)
[ -d benchmarks ] && SOURCES+=(benchmarks)
ruff check "${SOURCES[@]}"
ruff format --check "${SOURCES[@]}"
echo "== mypy"
mypy
# The system packages the end-to-end tests use (PostgreSQL, Chromium), installed here as root
# when missing, rather than inside a test, where a slow mirror would run into the test timeout.
if [ "$(id -u)" = 0 ]; then
  echo "== system packages: PostgreSQL, Chromium (Debian)"
  bash scripts/postgres.sh install
  bash scripts/chromium.sh >/dev/null
fi

echo "== pytest"
set +e
pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
if [ "$status" -ne 0 ] || [ "$#" -gt 0 ]; then
  exit "$status"
fi

# The fast suite on the other supported Pythons, each in its own .venv-<version>.
for version in $PYTHON_VERSIONS; do
  echo "== pytest -m 'not slow' on Python $version"
  python=$(interpreter "$version")
  [[ -x .venv-$version/bin/python ]] || "$python" -m venv ".venv-$version"
  ".venv-$version/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e ./simulator -e "./report[postgres]" 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
  # The first of them reads instances per job (the 3.11 run's `auto` reads with the workspace
  # listing the simulator serves): every test of the tap's CLI passes in both modes.
  listing=per_job
  [[ "$version" == "${PYTHON_VERSIONS%% *}" ]] || listing=
  DLF_TEST_INSTANCE_LISTING=$listing ".venv-$version/bin/python" -m pytest -m "not slow" -q -p no:cacheprovider
done
