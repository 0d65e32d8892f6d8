#!/usr/bin/env bash
# Tree benchmark (issue #10): a tree of FILES files of SIZE bytes, on a real
# disk (under target/, the project's disk) and on tmpfs (/dev/shm), each
# figure the median of RUNS runs and reported as a ratio against a baseline
# measured in the same run:
#
#   encrypt -r (private layout, durable)  vs  cp -r SRC DST && sync
#   encrypt -r --layout mirror            vs  the same
#   restic backup && sync                 (if restic is installed)
#   rclone copy to a crypt remote && sync (if rclone is installed)
#   decrypt -r through a local 2-of-3 cluster: files/s (and vs cp -r)
#   ls of the private tree: files/s
#   peak RSS of encrypt -r and decrypt -r for BIG files (tmpfs)
#
# Install the comparison tools first if missing (as root):
#   apt-get install -y restic rclone
# Usage: benches/tree.sh
#        FILES=10000 SIZE=4096 RUNS=3 BIG=100000 benches/tree.sh
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-10000}
SIZE=${SIZE:-4096}
RUNS=${RUNS:-3}
BIG=${BIG:-100000}

cargo build --release --locked --quiet
BIN=$PWD/target/release/shardlock

DISK=$(mktemp -d "$PWD/target/shardlock-treebench.XXXXXX")
SHM=$(mktemp -d /dev/shm/shardlock-treebench.XXXXXX)
CLUSTER_PID=""
cleanup() {
  if [ -n "$CLUSTER_PID" ]; then
    kill -TERM "$CLUSTER_PID" 2>/dev/null || true
    wait "$CLUSTER_PID" 2>/dev/null || true
  fi
  rm -rf "$DISK" "$SHM"
}
trap cleanup EXIT

echo "machine: $(nproc) cores; disk: $(df -T "$DISK" | awk 'NR==2 {print $2}') at $DISK" >&2
"$BIN" dev-cluster --dir "$SHM/cluster" --quiet > "$SHM/cluster.out" 2>&1 &
CLUSTER_PID=$!
for _ in $(seq 100); do grep -q ready "$SHM/cluster.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$SHM/cluster.out" || { cat "$SHM/cluster.out" >&2; exit 1; }
CONFIG=$SHM/cluster/config.toml

# make_tree DIR COUNT SIZE: COUNT random files in 100 directories.
make_tree() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    d = os.path.join(root, f"dir{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i:06d}.dat"), "wb") as f:
        f.write(os.urandom(size))
PY
}

# median_time CMD...: runs `prepare` then CMD RUNS times; prints the
# median wall-clock seconds. Each run writes to a new directory ($RUN
# changes): deleting 10,000 files just before recreating them makes ext4's
# inode allocator skip recently deleted inodes, which would measure the
# benchmark's own churn rather than the tool (old runs are removed at the
# end of each section).
RUN=0
median_time() {
  local times=()
  for _ in $(seq "$RUNS"); do
    RUN=$((RUN + 1))
    prepare
    sync
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN {printf "%.0f files/s", n / t}'; }

RESULTS=()
report() { RESULTS+=("$(printf '%-8s %-44s %8ss  %s' "$@")"); }

for where in disk tmpfs; do
  if [ "$where" = disk ]; then W=$DISK; else W=$SHM/work; fi
  mkdir -p "$W"
  SRC=$W/src
  make_tree "$SRC" "$FILES" "$SIZE"
  echo "== $where: $FILES x $SIZE bytes" >&2

  prepare() { :; }
  copy_sync() { cp -r "$SRC" "$W/copy.$RUN" && sync; }
  CP=$(median_time copy_sync)
  report "$where" "cp -r SRC DST && sync (baseline)" "$CP" "1.00x"

  prepare() { rm -rf "$SHM/cluster/trees"; }
  encrypt_private() { "$BIN" --config "$CONFIG" encrypt -r "$SRC" -o "$W/enc.$RUN" --quiet; }
  ENC=$(median_time encrypt_private)
  report "$where" "shardlock encrypt -r (private)" "$ENC" "$(ratio "$ENC" "$CP") of cp"

  prepare() { :; }
  encrypt_mirror() { "$BIN" --config "$CONFIG" encrypt -r "$SRC" -o "$W/mirror.$RUN" --layout mirror --quiet; }
  MIR=$(median_time encrypt_mirror)
  report "$where" "shardlock encrypt -r --layout mirror" "$MIR" "$(ratio "$MIR" "$CP") of cp"

  if command -v restic > /dev/null; then
    export RESTIC_PASSWORD=bench
    prepare() { restic init --repo "$W/restic.$RUN" -q > /dev/null; }
    restic_backup() { restic backup --repo "$W/restic.$RUN" -q "$SRC" && sync; }
    RES=$(median_time restic_backup)
    report "$where" "restic backup && sync" "$RES" "$(ratio "$RES" "$CP") of cp"
  fi
  if command -v rclone > /dev/null; then
    export RCLONE_CONFIG_BENCHCRYPT_TYPE=crypt
    RCLONE_CONFIG_BENCHCRYPT_PASSWORD=$(rclone obscure bench)
    export RCLONE_CONFIG_BENCHCRYPT_PASSWORD
    prepare() { export RCLONE_CONFIG_BENCHCRYPT_REMOTE=$W/rclone.$RUN; }
    rclone_copy() { rclone copy -q "$SRC" benchcrypt: && sync; }
    RCL=$(median_time rclone_copy)
    report "$where" "rclone copy to crypt remote && sync" "$RCL" "$(ratio "$RCL" "$CP") of cp"
  fi

  # The restore and the listing read the last private tree.
  ENC_DIR=$W/enc.$RUNS   # median_time runs in a subshell: its runs count 1..RUNS
  prepare() { :; }
  restore() { "$BIN" --config "$CONFIG" decrypt -r "$ENC_DIR" -o "$W/dest.$RUN" --quiet; }
  DEC=$(median_time restore)
  report "$where" "shardlock decrypt -r (2-of-3 cluster)" "$DEC" "$(rate "$FILES" "$DEC"), $(ratio "$DEC" "$CP") of cp"
  prepare() { :; }
  LS=$(median_time "$BIN" --config "$CONFIG" ls "$ENC_DIR")
  report "$where" "shardlock ls" "$LS" "$(rate "$FILES" "$LS")"
  rm -rf "$W"
done

echo "== peak RSS, $BIG files of 64 bytes (tmpfs)" >&2
W=$SHM/big
make_tree "$W/src" "$BIG" 64
rm -rf "$SHM/cluster/trees"
ENC_RSS=$( { /usr/bin/time -f %M "$BIN" --config "$CONFIG" encrypt -r "$W/src" -o "$W/enc" --quiet; } 2>&1 | tail -1)
DEC_RSS=$( { /usr/bin/time -f %M "$BIN" --config "$CONFIG" decrypt -r "$W/enc" -o "$W/dest" --quiet; } 2>&1 | tail -1)
LS_RSS=$( { /usr/bin/time -f %M "$BIN" --config "$CONFIG" ls "$W/enc" > /dev/null; } 2>&1 | tail -1)

echo
echo "tree benchmark: $FILES files x $SIZE bytes, median of $RUNS, $(nproc) cores"
printf '%s\n' "${RESULTS[@]}"
echo "peak RSS for $BIG files: encrypt -r $((ENC_RSS / 1024)) MiB, decrypt -r $((DEC_RSS / 1024)) MiB, ls $((LS_RSS / 1024)) MiB"
