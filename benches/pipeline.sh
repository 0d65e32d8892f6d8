#!/usr/bin/env bash
# Whole-pipeline benchmarks (issue #4), every figure measured in this run on
# this machine and reported as a ratio against a baseline from the same run:
#
#   1. one 1 GiB file, encrypt and decrypt to /dev/null: shardlock vs rage,
#      gpg (AES256, no compression), and cores x the raw single-core
#      AES-256-GCM speed of the backend (from `cargo bench --bench stream`);
#   2. 10,000 files of 4 KiB: `encrypt -r` vs `cp -r`, and `decrypt -r`
#      files/s against a local 2-of-3 dev cluster;
#   3. peak RSS of each shardlock run.
#
# Data lives in /dev/shm so the disk does not set the pace.
# Usage: benches/pipeline.sh   (needs python3 and GNU time; gpg and rage if present)
#        RAGE=/path/to/rage benches/pipeline.sh
# rage is looked up on PATH, then in target/bench-tools/bin; install it with
#   cargo install rage --root target/bench-tools
set -euo pipefail
cd "$(dirname "$0")/.."

BIG_MIB=${BIG_MIB:-1024}
FILES=${FILES:-10000}
CORES=$(nproc)

cargo build --release --locked --quiet
BIN=$PWD/target/release/shardlock
RAGE=${RAGE:-$(command -v rage || echo "$PWD/target/bench-tools/bin/rage")}
RAGE_KEYGEN=$(dirname "$RAGE")/rage-keygen
[ -x "$RAGE" ] || RAGE=""
GPG=$(command -v gpg || true)

WORK=$(mktemp -d /dev/shm/shardlock-bench.XXXXXX)
CLUSTER_PID=""
cleanup() {
  if [ -n "$CLUSTER_PID" ]; then kill -TERM "$CLUSTER_PID" 2>/dev/null || true; wait "$CLUSTER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# measure LABEL COMMAND: runs COMMAND (a bash string) once, prints
# "LABEL seconds peak_rss_mib" and records both in $WORK/results.
measure() {
  local label=$1 cmd=$2
  python3 - "$label" "$cmd" "$WORK/results" "$WORK/rss" <<'PY'
import os, subprocess, sys, time
label, cmd, results, rss_file = sys.argv[1:5]
# GNU time reports the peak RSS of the command itself (a fork of this
# Python would carry Python's own RSS as its high-water mark).
start = time.perf_counter()
subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, "bash", "-c", cmd], check=True)
seconds = time.perf_counter() - start
rss_mib = int(open(rss_file).read().split()[-1]) / 1024
with open(results, "a") as f:
    f.write(f"{label} {seconds:.4f} {rss_mib:.1f}\n")
print(f"  {label:<28} {seconds:8.3f} s   peak RSS {rss_mib:6.1f} MiB", file=sys.stderr)
PY
}
secs() { awk -v l="$1" '$1 == l { print $2 }' "$WORK/results"; }
rss() { awk -v l="$1" '$1 == l { print $3 }' "$WORK/results"; }
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}')" "$1" "$2"; }

echo "machine: $CORES cores, $(python3 -c 'import os; print(round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30))') GiB" >&2

echo "== raw single-core AES-256-GCM (cargo bench --bench stream, 256 MiB)" >&2
RAW=$(SHARDLOCK_BENCH_MIB=256 cargo bench --quiet --locked --bench stream 2>/dev/null | tee /dev/stderr | awk '$1 == "ring" { print $2 }')

echo "== local 2-of-3 dev cluster" >&2
"$BIN" dev-cluster --dir "$WORK/cluster" --quiet > "$WORK/cluster.out" 2>&1 &
CLUSTER_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/cluster.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/cluster.out" || { cat "$WORK/cluster.out" >&2; exit 1; }
export SHARDLOCK_CONFIG=$WORK/cluster/config.toml

echo "== one ${BIG_MIB} MiB file" >&2
head -c "$((BIG_MIB * 1024 * 1024))" /dev/urandom > "$WORK/big"
BIG_BYTES=$((BIG_MIB * 1024 * 1024))
"$BIN" --quiet encrypt -o "$WORK/big.slock" "$WORK/big"
# One thread's read() copy out of the page cache, for scale.
measure read-1MiB "dd if='$WORK/big' of=/dev/null bs=1M status=none"
measure shardlock-encrypt "'$BIN' --quiet encrypt -o /dev/null '$WORK/big'"
measure shardlock-decrypt "'$BIN' --quiet decrypt -o /dev/null '$WORK/big.slock'"
measure shardlock-encrypt-1core "'$BIN' --quiet -j 1 encrypt -o /dev/null '$WORK/big'"
if [ -n "$RAGE" ]; then
  "$RAGE_KEYGEN" -o "$WORK/age.key" 2>/dev/null
  RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$WORK/age.key" | head -1)
  "$RAGE" -e -r "$RECIPIENT" -o "$WORK/big.age" "$WORK/big"
  measure rage-encrypt "'$RAGE' -e -r $RECIPIENT -o /dev/null '$WORK/big'"
  measure rage-decrypt "'$RAGE' -d -i '$WORK/age.key' -o /dev/null '$WORK/big.age'"
