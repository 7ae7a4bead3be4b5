#!/usr/bin/env bash
# Packaging checks for the interlock C++ core: it builds, installs and is
# consumed the ways a C++ user expects, each step on its own:
#   1. a plain configure + build + install with neither GoogleTest nor Google
#      Benchmark (their absence simulated): one notice, no tests, an install;
#   2. asking for them explicitly (=ON) while they are absent is a configure error;
#   3. find_package(interlock CONFIG) from an outside project, static library;
#   4. BUILD_SHARED_LIBS=ON: libinterlock.so with its SONAME, only the public API
#      exported (check_symbols.sh), and an outside project running against it;
#   5. pkg-config: g++ app.cpp $(pkg-config --cflags --libs interlock), static and
#      shared, and from a copy of the install moved elsewhere (relocatable .pc);
#   6. add_subdirectory() of the source tree from a parent project, and
#   7. FetchContent from a local tarball (file://, no network): in both, none of
#      interlock's tests, benchmarks or install rules leak into the parent.
#
# Usage: tests/cmake_consumer/check.sh [WORK_DIR]   (default: build/consumers)
# Build directories under WORK_DIR are reused (incremental) between runs;
# install prefixes are made afresh. Environment: INTERLOCK_JOBS (default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-$root/build/consumers}
jobs=${INTERLOCK_JOBS:-2}
mkdir -p "$work"
work=$(cd "$work" && pwd)

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
start=$(date +%s)
n=0
step() { n=$((n + 1)); printf '\n--- [%d] %s\n' "$n" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() { printf '    FAIL: %s\n' "$*"; exit 1; }
# Configure quietly, showing the output only on failure.
configure() {
  local log=$1; shift
  cmake "${gen[@]}" "$@" >"$log" 2>&1 || { cat "$log"; fail "configure failed: cmake $*"; }
}
build() { cmake --build "$1" -j"$jobs" >"$1.build.log" 2>&1 || { cat "$1.build.log"; fail "build of $1 failed"; }; }
install_to() { rm -rf "$2"; cmake --install "$1" --prefix "$2" >"$1.install.log" 2>&1 || { cat "$1.install.log"; fail "install of $1 failed"; }; }
no_gtest=(-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON)
# The library file of an install (GNUInstallDirs may pick lib, lib64 or lib/<triplet>).
find_lib() { find "$1" -name "$2" \( -type f -o -type l \) | head -1; }
# (Pipelines below use `grep >/dev/null`, not `grep -q`: -q stops reading at
# the first match and the writer's SIGPIPE then fails the pipeline.)
# Tests registered in a build tree ("Total Tests: N").
test_count() { (cd "$1" && ctest -N 2>/dev/null) | sed -nE 's/^Total Tests: ([0-9]+)$/\1/p'; }

# ---------------------------------------------------------------- 1
step "plain cmake -S . -B b && cmake --build b && cmake --install b, without GoogleTest/Google Benchmark"
plain=$work/plain static=$work/prefix-static
configure "$plain.configure.log" -S "$root" -B "$plain" "${no_gtest[@]}"
notices=$(grep -c '^interlock: not building' "$plain.configure.log" || true)
[ "$notices" = 1 ] || { cat "$plain.configure.log"; fail "expected one 'interlock: not building' notice, got $notices"; }
grep '^interlock: not building' "$plain.configure.log" | fold -s -w 96 | sed 's/^/    | /'
ok "one notice"
build "$plain"
[ "$(test_count "$plain")" = 0 ] || fail "tests registered in a build without GoogleTest"
[ ! -e "$plain/bench" ] && [ ! -e "$plain/tests" ] || fail "tests or benchmarks configured without their frameworks"
ok "library built; no tests, no benchmarks"
install_to "$plain" "$static"
for f in include/interlock/interlock.hpp include/interlock/config.hpp; do
  [ -f "$static/$f" ] || fail "not installed: $f"
done
lib_a=$(find_lib "$static" libinterlock.a)
cfg=$(find "$static" -name interlockConfig.cmake | head -1)
pc=$(find "$static" -name interlock.pc | head -1)
[ -n "$lib_a" ] && [ -n "$cfg" ] && [ -n "$pc" ] || fail "libinterlock.a, interlockConfig.cmake or interlock.pc missing from the install"
[ -z "$(find "$static" -name 'libinterlock.so*')" ] || fail "a static build installed a shared library"
ok "installed: ${lib_a#"$static"/}, ${cfg#"$static"/}, ${pc#"$static"/}, include/interlock/"

# ---------------------------------------------------------------- 2
step "-DINTERLOCK_BUILD_TESTS=ON / -DINTERLOCK_BUILD_BENCHMARKS=ON without them: configure errors"
for opt in INTERLOCK_BUILD_TESTS=ON INTERLOCK_BUILD_BENCHMARKS=ON INTERLOCK_BUILD_TESTS=maybe; do
  dir=$work/must-fail
  rm -rf "$dir"
  if cmake "${gen[@]}" -S "$root" -B "$dir" "${no_gtest[@]}" "-D$opt" >"$dir.log" 2>&1; then
    cat "$dir.log"; fail "-D$opt configured although it cannot be honoured"
  fi
  grep -q "CMake Error" "$dir.log" || { cat "$dir.log"; fail "-D$opt: no CMake error reported"; }
  msg=$(sed -n '/CMake Error/,/^$/{/CMake Error/d;/^$/d;p}' "$dir.log" | sed 's/^ *//' | tr '\n' ' ')
  ok "-D$opt fails: $msg"
done
rm -rf "$work/must-fail" "$work/must-fail.log"

# ---------------------------------------------------------------- 3
step "find_package(interlock CONFIG) from an outside project, static library"
fp=$work/find-package-static
configure "$fp.configure.log" -S "$here" -B "$fp" -DCMAKE_PREFIX_PATH="$static"
build "$fp"
(cd "$fp" && ctest --output-on-failure >"$fp.test.log" 2>&1) || { cat "$fp.test.log"; fail "consumer test failed"; }
out=$("$fp/consumer") && [[ $out == *"consumer: ok"* ]] || fail "consumer did not report ok: $out"
if readelf -d "$fp/consumer" | grep 'NEEDED.*libinterlock' >/dev/null; then fail "static consumer needs libinterlock.so"; fi
ok "consumer built and ran: $out"

# ---------------------------------------------------------------- 4
step "BUILD_SHARED_LIBS=ON: libinterlock.so, public API only, consumer linked against it"
sh=$work/shared shared=$work/prefix-shared
configure "$sh.configure.log" -S "$root" -B "$sh" -DBUILD_SHARED_LIBS=ON \
          -DINTERLOCK_BUILD_TESTS=OFF -DINTERLOCK_BUILD_BENCHMARKS=OFF
build "$sh"
install_to "$sh" "$shared"
so=$(find_lib "$shared" 'libinterlock.so')
[ -n "$so" ] || fail "libinterlock.so not installed"
[ -z "$(find "$shared" -name libinterlock.a)" ] || fail "a shared build installed libinterlock.a"
soname=$(readelf -d "$so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
version=$(sed -nE 's/^Version: //p' "$(find "$shared" -name interlock.pc | head -1)")
expect=libinterlock.so.${version%.*}
[ "$soname" = "$expect" ] || fail "SONAME is '$soname', expected $expect"
[ -e "$(dirname "$so")/$soname" ] && [ -f "$(dirname "$so")/libinterlock.so.$version" ] \
  || fail "missing $soname -> libinterlock.so.$version"
ok "$(cd "$(dirname "$so")" && ls libinterlock.so* | tr '\n' ' ')(SONAME $soname)"
bash "$here/check_symbols.sh" "$lib_a" "$so" "$shared/include" || fail "exported symbols (above)"
fs=$work/find-package-shared
configure "$fs.configure.log" -S "$here" -B "$fs" -DCMAKE_PREFIX_PATH="$shared"
build "$fs"
readelf -d "$fs/consumer" | grep "NEEDED.*\[$soname\]" >/dev/null || fail "consumer does not need $soname"
(cd "$fs" && ctest --output-on-failure >"$fs.test.log" 2>&1) || { cat "$fs.test.log"; fail "shared consumer test failed"; }
resolved=$(ldd "$fs/consumer" | sed -nE "s/^\s*$soname => (\S+).*/\1/p")
[ "$(readlink -f "$resolved")" = "$(readlink -f "$(dirname "$so")/$soname")" ] \
  || fail "consumer loads '$resolved', not the installed $soname"
ok "consumer needs $soname, loads it from the install, ran: $("$fs/consumer")"

# ---------------------------------------------------------------- 5
step "pkg-config: g++ -std=c++20 app.cpp \$(pkg-config --cflags --libs interlock), static and shared"
command -v pkg-config >/dev/null || fail "pkg-config not found (Debian: apt-get install pkgconf)"
cxx=${CXX:-c++}
moved=$work/prefix-static-moved
rm -rf "$moved" && cp -a "$static" "$moved"
for kind in static shared moved; do
  case $kind in static) prefix=$static ;; shared) prefix=$shared ;; moved) prefix=$moved ;; esac
  pcdir=$(dirname "$(find "$prefix" -name interlock.pc | head -1)")
  flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs interlock) || fail "pkg-config failed for $kind"
  inc=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=includedir interlock)
  [ "$(readlink -f "$inc")" = "$(readlink -f "$prefix/include")" ] || fail "$kind: includedir $inc is not in $prefix"
  app=$work/pkgconfig-$kind
  # shellcheck disable=SC2086  # the flags are meant to be split
  "$cxx" -std=c++20 -O1 "$here/main.cpp" -o "$app" $flags || fail "$kind: compile/link with '$flags' failed"
  if [ $kind = shared ]; then
    readelf -d "$app" | grep "NEEDED.*\[$soname\]" >/dev/null || fail "shared pkg-config app does not need $soname"
    out=$(LD_LIBRARY_PATH="$(dirname "$so")" "$app")
  else
    if readelf -d "$app" | grep 'NEEDED.*libinterlock' >/dev/null; then fail "$kind pkg-config app needs libinterlock.so"; fi
    out=$("$app")
  fi
  [[ $out == *"consumer: ok"* ]] || fail "$kind pkg-config app: $out"
  ok "$kind: pkg-config --cflags --libs -> ${flags//$prefix/<prefix>}; app ran: $out"
