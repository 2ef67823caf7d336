#!/usr/bin/env bash
# Builds IonLink's libFuzzer targets (AddressSanitizer + libFuzzer, release) and runs each on its seeds.
#   Fuzz/run.sh [BUDGET] [TARGET ...]     BUDGET: seconds per target (default 10), or N runs per target as "Nruns"
# Seeds: Fuzz/Seeds/<TARGET>/ plus the test fixtures of that format (NWB: 400-sample versions of every layout fixture,
# written by tools/make_nwb_layout_fixtures.py --fuzz-seeds). The NWB and H5AD targets read each input first in a
# forked reader child (ForkedRead), as `ionlink` reads HDF5 in a child process: a crash inside libhdf5, or a read
# stuck inside it, is counted as isolated; one anywhere else stops the run.
# FUZZ_SEED fixes libFuzzer's random seed (CI sets it: a CI run of the same code explores the same inputs; changed code
# steers the mutations elsewhere); unset, each run draws its own.
# Exits non-zero on the first target that crashes, hangs (> 10 s on one input; NWB/H5AD: see below) or runs out of
# memory; the input is kept under Fuzz/artifacts/<TARGET>/.
set -euo pipefail
cd "$(dirname "$0")"
budget="${1:-10}"
shift || true
if [[ "$budget" == *runs ]]; then
  limit=(-runs="${budget%runs}"); what="${budget%runs} runs"
else
  limit=(-max_total_time="$budget"); what="$budget s"
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(NPY ABF NWB H5AD Gzip CSV Estimator BankManifest)

swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
  -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 | grep -v "warning:" | tail -1

fixtures=../Tests
declare -A extra=(
  [NPY]="$fixtures/IonLinkElectrophysiologyTests/Fixtures/*.npy"
  [ABF]="$fixtures/IonLinkElectrophysiologyTests/Fixtures/*.abf"
  [H5AD]="$fixtures/IonLinkPatchSeqTests/Fixtures/*.h5ad"
  [Estimator]="$fixtures/IonLinkInferenceTests/Fixtures/*.json"
)
# libFuzzer's per-input timeout is wall-clock time in the fuzzer's process. The HDF5 targets wait there for their reader
# child, whose own limits count CPU time (ForkedRead) and end any read within 120 s of the clock, so theirs is longer:
# on a busy machine a starved child is slow, not hung.
declare -A timeout=([NWB]=300 [H5AD]=300)
declare -A maxlen=([NPY]=4096 [ABF]=262144 [NWB]=131072 [H5AD]=16384 [Gzip]=4096 [CSV]=4096 [Estimator]=16384 [BankManifest]=8192)

# Leak reports are off: swift-foundation's FileManager.contents(atPath:) leaks its 4 KiB buffer on an empty file
# (LeakSanitizer shows it at exit), which would mask the crashes this looks for.
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
# Swift's own crash backtracer would symbolicate every crash of a forked reader child (seconds each) and trips ASan
# while reading memory; the sanitizer's report says where it crashed.
export SWIFT_BACKTRACE="enable=no"
status=0
for target in "${targets[@]}"; do
  corpus=".corpus/$target"
  artifacts="artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/crash-* "$artifacts"/oom-* "$artifacts"/timeout-* "$artifacts"/slow-unit-*
  [ -d "Seeds/$target" ] && cp -n Seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  for f in ${extra[$target]:-}; do [ -f "$f" ] && cp -n "$f" "$corpus"/; done
  log="$artifacts/last_run.log"
  start=$SECONDS
  if .build/release/Fuzz"$target" "$corpus" "${limit[@]}" -max_len="${maxlen[$target]}" -timeout="${timeout[$target]:-10}" \
       -rss_limit_mb=4096 -detect_leaks=0 -print_final_stats=1 ${FUZZ_SEED:+-seed=$FUZZ_SEED} -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    runs=$(grep -m1 "stat::number_of_executed_units" "$log" | awk '{print $2}')
    isolated=$(grep -m1 "isolated by design" "$log" || true)
    # A reader child that died inside libhdf5 wrote its input as a crash-/oom- file too (libFuzzer's handlers live on
    # in a fork); the run passed, so every such file is an isolated one.
    rm -f "$artifacts"/crash-* "$artifacts"/oom-*
    echo "Fuzz$target: ${runs:-?} inputs in $((SECONDS - start)) s (budget $what), no crash, no hang${isolated:+ ($isolated)}"
  else
    echo "Fuzz$target: FAILED (see Fuzz/$log; inputs in Fuzz/$artifacts/)"
    grep -m3 -E "ERROR|SUMMARY|Fatal|deadly|outside libhdf5" "$log" || true
    grep -E "Test unit written to" "$log" | tail -1 || true
    status=1
  fi
done
exit $status
