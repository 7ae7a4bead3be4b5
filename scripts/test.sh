#!/usr/bin/env bash
# Runs every test of interlock: the C++ suite (ctest), the C++ packaging checks
# (tests/cmake_consumer/check.sh: find_package, pkg-config, add_subdirectory,
# FetchContent, the shared library), and the Python
# suite (pytest) against the release wheels (scripts/build-wheels.sh, built
# from the sdist), each installed into a fresh venv, on every supported
# interpreter found here, including a free-threaded 3.13t built and cached by
# scripts/build-ft-python.sh, and the abi3 wheel on 3.12 and 3.13.
#
# Installs what it needs on a fresh Debian machine (apt: GoogleTest, Google
# Benchmark, pkg-config; pip: into per-interpreter venvs under build/).
#
# Environment:
#   INTERLOCK_PYTHONS  space-separated interpreter versions to test
#                      (default: "3.10 3.11 3.12 3.13 3.13t"; 3.11, 3.13, 3.13t are required)
#   INTERLOCK_SKIP_CPP=1 / INTERLOCK_SKIP_PYTHON=1   skip a half
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build"
jobs=$(nproc 2>/dev/null || echo 2)
log() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }  # seconds since the script started
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ------------------------------------------------------------------ tools
apt_need=()
for p in libgtest-dev libbenchmark-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_need+=("$p")
done
command -v g++ >/dev/null || apt_need+=(g++)
command -v pkg-config >/dev/null || apt_need+=(pkgconf)
# ccache: scripts/build-wheels.sh compiles the core once for all six wheels.
command -v ccache >/dev/null || apt_need+=(ccache)
if [ ${#apt_need[@]} -gt 0 ]; then
  log "installing ${apt_need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
  if [ ! -x "$build/tools/bin/ninja" ]; then  # (.ci/run installs it once, before its lanes)
    log "installing cmake and ninja from PyPI"
    python3 -m venv "$build/tools"
    "$build/tools/bin/pip" install -q cmake ninja
  fi
  export PATH="$build/tools/bin:$PATH"
fi

# ------------------------------------------------------------------ C++
if [ "${INTERLOCK_SKIP_CPP:-0}" != 1 ]; then
  log "C++: build and ctest"
  # ccache (installed above; a fresh build/ starts it cold): the packaging
  # checks' Release builds of the core reuse this build's objects.
  if command -v ccache >/dev/null; then
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache \
           CCACHE_DIR="$build/ccache" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
  fi
  # =ON: a missing GoogleTest / Google Benchmark is an error here, not a skip.
  cmake -S "$root" -B "$build/cpp" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DINTERLOCK_BUILD_TESTS=ON -DINTERLOCK_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$build/cpp" -j"$jobs"
  ctest --test-dir "$build/cpp" --output-on-failure -j"$jobs"

  log "C++ packaging: plain build/install, find_package, shared library, pkg-config, add_subdirectory, FetchContent"
  INTERLOCK_JOBS="$jobs" bash "$root/tests/cmake_consumer/check.sh" "$build/consumers"
fi

# ------------------------------------------------------------------ Python
# shellcheck source=find-python.sh
. "$root/scripts/find-python.sh"

# What ships is what is tested: scripts/build-wheels.sh builds the sdist and
# every wheel from the sdist alone (manylinux_2_17, Zig toolchain; build dirs
# under build/ persist), then each interpreter gets a fresh venv with its wheel
# installed from that wheelhouse (never an in-tree build) and runs the suite.
# The abi3 wheel is then tested on 3.12 and 3.13 as well.
test_wheel() {  # label interpreter wheel-spec...
  local label=$1 py=$2; shift 2
  log "Python $label ($py): install $(basename "$1"), pytest"
  local venv="$build/venv-$label"
  "$py" -m venv --clear "$venv"
  # The venv's own pip (23.0+ here) installs wheels well enough: no upgrade.
  # The test extra of pyproject.toml (mypy: tests/python/test_stubs.py runs mypy.stubtest).
  "$venv/bin/python" -m pip install -q pytest pytest-timeout 'mypy>=1.18,<2'
  # Optional: the asyncio tests also run on uvloop where a wheel exists.
  "$venv/bin/python" -m pip install -q --only-binary :all: uvloop >/dev/null 2>&1 ||
    log "uvloop has no wheel for Python $label here: its test is skipped"
  "$venv/bin/python" -m pip install -q --no-index --only-binary :all: "$@"
  # The docs build (tests/python/test_docs.py: mkdocs build --strict) runs in one venv only.
  if [ "$label" = 3.13 ]; then "$venv/bin/python" -m pip install -q -r "$root/docs/requirements.txt"; fi
  # On 3.13 and 3.13t: the test-only module _interlock_fixtures (bench/fixtures,
  # never in a wheel; the tests that need it must not skip here) and the
  # nptree extra's numpy + optree (tests/python/test_compat_fastipc_nptree.py).
  local require_fixtures=0
  case "$label" in
    3.13|3.13t)
      require_fixtures=1
      "$venv/bin/python" -m pip install -q 'nanobind>=3,<4'
      (cd "$root" && "$venv/bin/python" bench/_fixtures.py)
      "$venv/bin/python" -m pip install -q --only-binary :all: numpy optree >/dev/null 2>&1 ||
        log "numpy/optree have no wheel for Python $label here: the nptree tests are skipped" ;;
  esac
  # The suite imports the installed wheel, not python/ of this tree.
  (cd "$root" && "$venv/bin/python" -c 'import interlock, sys; sys.exit(not interlock.__file__.startswith(sys.prefix))')
  (cd "$root" && INTERLOCK_REQUIRE_FIXTURES=$require_fixtures "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python)
}

# Tests one wheel (test_wheel), its output kept in build/test-LABEL.log and
# printed whole when it ends, since the next wheel's build prints meanwhile.
test_logged() {  # label interpreter wheel-spec...
  local log="$build/test-$1.log" rc=0
  test_wheel "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  [ "$rc" = 0 ] || echo "=== Python $1: FAILED (exit $rc)"
  return "$rc"
}

if [ "${INTERLOCK_SKIP_PYTHON:-0}" != 1 ]; then
  required="3.11 3.13 3.13t"
  pythons=${INTERLOCK_PYTHONS:-3.10 3.11 3.12 3.13 3.13t}
  for v in $pythons; do
    if ! find_python "$v" >/dev/null; then
      case " $required " in
        *" $v "*) echo "required interpreter python$v not found" >&2; exit 1 ;;
      esac
    fi
  done
  wheelhouse="$build/wheelhouse"
  log "release artifacts: scripts/build-wheels.sh $wheelhouse"
  # A pipeline: build-wheels.sh names each wheel on fd 3 as it is done, and the
  # loop tests it while the next one compiles (a test run leaves a core idle
  # a third of its time; the build has no use for /dev/shm). One test runs at
  # a time, so the suite's check of /dev/shm sees only its own entries. The
  # stable-ABI wheel is tested on the interpreters it serves here (pip would
  # pick it on 3.14+); the full suite (docs/design.md, "Release and packaging").
  failed=0
  while read -r tag whl; do
    case $tag in
      abi3) for v in 3.12 3.13; do
              py=$(find_python "$v") || continue
              test_logged "$v-abi3" "$py" "$whl" || failed=1
            done ;;
      *) test_logged "$tag" "$(find_python "$tag")" "$whl" || failed=1 ;;
    esac
  done < <(INTERLOCK_PYTHONS="$pythons" INTERLOCK_JOBS="$jobs" INTERLOCK_WHEEL_FD=3 \
             bash "$root/scripts/build-wheels.sh" "$wheelhouse" 3>&1 >&2)
  wait $! || { echo "scripts/build-wheels.sh failed" >&2; exit 1; }
  [ "$failed" = 0 ] || { echo "the Python suite failed (above)" >&2; exit 1; }
fi