done
rm -rf "$moved"

# Shared by steps 6 and 7: a parent build must see only its own test and
# install only its own program; its build type must stay its own.
check_parent() {
  local dir=$1 app=$2 what=$3
  local tests
  tests=$(test_count "$dir")
  [ "$tests" = 1 ] || { (cd "$dir" && ctest -N); fail "$what: the parent lists $tests tests, expected only its own"; }
  (cd "$dir" && ctest -N) | grep "Test #1: $app\$" >/dev/null || fail "$what: the parent's one test is not $app"
  ok "ctest -N in the parent lists 1 test: $app"
  if cmake --build "$dir" --target help 2>/dev/null | grep -E '(_test|interlock_bench|_interlock)(:| |$)' >/dev/null; then
    fail "$what: interlock's test/benchmark/Python targets exist in the parent"
  fi
  ok "no interlock test, benchmark or Python targets in the parent"
  (cd "$dir" && ctest --output-on-failure >"$dir.test.log" 2>&1) || { cat "$dir.test.log"; fail "$what: parent test failed"; }
  install_to "$dir" "$dir-prefix"
  local files
  files=$(cd "$dir-prefix" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' ')
  [ "$files" = "bin/$app " ] || fail "$what: cmake --install of the parent installed: $files"
  ok "cmake --install of the parent installs only: $files"
  local bt
  bt=$(sed -nE 's/^CMAKE_BUILD_TYPE:[A-Z]+=(.*)$/\1/p' "$dir/CMakeCache.txt")
  [ -z "$bt" ] || fail "$what: interlock forced the parent's CMAKE_BUILD_TYPE to '$bt'"
  ok "the parent's (empty) CMAKE_BUILD_TYPE is left alone"
  rm -rf "$dir-prefix"
}
gtest_note=""
configure "$work/gtest-probe.log" -S "$root" -B "$work/gtest-probe" -DINTERLOCK_BUILD_TESTS=AUTO \
          -DINTERLOCK_BUILD_BENCHMARKS=AUTO
