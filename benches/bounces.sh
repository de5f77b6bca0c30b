#!/usr/bin/env bash
# Bounce-import benchmark (issue 17): `paperwire bounces import` of an mbox of M reports against
# a list of N subscribers, the same mbox again (every report a duplicate: what a cron job that
# imports one Maildir every time costs), and one report piped on standard input with the bounce
# log already holding M reports (what an MTA alias costs per bounce).
#
# The baseline, run in the same script on the same list: `subscribers list --json`, which reads
# the list and its change log as every import must; the table gives each import as a ratio of it.
#
#   benches/bounces.sh                          # N = 100,000 subscribers, M = 10,000 and 100,000
#   SUBSCRIBERS=1000000 REPORTS="100000" benches/bounces.sh
#   PAPERWIRE_BIN=target/release/paperwire benches/bounces.sh   # a binary built before
#
# Peak RSS and wall time come from GNU time (`/usr/bin/time -v`, installed if missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${SUBSCRIBERS:-100000}
REPORTS=${REPORTS:-"10000 100000"}
PIPED=${PIPED:-20}

[ -x /usr/bin/time ] || {
    echo "installing GNU time ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
}

if [ -n "${PAPERWIRE_BIN:-}" ]; then
    PW=$(realpath "$PAPERWIRE_BIN")
else
    (cd "$ROOT" && cargo build --release --quiet)
    PW="${CARGO_TARGET_DIR:-$ROOT/target}/release/paperwire"
fi

WORK=$(mktemp -d /tmp/paperwire-bounce-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/samples"
cp "$ROOT/samples/daily-papers.txt" "$WORK/samples/"
sed -e 's|^path = "subscribers.example.toml"|path = "subscribers.toml"|' \
    "$ROOT/paperwire.example.toml" >"$WORK/paperwire.toml"
grep -q '^path = "subscribers.toml"' "$WORK/paperwire.toml" || { echo "config edit failed" >&2; exit 2; }
unset PAPERWIRE_CONFIG
CFG="$WORK/paperwire.toml"
LIST="$WORK/subscribers.toml"
STATE="$WORK/.paperwire"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# Runs a command under GNU time (stdin from $STDIN when set); prints "wall_seconds rss_mb".
timed() {
    /usr/bin/time -v -o "$WORK/time.txt" "$@" <"${STDIN:-/dev/null}" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
        echo "failed: $*" >&2; cat "$WORK/err.txt" >&2; exit 1; }
    python3 - "$WORK/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
print(int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3)), f"{rss:.0f}")
PY
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"; }

echo "generating $N subscribers ..." >&2
python3 "$ROOT/benches/gen_subscribers.py" "$N" "$WORK/original.toml"

for M in $REPORTS; do
    echo "M = $M reports ..." >&2
    python3 "$ROOT/benches/gen_bounces.py" "$N" "$M" "$WORK/bounces.mbox"
    cp "$WORK/original.toml" "$LIST"
    rm -rf "$STATE" "$LIST".changes

    read -r w r < <(timed "$PW" -c "$CFG" subscribers list --json)
    record "$M" "baseline: list --json" "$w" "$r" ""

    read -r w r < <(timed "$PW" -c "$CFG" bounces import --json "$WORK/bounces.mbox")
    summary=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["messages"], d["recorded"], len(d["skipped"]), len(d["retired"]))' "$WORK/out.txt")
    read -r messages recorded skipped retired <<<"$summary"
    [ "$messages" = "$M" ] || { echo "read $messages of $M messages" >&2; exit 1; }
    [ "$recorded" -gt 0 ] && [ "$skipped" -gt 0 ] || { echo "recorded $recorded, skipped $skipped" >&2; exit 1; }
    record "$M" "import" "$w" "$r" "$recorded new, $skipped skipped, $retired retired"

    before=$(cksum <"$STATE/bounces.jsonl")
    read -r w r < <(timed "$PW" -c "$CFG" bounces import --json "$WORK/bounces.mbox")
    [ "$(cksum <"$STATE/bounces.jsonl")" = "$before" ] || { echo "a re-import wrote to the bounce log" >&2; exit 1; }
    dups=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duplicates"])' "$WORK/out.txt")
    record "$M" "import again" "$w" "$r" "$dups duplicates"

    # One report on stdin, as an MTA alias pipes it (the first DSN of the mbox, seen before).
    awk 'NR > 1 && /^From /{exit} NR > 1 {print}' "$WORK/bounces.mbox" >"$WORK/one.eml"
    walls=()
    peak=0
    for _ in $(seq "$PIPED"); do
        read -r w r < <(STDIN="$WORK/one.eml" timed "$PW" -c "$CFG" bounces import -)
        walls+=("$w")
        [ "${r%.*}" -gt "$peak" ] && peak=${r%.*}
    done
    median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    record "$M" "one on stdin (median of $PIPED)" "$median" "$peak" ""
done

python3 - "$RESULTS" "$N" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
n = int(sys.argv[2])
print(f"\nbounces import against {n:,} subscribers (wall s, peak RSS MB; ratio = wall / baseline)\n")
print(f"{'reports':>8}  {'run':<32} {'wall s':>8} {'reports/s':>10} {'RSS MB':>7} {'ratio':>6}  notes")
base = {}
for m, what, wall, rss, notes in rows:
    m, wall = int(m), float(wall)
    if what.startswith("baseline"):
        base[m] = wall
    per_s = "" if what.startswith(("baseline", "one")) else f"{m / wall:,.0f}"
    ratio = f"{wall / base[m]:.2f}" if m in base and base[m] > 0 else "-"
    print(f"{m:>8,}  {what:<32} {wall:>8.2f} {per_s:>10} {rss:>7} {ratio:>6}  {notes}")
PY
