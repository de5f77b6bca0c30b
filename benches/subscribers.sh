#!/usr/bin/env bash
# Subscriber-list benchmark (issue 13): edits, one-click bursts against `serve`, and loading for
# `send --dry-run` / `check`, at 100,000 and 1,000,000 subscribers, for this checkout and for a
# baseline (default: the `main` branch) built from `git archive` in the same run.
#
#   benches/subscribers.sh                       # 100k and 1M, baseline = main
#   SIZES="100000" BASELINE_REF=HEAD~3 benches/subscribers.sh
#   BASELINE_BIN=/path/to/paperwire benches/subscribers.sh   # skip building the baseline
#   SKIP_BASELINE=1 benches/subscribers.sh
#
# Peak RSS and wall time come from GNU time (`/usr/bin/time -v`, installed if missing); the
# POST load comes from a small asyncio client (Python's standard library only). A baseline from
# before the change log rewrites the whole list on every one-click POST, so the baseline's serve
# run is cut down (BASELINE_POSTS at 100k, none at 1M) to finish in minutes; the table says so.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"100000 1000000"}
BASELINE_REF=${BASELINE_REF:-main}
PORT=${PORT:-2780}
POSTS=${POSTS:-1000}
IN_FLIGHT=${IN_FLIGHT:-100}
BASELINE_POSTS=${BASELINE_POSTS:-20}

[ -x /usr/bin/time ] || {
    echo "installing GNU time ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
}

(cd "$ROOT" && cargo build --release --quiet)
OURS="${CARGO_TARGET_DIR:-$ROOT/target}/release/paperwire"

BASE=""
if [ -n "${BASELINE_BIN:-}" ]; then
    BASE=$BASELINE_BIN
elif [ -z "${SKIP_BASELINE:-}" ]; then
    # Built once per commit, outside this work tree's target directory.
    COMMIT=$(git -C "$ROOT" rev-parse "$BASELINE_REF")
    BDIR="$ROOT/target/bench-baseline"
    BASE="$BDIR/release/paperwire"
    if [ "$(cat "$BDIR/commit" 2>/dev/null)" != "$COMMIT" ] || [ ! -x "$BASE" ]; then
        echo "building the baseline $BASELINE_REF ($COMMIT) ..." >&2
        rm -rf "$BDIR/src" && mkdir -p "$BDIR/src"
        git -C "$ROOT" archive "$COMMIT" | tar -x -C "$BDIR/src"
        (cd "$BDIR/src" && CARGO_TARGET_DIR="$BDIR" cargo build --release --quiet --locked)
        echo "$COMMIT" >"$BDIR/commit"
    fi
fi

WORK=$(mktemp -d /tmp/paperwire-subs-bench.XXXXXX)
SERVE_PID=""
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill "$(pgrep -P "$SERVE_PID")" "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/samples"
cp "$ROOT/samples/daily-papers.txt" "$WORK/samples/"
sed -e 's|^path = "subscribers.example.toml"|path = "subscribers.toml"|' \
    "$ROOT/paperwire.example.toml" >"$WORK/paperwire.toml"
grep -q '^path = "subscribers.toml"' "$WORK/paperwire.toml" || { echo "config edit failed" >&2; exit 2; }
export PAPERWIRE_SECRET=bench-secret-that-is-long-enough
unset PAPERWIRE_CONFIG
CFG="$WORK/paperwire.toml"
LIST="$WORK/subscribers.toml"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# Runs a command under GNU time; prints "wall_seconds rss_mb cpu_seconds" (user + system: on a
# machine shared with other jobs, wall time swings with the load and CPU time much less).
timed() {
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
        echo "failed: $*" >&2; cat "$WORK/err.txt" >&2; exit 1; }
    python3 - "$WORK/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
print(int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3)), f"{rss:.0f}", f"{cpu:.2f}")
PY
}

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$RESULTS"; }