grep -q '^interlock: not building' "$work/gtest-probe.log" \
  && gtest_note=" (NB: GoogleTest/Google Benchmark are not installed here, so a leak would go unseen)"
rm -rf "$work/gtest-probe" "$work/gtest-probe.log"

# ---------------------------------------------------------------- 6
step "add_subdirectory() of the source tree from a parent project$gtest_note"
sub=$work/add-subdirectory
configure "$sub.configure.log" -S "$here/add_subdirectory" -B "$sub" -DINTERLOCK_SOURCE_DIR="$root"
if grep -q '^interlock: not building' "$sub.configure.log"; then fail "the skip notice shows in a parent build"; fi
build "$sub"
check_parent "$sub" parent_app add_subdirectory

# ---------------------------------------------------------------- 7
fc=$work/fetchcontent
if command -v git >/dev/null && git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  # A release-like tarball of the tracked files (staged ones included), built
  # reproducibly so that an unchanged tree keeps its hash and its build.
  tarball=$work/interlock-src.tar.gz
  (cd "$root" && git ls-files -z --cached | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
     | tar --null -T - --transform 's|^|interlock/|' --sort=name --mtime=@0 --owner=0 --group=0 \
           --numeric-owner -cf - | gzip -n >"$tarball.tmp")
  mv "$tarball.tmp" "$tarball"
  hash=$(sha256sum "$tarball" | cut -d' ' -f1)
  step "FetchContent_Declare(interlock URL file://…/interlock-src.tar.gz) from a parent project$gtest_note"
  configure "$fc.configure.log" -S "$here/fetchcontent" -B "$fc" -DINTERLOCK_URL="file://$tarball" \
            -DINTERLOCK_URL_HASH="SHA256=$hash"
else
  step "FetchContent_Declare(interlock SOURCE_DIR …) from a parent project (no git: no tarball)$gtest_note"
  configure "$fc.configure.log" -S "$here/fetchcontent" -B "$fc" -DINTERLOCK_SOURCE_DIR="$root" \
            -DINTERLOCK_URL=
fi
if grep -q '^interlock: not building' "$fc.configure.log"; then fail "the skip notice shows in a parent build"; fi
build "$fc"
check_parent "$fc" fetch_app FetchContent

printf '\n=== packaging checks: all %d steps passed in %d s\n' "$n" "$(( $(date +%s) - start ))"