else
  echo "  rage not found: install with cargo install rage --root target/bench-tools" >&2
fi
if [ -n "$GPG" ]; then
  export GNUPGHOME=$WORK/gnupg; mkdir -m 700 "$GNUPGHOME"
  GPGARGS="--batch --yes --quiet --pinentry-mode loopback --passphrase bench"
  "$GPG" $GPGARGS --symmetric --cipher-algo AES256 -z 0 -o "$WORK/big.gpg" "$WORK/big"
  measure gpg-encrypt "'$GPG' $GPGARGS --symmetric --cipher-algo AES256 -z 0 -o /dev/null '$WORK/big'"
  measure gpg-decrypt "'$GPG' $GPGARGS -d -o /dev/null '$WORK/big.gpg'"
fi
rm -f "$WORK/big" "$WORK/big.slock" "$WORK/big.age" "$WORK/big.gpg"

echo "== one small file against the cluster, 20 times" >&2
head -c 1024 /dev/urandom > "$WORK/small"
"$BIN" --quiet encrypt -o "$WORK/small.slock" "$WORK/small"
for i in $(seq 20); do
  measure "small-decrypt-$i" "'$BIN' --quiet decrypt -o /dev/null '$WORK/small.slock'" 2>/dev/null
done

echo "== $FILES files of 4 KiB" >&2
python3 - "$WORK/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 100:03}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05}.dat"), "wb") as f:
        f.write(os.urandom(4096))
PY
measure cp-r "cp -r '$WORK/tree' '$WORK/copy'"
measure shardlock-encrypt-tree "'$BIN' --quiet encrypt -r '$WORK/tree' -o '$WORK/enc'"
measure shardlock-skip-unchanged "'$BIN' --quiet encrypt -r '$WORK/tree' -o '$WORK/enc' --skip-unchanged"
measure shardlock-decrypt-tree "'$BIN' --quiet decrypt -r '$WORK/enc' -o '$WORK/restored'"
diff -r "$WORK/tree" "$WORK/restored" > /dev/null || { echo "restored tree differs!" >&2; exit 1; }

gbps() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]) / 1e9:.2f}')" "$1" "$2"; }
ENC=$(gbps "$BIG_BYTES" "$(secs shardlock-encrypt)")
DEC=$(gbps "$BIG_BYTES" "$(secs shardlock-decrypt)")
CEIL=$(python3 -c "print(f'{$CORES * $RAW:.2f}')")
echo
echo "RESULTS ($CORES cores; raw single-core AES-256-GCM seal: $RAW GB/s, ceiling $CORES x raw = $CEIL GB/s)"
echo "1 GiB encrypt: $ENC GB/s = $(ratio "$ENC" "$CEIL") of cores x raw (goal >= 0.70)"
echo "1 GiB decrypt: $DEC GB/s = $(ratio "$DEC" "$CEIL") of cores x raw (goal >= 0.70)"
echo "page-cache read ceiling (dd bs=1M to /dev/null, one thread): $(gbps "$BIG_BYTES" "$(secs read-1MiB)") GB/s"
echo "1 GiB encrypt on 1 core: $(gbps "$BIG_BYTES" "$(secs shardlock-encrypt-1core)") GB/s"
if [ -n "$RAGE" ]; then
  echo "vs rage: encrypt $(ratio "$(secs rage-encrypt)" "$(secs shardlock-encrypt)")x, decrypt $(ratio "$(secs rage-decrypt)" "$(secs shardlock-decrypt)")x faster (goal >= 3x)"
fi
if [ -n "$GPG" ]; then
  echo "vs gpg:  encrypt $(ratio "$(secs gpg-encrypt)" "$(secs shardlock-encrypt)")x, decrypt $(ratio "$(secs gpg-decrypt)" "$(secs shardlock-decrypt)")x faster"
fi
echo "$FILES x 4 KiB encrypt -r: $(secs shardlock-encrypt-tree) s = $(ratio "$(secs shardlock-encrypt-tree)" "$(secs cp-r)")x cp -r ($(secs cp-r) s) (goal <= 2x)"
echo "$FILES x 4 KiB rerun with --skip-unchanged: $(secs shardlock-skip-unchanged) s"
echo "$FILES x 4 KiB decrypt -r (2-of-3 cluster): $(python3 -c "print(round($FILES / $(secs shardlock-decrypt-tree)))") files/s (goal >= 3000)"
echo "decrypt of a 1 KiB file via 2-of-3 cluster, whole process: median $(awk '$1 ~ /^small-decrypt-/ { print $2 * 1000 }' "$WORK/results" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') ms over 20 runs"
echo "peak RSS MiB: encrypt 1 GiB $(rss shardlock-encrypt), decrypt 1 GiB $(rss shardlock-decrypt), encrypt tree $(rss shardlock-encrypt-tree), decrypt tree $(rss shardlock-decrypt-tree) (goal <= 64)"