# add, pause, resume, remove on the list; the four together give back the original bytes.
# The first edit after the list was put in place (as after a hand edit) reads and checks all
# of it; later edits find the list as the last edit left it, and read only what they change
# (src/subscribers/fingerprint.rs). So the add is timed twice: first, and after the others.
COLD_ADD="add, first edit after a hand edit"
edits() {
    local who=$1 n=$2 pw=$3
    local sub=(subscribers --config "$CFG")
    cp "$WORK/original.toml" "$LIST"
    rm -f "$LIST".changes "$LIST".unsubscribes "$LIST".unsubscribed "$LIST".lock
    read -r w r c < <(timed "$pw" "${sub[@]}" add bench-new@example.org --name Bench)
    record "$n" "$who" "$COLD_ADD" "$w" "$r" "$c"
    read -r w r c < <(timed "$pw" "${sub[@]}" pause bench-new@example.org)
    record "$n" "$who" "pause" "$w" "$r" "$c"
    read -r w r c < <(timed "$pw" "${sub[@]}" resume bench-new@example.org)
    record "$n" "$who" "resume" "$w" "$r" "$c"
    read -r w r c < <(timed "$pw" "${sub[@]}" remove bench-new@example.org)
    record "$n" "$who" "remove" "$w" "$r" "$c"
    cmp -s "$LIST" "$WORK/original.toml" || { echo "$who: add+pause+resume+remove changed the list" >&2; exit 1; }
    read -r w r c < <(timed "$pw" "${sub[@]}" add bench-new@example.org --name Bench)
    record "$n" "$who" "add" "$w" "$r" "$c"
    timed "$pw" "${sub[@]}" remove bench-new@example.org >/dev/null
    cmp -s "$LIST" "$WORK/original.toml" || { echo "$who: add+remove changed the list" >&2; exit 1; }
}

