#!/usr/bin/env bash
# Why this exists: the README's pictures of the digest must stay current with the templates.
# This renders the seed's digest (the bundled sample, bundled config) with `paperwire preview`
# and takes headless-Chromium screenshots at desktop (800 px) and phone (375 px) widths, in
# light and dark mode, into docs/. Needs Debian's chromium and the npm tools in .ci/quality
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
