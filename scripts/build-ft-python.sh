#!/usr/bin/env bash
# Builds a free-threaded CPython 3.13 (python3.13t) from Debian's own source
# package and caches it. Prints the interpreter's path on stdout (last line).
#
#   scripts/build-ft-python.sh            # build once, then reuse the cache
#   INTERLOCK_CACHE=/some/dir scripts/...  # choose the cache directory
#
# The source comes through apt with a private source list (Debian trixie,
# main, deb-src) so the system's own lists are left untouched.
set -euo pipefail

cache="${INTERLOCK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/interlock}"
prefix="$cache/cpython-3.13t"
py="$prefix/bin/python3.13t"

if [ -x "$py" ] && "$py" -c 'import sys, ssl, ctypes, sqlite3; sys.exit(sys._is_gil_enabled())' 2>/dev/null; then
  echo "$py"
  exit 0
fi

log() { echo "build-ft-python: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build dependencies of a complete CPython (ssl, ctypes, sqlite3, ...).
deps=(build-essential pkg-config libssl-dev libffi-dev zlib1g-dev libbz2-dev
      liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev libgdbm-dev
      uuid-dev tk-dev dpkg-dev)
missing=()
for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

work="$cache/src"
mkdir -p "$work/lists/partial"
# Same mirror as the machine's own apt sources.
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
         | head -n1 | tr -d ' ' || true)
mirror="${mirror:-http://deb.debian.org/debian}"
echo "deb-src [trusted=yes] ${mirror%/} trixie main" > "$work/sources.list"
aptopts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
         -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0")

tarball=$(ls "$work"/python3.13_3.13.*.orig.tar.* 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  log "fetching Debian's python3.13 source package"
  apt-get "${aptopts[@]}" update -qq >&2
  (cd "$work" && apt-get "${aptopts[@]}" source --download-only python3.13 >&2)
  tarball=$(ls "$work"/python3.13_3.13.*.orig.tar.* | head -n1)
fi

build="$work/build"
rm -rf "$build" && mkdir -p "$build"
tar -xf "$tarball" -C "$build" --strip-components=1
cd "$build"
log "configuring and building (a few minutes)"
./configure --prefix="$prefix" --disable-gil --with-ensurepip=install >/dev/null
make -j"$(nproc)" >/dev/null 2>"$work/build.err" || { tail -50 "$work/build.err" >&2; exit 1; }
make install >/dev/null 2>>"$work/build.err"
rm -rf "$build"
"$py" -c 'import sys, ssl, ctypes, sqlite3; assert not sys._is_gil_enabled()' >&2
echo "$py"
