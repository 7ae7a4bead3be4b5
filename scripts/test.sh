#!/usr/bin/env bash
# Runs every test of interlock: the C++ suite (ctest), the C++ packaging checks
# (tests/cmake_consumer/check.sh: find_package, pkg-config, add_subdirectory,
# FetchContent, the shared library), and the Python
# suite (pytest) on every supported interpreter found here, including a
# free-threaded 3.13t built and cached by scripts/build-ft-python.sh.
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
if [ ${#apt_need[@]} -gt 0 ]; then
  log "installing ${apt_need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null; then
  log "installing cmake and ninja from PyPI"
  python3 -m venv "$build/tools"
  "$build/tools/bin/pip" install -q cmake ninja
  export PATH="$build/tools/bin:$PATH"
fi

# ------------------------------------------------------------------ C++
if [ "${INTERLOCK_SKIP_CPP:-0}" != 1 ]; then
  log "C++: build and ctest"
  # =ON: a missing GoogleTest / Google Benchmark is an error here, not a skip.
  cmake -S "$root" -B "$build/cpp" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DINTERLOCK_BUILD_TESTS=ON -DINTERLOCK_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$build/cpp" -j"$jobs"
  ctest --test-dir "$build/cpp" --output-on-failure -j"$jobs"

  log "C++ packaging: plain build/install, find_package, shared library, pkg-config, add_subdirectory, FetchContent"
  INTERLOCK_JOBS="$jobs" bash "$root/tests/cmake_consumer/check.sh" "$build/consumers"
fi

# ------------------------------------------------------------------ Python
find_python() {  # version -> interpreter path on stdout
  local v=$1
  if [ "$v" = 3.13t ]; then
    "$root/scripts/build-ft-python.sh" | tail -n1
    return
  fi
  local candidates=()
  if command -v pyenv >/dev/null; then
    local proot; proot=$(pyenv root)
    for d in "$proot"/versions/"$v".*/bin/python"$v"; do [ -x "$d" ] && candidates+=("$d"); done
  fi
  command -v "python$v" >/dev/null && candidates+=("$(command -v "python$v")")
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(0 if getattr(sys, "_is_gil_enabled", lambda: True)() else 1)' 2>/dev/null; then
      echo "$c"; return
    fi
  done
  return 1
}

if [ "${INTERLOCK_SKIP_PYTHON:-0}" != 1 ]; then
  required="3.11 3.13 3.13t"
  for v in ${INTERLOCK_PYTHONS:-3.10 3.11 3.12 3.13 3.13t}; do
    if ! py=$(find_python "$v"); then
      case " $required " in
        *" $v "*) echo "required interpreter python$v not found" >&2; exit 1 ;;
        *) echo "python$v not found here: skipped"; continue ;;
      esac
    fi
    log "Python $v ($py): build, install, pytest"
    venv="$build/venv-$v"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install -q pytest pytest-timeout
    # Optional: the asyncio tests also run on uvloop where a wheel exists.
    "$venv/bin/python" -m pip install -q --only-binary :all: uvloop >/dev/null 2>&1 ||
      log "uvloop has no wheel for Python $v here: its test is skipped"
    "$venv/bin/python" -m pip install -q -C build-dir="$build/py-$v" "$root"
    # The docs build (tests/python/test_docs.py: mkdocs build --strict) runs in one venv only.
    if [ "$v" = 3.13 ]; then "$venv/bin/python" -m pip install -q -r "$root/docs/requirements.txt"; fi
    (cd "$root" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python)
  done
fi
