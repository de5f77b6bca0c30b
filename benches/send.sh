#!/usr/bin/env bash
# Throughput benchmark: paperwire send vs Postfix's smtp-source into smtp-sink.
#
#   benches/send.sh            # 10,000 and 100,000 subscribers, 16 connections
#   SIZES="1000" CONCURRENCY=8 PORT=2600 REPEAT=2 benches/send.sh
#   PAPERWIRE_BIN=path/to/paperwire benches/send.sh   # measure that binary, build nothing
#
# One run, one machine: installs Postfix (for smtp-sink/smtp-source, no daemon) and GNU time if
# missing, builds the release binary, measures the ceiling with smtp-source, then sends the
# edition to generated subscriber lists and prints a Markdown table. Then the personalized
# mix: the same lists with every subscriber given interests, followed authors and liked papers
# (one in ten a mute), sent after the same list without them; the second table gives both
# rates, their ratio and peak RSS (REPEAT=n: the best of n runs of each).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-2525}
CONCURRENCY=${CONCURRENCY:-16}
SIZES=${SIZES:-"10000 100000"}
CEILING_MSGS=${CEILING_MSGS:-20000}
REPEAT=${REPEAT:-1}

need_apt=()
command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ] || need_apt+=(postfix)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing ${need_apt[*]} ..." >&2
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
find_tool() {
    for d in /usr/sbin /usr/lib/postfix/sbin /usr/bin; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return; }
    done
    echo "cannot find $1" >&2; exit 2
}
SINK=$(find_tool smtp-sink)
SOURCE=$(find_tool smtp-source)

# PAPERWIRE_BIN: measure a binary built elsewhere instead of building this checkout.
if [ -n "${PAPERWIRE_BIN:-}" ]; then
    PW=$PAPERWIRE_BIN
else
    (cd "$ROOT" && cargo build --release --quiet)
    PW="${CARGO_TARGET_DIR:-$ROOT/target}/release/paperwire"
fi

