#!/usr/bin/env bash
# Why this exists: issue 14's acceptance is a reader's whole path through a real browser.
# This starts `paperwire serve` (signup open, outbox transport) on loopback and drives Debian's
# headless Chromium with playwright-core through it: the signup form, the confirmation message
# read from the outbox, the confirm button, the subscriber on the list at once (the change log)
# and in subscribers.toml with the chosen topics once serve has folded the log; then a digest
# sent with `paperwire send`, its "Manage your subscription" link, new topics saved on the
# preference page, the next send following them, and that digest's Unsubscribe link (its page
# changes nothing, its button unsubscribes). On the way every page
# is checked at a 375 px phone width and in dark mode with axe-core (no serious or critical
# violation), and the pages' HTML with html-validate. Each check prints PASS or FAIL; the last
# line is `N passed, M failed`, and the exit status is non-zero on any failure.
# SCREENSHOTS=DIR also writes the README's pictures of the form and the preference page there.
# Installs what it lacks (apt: chromium; npm ci in .ci/quality) and caches nothing outside the
# repository.
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
quality=.ci/quality

fail_setup() {
  echo "FAIL setup: $1"
  echo "0 passed, 1 failed"
  exit 1
}

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt)"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } \
    >"${TMPDIR:-/tmp}/signup_e2e_apt.log" 2>&1 \
    || { tail -20 "${TMPDIR:-/tmp}/signup_e2e_apt.log"; fail_setup "apt-get could not install chromium"; }
fi
if [ ! -d "$quality/node_modules" ] || [ "$quality/package-lock.json" -nt "$quality/node_modules" ]; then
  echo "installing npm tools (npm ci in $quality)"
  (cd "$quality" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || fail_setup "npm ci in $quality failed; check network access to the npm registry"
fi
cargo build --locked --quiet || fail_setup "cargo build failed"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cp samples/daily-papers.txt "$work/papers.txt"
cat >"$work/subscribers.toml" <<'EOF'
# One reader from before; the test signs up another.
[[subscriber]]
email = "ada@example.org"
name  = "Ada"
EOF
# The bundled sample's sections, served at $base so the links in messages open here.
sed -e "s#^base_url *= .*#base_url = \"$base\"#" \
    -e 's#^path = "samples/daily-papers.txt"#path = "papers.txt"#' \
    -e 's#^path = "subscribers.example.toml"#path = "subscribers.toml"#' \
    -e 's#^transport *= .*#transport = "outbox"#' \
    -e 's#^outbox_dir *= .*#outbox_dir = "outbox"#' \
    -e 's#^dir = ".paperwire".*#dir = "state"#' \
    paperwire.example.toml >"$work/paperwire.toml"
if grep -q '^\[serve\]' "$work/paperwire.toml"; then
  sed -i -e 's#^signup *= .*#signup = true#' "$work/paperwire.toml"
else
  printf '\n[serve]\nsignup = true\n' >>"$work/paperwire.toml"
fi

export PAPERWIRE_SECRET=signup-e2e-secret-long-enough
./target/debug/paperwire serve --config "$work/paperwire.toml" --listen "127.0.0.1:$port" \
  >"$work/serve.log" 2>&1 &
server=$!
answers() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$base/subscribe" 2>/dev/null
}
for _ in $(seq 100); do
  answers && break
  sleep 0.1
done
answers || { cat "$work/serve.log"; fail_setup "paperwire serve did not answer on $base"; }

node "$quality/signup_e2e.mjs" "$base" "$work" "$PWD/target/debug/paperwire"
status=$?
if [ "$status" -ne 0 ]; then
  echo "    serve's log:"
  sed 's/^/    /' "$work/serve.log" | tail -30
fi
exit "$status"
