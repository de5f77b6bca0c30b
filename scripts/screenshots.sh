#!/usr/bin/env bash
# Why this exists: the README's pictures of the digest must stay current with the templates.
# This renders the seed's digest (the bundled sample, bundled config) with `paperwire preview`
# and takes headless-Chromium screenshots at desktop (800 px) and phone (375 px) widths, in
# light and dark mode, into docs/; then the web archive of six editions of the sample (its index
# and newest page, docs/archive-*.png). Needs Debian's chromium and the npm tools in .ci/quality
# (installed here if missing, as .ci/email_quality.sh does). Run it after changing templates/
# and commit the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -d .ci/quality/node_modules ]; then
  (cd .ci/quality && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cargo build --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fixed edition keeps the pictures identical from day to day.
./target/debug/paperwire preview --edition 2026-11-28 --out "$work/digest.html"
mkdir -p docs
node .ci/quality/screenshots.mjs "$work/digest.html" "${OUT_DIR:-docs}"

# The web archive: six editions of the sample (small ones, then a big one) sent to an outbox
# with [archive] dir set, then its index and newest edition page.
./target/debug/paperwire fetch -c paperwire.example.toml --out "$work/all.json" 2>/dev/null
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
doc = json.load(open(f"{work}/all.json"))
papers = doc["papers"]
parts = [papers[i:i + 10] for i in range(0, 50, 10)] + [papers[50:]]
for i, part in enumerate(parts):
    json.dump(dict(doc, papers=part), open(f"{work}/day{i}.json", "w"))
PY
sed -e "s#^path = \"subscribers.example.toml\"#path = \"$PWD/subscribers.example.toml\"#" \
    -e "s#^path = \"samples/daily-papers.txt\"#path = \"$PWD/samples/daily-papers.txt\"#" \
    -e 's#^dir = ".paperwire".*#dir = "state"#' paperwire.example.toml >"$work/paperwire.toml"
printf '\n[archive]\ndir = "site"\n' >>"$work/paperwire.toml"
for i in 0 1 2 3 4 5; do
  PAPERWIRE_SECRET=screenshots ./target/debug/paperwire send -c "$work/paperwire.toml" \
    --edition "2026-11-2$((3 + i))" --papers "$work/day$i.json" >/dev/null
done
node .ci/quality/site_screenshots.mjs "$work/site" 2026-11-28 "${OUT_DIR:-docs}"