# `posts` one-click POSTs, `flight` at a time, to a fresh `serve`; records p50/p99, statuses,
# the server's peak RSS and how long after the last answer the list held every unsubscribe.
serve_burst() {
    local who=$1 n=$2 pw=$3 posts=$4 flight=$5
    cp "$WORK/original.toml" "$LIST"
    rm -f "$LIST".changes "$LIST".unsubscribes "$LIST".unsubscribed "$LIST".lock
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        echo "port $PORT is taken; set PORT" >&2; exit 2
    fi
    /usr/bin/time -v -o "$WORK/serve-time.txt" "$pw" serve --config "$CFG" --listen "127.0.0.1:$PORT" \
        >"$WORK/serve-out.txt" 2>"$WORK/serve-err.txt" &
    SERVE_PID=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
    python3 - "$PORT" "$n" "$posts" "$flight" "$LIST" "$PAPERWIRE_SECRET" >"$WORK/burst.txt" <<'PY'
import asyncio, base64, hashlib, hmac, re, sys, time
port, n, posts, flight, path, secret = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def token(email):
    tag = hmac.new(secret.encode(), b"trending.example.org\n" + email.lower().encode(), hashlib.sha256).digest()
    return f"{b64(email.encode())}.{b64(tag)}"
step = max(1, n // posts)
emails = [f"reader{i}@example{i % 97}.org" for i in range(0, n, step)][:posts]
body = b"List-Unsubscribe=One-Click"
async def one(email, sem, out):
    async with sem:
        t = time.perf_counter()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write((f"POST /unsubscribe?token={token(email)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
                 "Connection: close\r\n\r\n").encode() + body)
        await w.drain()
        data = await r.read()
        w.close()
        out.append((time.perf_counter() - t, int(data.split(b" ", 2)[1]) if data else 0))
async def main():
    sem, out = asyncio.Semaphore(flight), []
    await asyncio.gather(*(one(e, sem, out) for e in emails))
    return out
out = asyncio.run(main())
last = time.perf_counter()
lat = sorted(l for l, _ in out)
ok = sum(1 for _, s in out if s == 200)
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
# Until every unsubscribe is in the file (the baseline writes each before answering).
folded = None
deadline = last + 600
while time.perf_counter() < deadline:
    text = open(path, "rb").read()
    if text.count(b"\nunsubscribed_at = ") >= len(emails):
        folded = time.perf_counter() - last
        break
    time.sleep(0.2)
print(len(out), ok, f"{pct(0.5):.3f}", f"{pct(0.99):.3f}", "none" if folded is None else f"{folded:.1f}")
PY
    # Stop serve itself (GNU time's child), so that time reports its peak RSS.
    kill -TERM "$(pgrep -P "$SERVE_PID")"; wait "$SERVE_PID" || true; SERVE_PID=""
    local rss
    rss=$(python3 -c "import re,sys; print(round(int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', open(sys.argv[1]).read()).group(1))/1024))" "$WORK/serve-time.txt")
    read -r total ok p50 p99 folded <"$WORK/burst.txt"
    record "$n" "$who" "serve: $total POSTs, $flight in flight" "$p99" "$rss|$ok|$p50|$folded"
}

loads() {
    local who=$1 n=$2 pw=$3
    cp "$WORK/original.toml" "$LIST"
    rm -f "$LIST".changes "$LIST".unsubscribes "$LIST".unsubscribed
    rm -rf "$WORK/.paperwire"
    read -r w r c < <(timed "$pw" send --config "$CFG" --dry-run --edition "bench-$n")
    record "$n" "$who" "send --dry-run" "$w" "$r" "$c"
    read -r w r c < <(timed "$pw" check --config "$CFG")
    record "$n" "$who" "check" "$w" "$r" "$c"
}

for N in $SIZES; do
    python3 "$ROOT/benches/gen_subscribers.py" "$N" "$WORK/original.toml"
    BYTES=$(stat -c %s "$WORK/original.toml")
    echo "$N subscribers: $((BYTES / 1000000)) MB" >&2
    echo "$N	$BYTES" >>"$WORK/sizes.tsv"
    for who in ours baseline; do
        pw=$OURS
        if [ "$who" = baseline ]; then [ -n "$BASE" ] || continue; pw=$BASE; fi
        echo "  $who: edits" >&2
        edits "$who" "$N" "$pw"
        echo "  $who: serve" >&2
        if [ "$who" = ours ]; then
            serve_burst "$who" "$N" "$pw" "$POSTS" "$IN_FLIGHT"
        elif [ "$N" -le 100000 ]; then
            serve_burst "$who" "$N" "$pw" "$BASELINE_POSTS" "$BASELINE_POSTS"
        fi
        echo "  $who: send --dry-run, check" >&2
        loads "$who" "$N" "$pw"
    done
done

python3 - "$RESULTS" "$WORK/sizes.tsv" "$(nproc)" <<'PY'
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
sizes = dict(l.split() for l in open(sys.argv[2]))
by = collections.OrderedDict()
for n, who, op, a, b, cpu in rows:
    by.setdefault((n, op if not op.startswith("serve") else "serve"), {})[who] = (op, a, b, cpu)
print(f"\n{sys.argv[3]} cores. Wall time (CPU time: user + system) and peak RSS from `/usr/bin/time -v`; serve: p99 of the"
      " POST round trip, the server's peak RSS, and the time from the last answer until every"
      " unsubscribe was in subscribers.toml.\n")
print("| list | operation | baseline | this branch | ratio (wall) | goal | met |")
print("|---|---|---:|---:|---:|---|---|")
def goal(n, op, size):
    mb = int(size) / 1e6
    if op in ("add", "pause", "resume", "remove") or op.startswith("add, "):
        return (1.0, 2 * mb + 50) if n == "1000000" else (0.150, 60) if n == "100000" else (None, None)
    if op == "send --dry-run" and n == "1000000":
        return (None, 350)
    if op == "check" and n == "1000000":
        return (5.0, None)
    return (None, None)
for (n, op), who in by.items():
    size = sizes[n]
    label = f"{int(n):,} ({int(size)/1e6:.0f} MB)"
    if op == "serve":
        def cell(w):
            if w not in who:
                return "not run (each POST rewrites the list)"
            o, p99, rest, _ = who[w]
            rss, ok, p50, folded = rest.split("|")
            return f"{o.split(': ')[1]}: {ok} × 200, p50 {float(p50)*1000:.0f} ms, p99 {float(p99)*1000:.0f} ms, RSS {rss} MB, in the file after {folded} s"
        ours = who.get("ours")
        met = ""
        if ours:
            rss, ok, p50, folded = ours[2].split("|")
            total = ours[0].split(": ")[1].split()[0]
            met = "yes" if float(ours[1]) <= 1 and int(rss) <= 300 and ok == total and folded != "none" and float(folded) <= 30 else "NO"
        print(f"| {label} | serve | {cell('baseline')} | {cell('ours')} | | p99 ≤ 1 s, all 200, RSS ≤ 300 MB, folded ≤ 30 s | {met} |")
        continue
    def cell(w):
        if w not in who:
            return "n/a"
        _, wall, rss, cpu = who[w]
        secs = lambda x: f"{float(x)*1000:.0f} ms" if float(x) < 10 else f"{float(x):.1f} s"
        return f"{secs(wall)} ({secs(cpu)} CPU), {rss} MB"
    ratio = ""
    if "ours" in who and "baseline" in who:
        ratio = f"{float(who['baseline'][1]) / max(float(who['ours'][1]), 1e-3):.1f}× faster"
        ratio += f" (CPU {float(who['baseline'][3]) / max(float(who['ours'][3]), 1e-3):.1f}×)"
    wall_goal, rss_goal = goal(n, op, size)
    text, met = [], ""
    if wall_goal is not None:
        text.append(f"≤ {wall_goal*1000:.0f} ms" if wall_goal < 1 else f"≤ {wall_goal:.0f} s")
    if rss_goal is not None:
        text.append(f"≤ {rss_goal:.0f} MB")
    if "ours" in who and text:
        _, wall, rss, _ = who["ours"]
        ok = (wall_goal is None or float(wall) <= wall_goal) and (rss_goal is None or float(rss) <= rss_goal)
        met = "yes" if ok else "NO"
    print(f"| {label} | {op} | {cell('baseline')} | {cell('ours')} | {ratio} | {', '.join(text)} | {met} |")
PY