WORK=$(mktemp -d /tmp/paperwire-bench.XXXXXX)
SINK_PID=""
cleanup() {
    if [ -n "$SINK_PID" ]; then
        kill "$SINK_PID" 2>/dev/null || true
        wait "$SINK_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/samples"
cp "$ROOT/samples/daily-papers.txt" "$WORK/samples/"
# The example config, pointed at the generated subscribers, SMTP, and our concurrency; its
# papers are the seed with arXiv ids and authors (written below), so that likes and followed
# authors have something to find.
sed -e 's|^path = "subscribers.example.toml"|path = "subscribers.toml"|' \
    -e 's|^path = "samples/daily-papers.txt"|path = "papers.json"|' \
    -e 's|^transport      = "outbox"|transport      = "smtp"|' \
    -e "s|^concurrency    = 8 |concurrency    = $CONCURRENCY |" \
    "$ROOT/paperwire.example.toml" >"$WORK/paperwire.toml"
grep -q "^concurrency    = $CONCURRENCY " "$WORK/paperwire.toml" || { echo "config edit failed" >&2; exit 2; }
export PAPERWIRE_SMTP_URL="smtp://127.0.0.1:$PORT" PAPERWIRE_SECRET=bench-secret
unset PAPERWIRE_CONFIG

# The seed as paperwire JSON, then with ids and authors, and an earlier edition to like from.
sed -e 's|^path = "papers.json"|path = "samples/daily-papers.txt"|' "$WORK/paperwire.toml" >"$WORK/seed.toml"
"$PW" fetch --config "$WORK/seed.toml" --out "$WORK/raw.json" 2>/dev/null
python3 "$ROOT/benches/gen_subscribers.py" 1 "$WORK/unused.toml" --personal \
    "$WORK/raw.json" "$WORK/papers.json" "$WORK/earlier.json"
fresh_state() {
    rm -rf "$WORK/.paperwire"
    mkdir -p "$WORK/.paperwire/editions/2000-01-01"
    cp "$WORK/earlier.json" "$WORK/.paperwire/editions/2000-01-01/papers.json"
}

"$SINK" -u nobody "127.0.0.1:$PORT" 1024 &
SINK_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
# Our messages, as `preview --eml` writes them (the same bytes `send` sends): the full digest
# (every section) and the median-size message of the subscriber mix below.
python3 "$ROOT/benches/gen_subscribers.py" 100 "$WORK/subscribers.toml"
mkdir -p "$WORK/eml"
for i in $(seq 0 59); do
    "$PW" preview --config "$WORK/paperwire.toml" --eml --subscriber "reader$i@example$((i % 97)).org" --out "$WORK/eml/$i.eml"
done
FULL_EML=$(ls -S "$WORK"/eml/*.eml | head -1)
MEDIAN_EML=$(ls -S "$WORK"/eml/*.eml | sed -n 30p)
FULL_BYTES=$(stat -c %s "$FULL_EML")
MEDIAN_BYTES=$(stat -c %s "$MEDIAN_EML")

# smtp-source's rate with one message (16 sessions, one connection each for all messages).
ceiling() {
    local t0 t1
    t0=$(now)
    "$SOURCE" -s 16 -d -m "$CEILING_MSGS" -F "$1" "127.0.0.1:$PORT"
    t1=$(now)
    python3 -c "print(round($CEILING_MSGS/($t1-$t0)))"
}
C_FULL=$(ceiling "$FULL_EML")
C_MEDIAN=$(ceiling "$MEDIAN_EML")
echo "ceiling before: full digest ($FULL_BYTES B) $C_FULL/s, median message ($MEDIAN_BYTES B) $C_MEDIAN/s" >&2

# preview of the 90-paper seed (bundled config), best of 7.
PREVIEW_MS=$(python3 - "$PW" <<'PY'
import subprocess, sys, time
best = 1e9
for _ in range(7):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "preview"], check=True, cwd="/tmp", stdout=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - t)
print(f"{best*1000:.1f}")
PY
)

# One send of the list in subscribers.toml; sets DELIVERED SEND_SECONDS WALL RSS_MB BUILD
# SENDT VARIANTS BYTES.
send_once() {
    fresh_state
    /usr/bin/time -v -o "$WORK/time.txt" \
        "$PW" send --config "$WORK/paperwire.toml" --edition "bench-$1" --json >"$WORK/report.json"
    read -r DELIVERED SEND_SECONDS WALL RSS_MB BUILD SENDT VARIANTS BYTES < <(python3 - "$WORK" <<'PY'
import json, re, sys
w = sys.argv[1]
r = json.load(open(f"{w}/report.json"))
t = open(f"{w}/time.txt").read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
print(r["delivered"], r["seconds"], wall, f"{rss:.0f}", r.get("build_seconds", -1),
      r.get("send_seconds", -1), r["variants"], r.get("message_bytes", 0))
PY
)
    if [ "$DELIVERED" != "$2" ]; then echo "only $DELIVERED of $2 delivered" >&2; cat "$WORK/report.json" >&2; exit 1; fi
}

RAW=()
PERSONAL=()
for N in $SIZES; do
    python3 "$ROOT/benches/gen_subscribers.py" "$N" "$WORK/plain.toml"
    python3 "$ROOT/benches/gen_subscribers.py" "$N" "$WORK/personal.toml" --personal \
        "$WORK/raw.json" "$WORK/papers.json" "$WORK/earlier.json"
    BEST_PLAIN=""
    BEST_PERSONAL=""
    for r in $(seq "$REPEAT"); do
        cp "$WORK/plain.toml" "$WORK/subscribers.toml"
        send_once "$N" "$N"
        if [ -z "$BEST_PLAIN" ] || python3 -c "import sys; sys.exit(0 if $WALL < ${BEST_PLAIN%% *} else 1)"; then
            BEST_PLAIN="$WALL $RSS_MB"
            [ "$r" = 1 ] && RAW+=("$N $DELIVERED $WALL $SEND_SECONDS $RSS_MB $BUILD $SENDT $VARIANTS $BYTES")
        fi
        cp "$WORK/personal.toml" "$WORK/subscribers.toml"
        send_once "$N-personal" "$N"
        if [ -z "$BEST_PERSONAL" ] || python3 -c "import sys; sys.exit(0 if $WALL < ${BEST_PERSONAL%% *} else 1)"; then
            BEST_PERSONAL="$WALL $RSS_MB $BUILD $BYTES"
        fi
    done
    PERSONAL+=("$N $BEST_PLAIN $BEST_PERSONAL")
done

C_FULL2=$(ceiling "$FULL_EML")
C_MEDIAN2=$(ceiling "$MEDIAN_EML")
echo "ceiling after: full digest $C_FULL2/s, median message $C_MEDIAN2/s" >&2
[ "$C_FULL2" -gt "$C_FULL" ] && C_FULL=$C_FULL2
[ "$C_MEDIAN2" -gt "$C_MEDIAN" ] && C_MEDIAN=$C_MEDIAN2

echo
echo "Ceiling: \`smtp-source -s 16 -d -m $CEILING_MSGS -F msg.eml\` into \`smtp-sink\`, the higher of a measurement before and after the sends: **$C_MEDIAN msgs/s** with the median-size message of the mix ($MEDIAN_BYTES bytes), $C_FULL msgs/s with the full digest ($FULL_BYTES bytes). paperwire: $CONCURRENCY connections, no DKIM, the whole process (load, render, send) timed by \`/usr/bin/time -v\`. \`preview\` of the 90-paper seed: **$PREVIEW_MS ms** (best of 7). $(nproc) cores."
echo
echo "| subscribers | variants | mean size | wall | msgs/s | of smtp-source (median msg) | of smtp-source (full digest) | peak RSS | ms/msg | per message: build / SMTP round trips |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for raw in "${RAW[@]}"; do
    python3 - $raw "$C_MEDIAN" "$C_FULL" "$CONCURRENCY" <<'PY'
import sys
n, d, wall, secs, rss, build, sendt, var, nbytes, cmed, cfull, conc = sys.argv[1:]
n, d, wall, rss, build, sendt = int(n), int(d), float(wall), float(rss), float(build), float(sendt)
nbytes, cmed, cfull = int(nbytes), int(cmed), int(cfull)
rate = d / wall
split = "n/a" if build < 0 else f"{build/d*1e6:.0f} µs / {sendt/d*1e3:.2f} ms (per worker, {conc} in parallel)"
mean = f"{nbytes/d/1000:.1f} KB" if nbytes else "n/a"
print(f"| {n:,} | {var} | {mean} | {wall:.2f} s | {rate:,.0f} | {rate/cmed:.0%} | {rate/cfull:.0%} | {rss:.0f} MB | {wall/d*1e3:.3f} | {split} |")
PY
done

echo
echo "Personalized mix (every subscriber with interests, followed authors and likes; one in ten a mute), against the same list without them, sent right before it (best of $REPEAT):"
echo
echo "| subscribers | without: msgs/s | with: msgs/s | ratio (goal ≥ 0.8) | peak RSS without | peak RSS with (goal ≤ 200 MB) | mean size with | build per message with |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|"
for row in "${PERSONAL[@]}"; do
    python3 - $row "$CONCURRENCY" <<'PY'
import sys
n, wall_a, rss_a, wall_b, rss_b, build_b, bytes_b, conc = sys.argv[1:]
n, wall_a, wall_b, build_b, bytes_b = int(n), float(wall_a), float(wall_b), float(build_b), int(bytes_b)
a, b = n / wall_a, n / wall_b
print(f"| {n:,} | {a:,.0f} | {b:,.0f} | {b/a:.2f} | {float(rss_a):.0f} MB | {float(rss_b):.0f} MB | {bytes_b/n/1000:.1f} KB | {build_b/n*1e6:.0f} µs (per worker, {conc} in parallel) |")
PY
done
