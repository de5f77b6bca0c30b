#!/usr/bin/env bash
# Why this exists: the web archive is read in browsers and feed readers we do not control. This
# gate sends 32 editions of the bundled sample into a temporary outbox with `[archive] dir` set
# (one big edition, then small ones, so the index has a second range page) and checks the site
# with independent tools: html-validate on every page, Python's feedparser on feed.xml (bozo 0,
# every entry linking to its page), and headless Chromium with axe-core on the index, a range
# page and the big edition (375 px, dark mode, no serious violation). It also checks that the
# emails link to their edition's page, and runs the email gate's checks on the emails that
# carry those links. Every check prints PASS or FAIL; the last line is
# `N passed, M failed`, and the exit status is non-zero on any failure.
# Installs what it lacks (apt: chromium; npm ci in .ci/quality; pip: feedparser).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
quality=.ci/quality
started=$SECONDS
passed=0
failed=0

run_check() {
  local name=$1; shift
  local out rc p f
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | sed -n '/^\(PASS\|FAIL\) /!s/^/    /;p'
  p=$(printf '%s\n' "$out" | grep -c '^PASS ')
  f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: the check itself failed (exit $rc); see its output above"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
}
note() { if [ "$2" -eq 0 ]; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1: $3"; failed=$((failed + 1)); fi; }
finish() {
  echo "archive quality gate took $((SECONDS - started))s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# --- tools -------------------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt)"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } \
      >"${TMPDIR:-/tmp}/archive_quality_apt.log" 2>&1; then
    tail -20 "${TMPDIR:-/tmp}/archive_quality_apt.log"
    note tools 1 "apt-get could not install chromium"; finish
  fi
fi
if [ ! -d "$quality/node_modules" ] || [ "$quality/package-lock.json" -nt "$quality/node_modules" ]; then
  echo "installing npm tools (npm ci in $quality)"
  (cd "$quality" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || { note tools 1 "npm ci in $quality failed"; finish; }
fi
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'feedparser>=6' \
  >/dev/null || { note tools 1 "pip could not install feedparser"; finish; }
cargo build --locked --quiet || { note build 1 "cargo build failed"; finish; }

# --- 32 editions into an outbox, the archive beside them ----------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=https://digest.example.org/archive
./target/debug/paperwire fetch -c paperwire.example.toml --out "$work/all.json" 2>/dev/null
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
doc = json.load(open(f"{work}/all.json"))
papers = doc["papers"]
parts = [papers[:59]] + [[p] for p in papers[59:]]
for i, part in enumerate(parts[:32]):
    json.dump(dict(doc, papers=part), open(f"{work}/day{i:02}.json", "w"))
PY
cat >"$work/subscribers.toml" <<'TOML'
[[subscriber]]
email      = "capped@example.org"
name       = "Ada"
max_papers = 5

[[subscriber]]
email  = "text@example.org"
format = "text"
TOML
sed -e 's#^path = "subscribers.example.toml"#path = "subscribers.toml"#' \
    -e 's#^dir = ".paperwire".*#dir = "state"#' \
    paperwire.example.toml >"$work/paperwire.toml"
printf '\n[archive]\ndir = "site"\nbase_url = "%s"\n' "$base" >>"$work/paperwire.toml"
ok=0
for i in $(seq 0 31); do
  day=$(date -u -d "2026-10-01 + $i days" +%F)
  n=$(printf '%02d' "$i")
  PAPERWIRE_SECRET=archive-gate ./target/debug/paperwire send -c "$work/paperwire.toml" \
    --edition "$day" --papers "$work/day$n.json" >"$work/send.log" 2>&1 \
    || { ok=1; cat "$work/send.log"; break; }
  # The first (big) edition's messages are checked as email below.
  if [ "$i" -eq 0 ] && [ -d "$work/outbox" ]; then mv "$work/outbox" "$work/first-outbox"; fi
done
note "32 editions sent to the outbox" $ok "paperwire send failed; see above"
site=$work/site
n=$(find "$site" -mindepth 2 -name index.html | wc -l)
[ "$n" -eq 32 ]; note "the archive has a page per edition" $? "found $n edition pages"
grep -rlq "$base/2026-10-31/" "$work/outbox"
note "the emails link to their edition's page" $? "no $base/2026-10-31/ in the outbox"

# --- checks -------------------------------------------------------------------------------
echo "== html-validate (web config: $quality/htmlvalidate-web.cjs), every page"
mapfile -t pages < <(cd "$site" && find . -name '*.html' | sed 's#^\./##' | sort)
if out=$(cd "$site" && "$OLDPWD/$quality/node_modules/.bin/html-validate" \
    -c "$OLDPWD/$quality/htmlvalidate-web.cjs" --formatter text "${pages[@]}" 2>&1); then
  note "html-validate ${#pages[@]} pages" 0 ""
else
  note "html-validate ${#pages[@]} pages" 1 "fix these in templates/web/:"
  printf '%s\n' "$out" | head -20 | sed 's/^/    /'
fi
echo "== feed.xml (Python feedparser)"
run_check feed python3 "$quality/check_feed.py" "$site" "$base" 10
echo "== headless Chromium: 375 px phone, dark mode, axe-core"
run_check browser node "$quality/site_check.mjs" "$site" index.html pages/2.html 2026-10-01/index.html
# The email with its links into the archive ("View in browser", "N more in <section>"): the
# email gate's own checks (the text part must carry every link of the HTML part).
echo "== the emails with archive links (the email gate's checks)"
run_check mail python3 "$quality/check_mail.py" "$work/first-outbox" "$work/html"
for f in "$work"/html/*.html; do
  if out=$("$quality/node_modules/.bin/html-validate" -c "$quality/htmlvalidate.cjs" \
      --formatter text "$f" 2>&1); then
    note "html-validate email $(basename "$f" .html)" 0 ""
  else
    note "html-validate email $(basename "$f" .html)" 1 "fix these in templates/:"
    printf '%s\n' "$out" | head -20 | sed 's/^/    /'
  fi
done
run_check email-browser node "$quality/browser_check.mjs" "$work"/html/*.html
finish
