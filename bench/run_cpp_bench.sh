#!/usr/bin/env bash
# run_cpp_bench.sh — build (if needed) and run the C++ benchmarks of interlock.
#
# Usage: bench/run_cpp_bench.sh OUTPUT_FILE [extra Google Benchmark flags...]
#   OUTPUT_FILE  where the results go; the format follows the extension:
#                .json -> JSON, .csv -> CSV, anything else -> console text.
#                The console table is printed to stdout as well.
#   extra flags  passed to the binary, e.g. --benchmark_filter=Mutex
# Each benchmark runs 5 times and only the aggregates (mean, median, stddev,
# cv) are reported; quote the medians. The repetitions of all benchmarks are
# randomly interleaved, so a slow phase of a noisy machine (e.g. a vCPU being
# moved on the host) hits interlock and the std:: reference alike.
# Environment: BUILD_DIR (default <repo>/build/bench), JOBS (default 2).
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTPUT_FILE [benchmark flags...]" >&2
  exit 2
fi
out=$1
shift

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
build_dir=${BUILD_DIR:-$repo_dir/build/bench}
jobs=${JOBS:-2}

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  cmake -S "$repo_dir" -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DINTERLOCK_BUILD_TESTS=OFF -DINTERLOCK_BUILD_BENCHMARKS=ON
fi
cmake --build "$build_dir" --target interlock_bench -j "$jobs"

case "$out" in
  *.json) format=json ;;
  *.csv) format=csv ;;
  *) format=console ;;
esac

"$build_dir/bench/interlock_bench" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out" \
  --benchmark_out_format="$format" \
  "$@"
