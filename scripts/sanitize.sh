#!/usr/bin/env bash
# Builds and runs the C++ test suite under ThreadSanitizer and under
# AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/sanitize.sh            # both
#   scripts/sanitize.sh thread     # one of: thread address
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
for san in "${@:-thread address}"; do
  for s in $san; do
    printf '\n=== [%4ds] C++ tests under %s sanitizer\n' "$SECONDS" "$s"
    dir="$root/build/san-$s"
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DINTERLOCK_SANITIZE="$s" -DINTERLOCK_BUILD_TESTS=ON -DINTERLOCK_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --build "$dir" -j"$jobs"
    # halt_on_error: a report fails the run instead of scrolling past.
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      ctest --test-dir "$dir" --output-on-failure -j"$jobs"
  done
done
