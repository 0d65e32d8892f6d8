#!/usr/bin/env bash
# Fuzzes one target with AFL++ for SECONDS (default 600), then prints the
# executions and findings. Needs afl++ (apt-get install -y afl++) and
# cargo-afl (cargo install cargo-afl --locked).
# Usage: fuzz/run.sh header|stream|server_request|config [SECONDS]
# Crashes land in fuzz/out/TARGET/default/crashes; add each as a file under
# fuzz/corpus/TARGET/ (the test suite replays that directory) with a fix.
set -euo pipefail
cd "$(dirname "$0")"
TARGET=$1
SECONDS_TO_RUN=${2:-600}
cargo afl build --release --quiet --bin "$TARGET" --bin make_seeds
[ -d "corpus/$TARGET" ] || cargo run --release --quiet --bin make_seeds
mkdir -p out
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
cargo afl fuzz -V "$SECONDS_TO_RUN" -i "corpus/$TARGET" -o "out/$TARGET" \
  "target/release/$TARGET" > "out-$TARGET.log" 2>&1 || true
grep -E "execs_done|execs_per_sec|saved_crashes|saved_hangs|corpus_count|bitmap_cvg" \
  "out/$TARGET/default/fuzzer_stats"
