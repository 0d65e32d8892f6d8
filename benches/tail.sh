#!/usr/bin/env bash
# Tail-latency benchmark (issue #11, item 1): decrypt latency with one hung
# key-share server among three (it accepts connections and never answers),
# against the all-healthy figure from the same run, on a local 2-of-3 dev
# cluster:
#
#   1. one small file: median of RUNS decryptions, each a fresh process;
#   2. a tree of FILES small files (`decrypt -r`): median of TREE_RUNS.
#
# The request deadline is raised to 30 s so that a missing hedge would show
# as a 30 s hang, not hide behind a short deadline.
# Usage: benches/tail.sh   (needs python3)
#        RUNS=21 FILES=5000 TREE_RUNS=3 benches/tail.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-15}
FILES=${FILES:-5000}
TREE_RUNS=${TREE_RUNS:-3}

cargo build --release --locked --quiet
BIN=$PWD/target/release/shardlock

WORK=$(mktemp -d /dev/shm/shardlock-tail.XXXXXX 2>/dev/null || mktemp -d)
CLUSTER_PID=""
HUNG_PID=""
cleanup() {
  for pid in $HUNG_PID $CLUSTER_PID; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "machine: $(nproc) cores" >&2
echo "== local 2-of-3 dev cluster" >&2
"$BIN" dev-cluster --dir "$WORK/cluster" --quiet > "$WORK/cluster.out" 2>&1 &
CLUSTER_PID=$!
for _ in $(seq 100); do grep -q ready "$WORK/cluster.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/cluster.out" || { cat "$WORK/cluster.out" >&2; exit 1; }
HEALTHY=$WORK/cluster/config.toml

# The hung server: accepts every connection and holds it, silent.
python3 - "$WORK/hung.port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    conn, _ = s.accept()
    held.append(conn)
PY
HUNG_PID=$!
for _ in $(seq 50); do [ -s "$WORK/hung.port" ] && break; sleep 0.1; done
HUNG_PORT=$(cat "$WORK/hung.port")
# Participant 1's URL now points at the hung server.
python3 - "$HEALTHY" "$WORK/hung.toml" "$HUNG_PORT" <<'PY'
import re, sys
src, dst, port = sys.argv[1:4]
text = open(src).read()
first = re.search(r'url = "https://127\.0\.0\.1:\d+"', text)
text = text[:first.start()] + f'url = "https://127.0.0.1:{port}"' + text[first.end():]
open(dst, "w").write(text)
PY
chmod 600 "$WORK/hung.toml"
HUNG=$WORK/hung.toml

head -c 40000 /dev/urandom > "$WORK/file"
"$BIN" --config "$HEALTHY" --quiet encrypt -o "$WORK/file.slock" "$WORK/file"
mkdir -p "$WORK/tree"
python3 - "$WORK/tree" "$FILES" <<'PY'
import os, sys
root, files = sys.argv[1], int(sys.argv[2])
for i in range(files):
    d = os.path.join(root, f"d{i // 100:03}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 100:02}"), "w") as f:
        f.write(f"{i}\n")
PY
"$BIN" --config "$HEALTHY" --quiet encrypt -r "$WORK/tree" -o "$WORK/tree.enc"

# median_of N CMD: runs CMD (a bash string) N times, prints the median
# wall time in seconds.
median_of() {
  python3 - "$1" "$2" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2]
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(["bash", "-c", cmd], check=True)
    times.append(time.perf_counter() - start)
print(f"{statistics.median(times):.3f}")
PY
}

file_cmd() { echo "'$BIN' --config '$1' --timeout 30s --quiet decrypt --force -o '$WORK/out' '$WORK/file.slock'"; }
tree_cmd() { echo "rm -rf '$WORK/restored' && '$BIN' --config '$1' --timeout 30s --quiet decrypt -r '$WORK/tree.enc' -o '$WORK/restored'"; }

echo "== one file, median of $RUNS" >&2
F_OK=$(median_of "$RUNS" "$(file_cmd "$HEALTHY")")
F_HUNG=$(median_of "$RUNS" "$(file_cmd "$HUNG")")
echo "== $FILES files, median of $TREE_RUNS" >&2
T_OK=$(median_of "$TREE_RUNS" "$(tree_cmd "$HEALTHY")")
T_HUNG=$(median_of "$TREE_RUNS" "$(tree_cmd "$HUNG")")

python3 - "$F_OK" "$F_HUNG" "$T_OK" "$T_HUNG" "$FILES" <<'PY'
import sys
f_ok, f_hung, t_ok, t_hung = map(float, sys.argv[1:5])
files = sys.argv[5]
print(f"{'':<22}{'healthy':>10}{'1 hung of 3':>14}{'added':>10}")
print(f"{'decrypt one file':<22}{f_ok:>9.3f}s{f_hung:>13.3f}s{f_hung - f_ok:>+9.3f}s")
print(f"{'decrypt -r ' + files + ' files':<22}{t_ok:>9.3f}s{t_hung:>13.3f}s{t_hung - t_ok:>+9.3f}s")
PY
