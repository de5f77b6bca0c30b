#!/usr/bin/env bash
# Why this exists: readers judge paperwire by the email they see, and mail providers judge it
# first. This gate sends one edition of the bundled sample into a temporary outbox —
# to an HTML subscriber, a text-only one, one with a topic subset, one with a cap of 5 and one
# reading the catch-all (where papers from feeds with arXiv ids, links and CJK titles land) — and
# checks the .eml files with independent tools: Python's email (policy.strict, headers, Gmail
# clipping size, text part = HTML part, one accounting of what was left out that adds up, `-- `
# and a true reply line), SpamAssassin offline, html-validate, and headless Chromium (375 px
# overflow, footer padding, dark mode, axe-core including WCAG 2.2 target size). Every check
# prints PASS or FAIL with what to fix; the last line is `N passed, M failed`, and the exit
# status is non-zero on any failure.
# Installs what it lacks (apt: spamassassin, chromium; npm ci in .ci/quality) and caches nothing
# outside the repository.
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
quality=.ci/quality
started=$SECONDS
passed=0
failed=0

# Runs a helper that prints `PASS …` / `FAIL …` lines; counts them. A helper that fails without
# printing a FAIL line (it crashed) counts as one failure, with its output shown.
run_check() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | sed -n '/^\(PASS\|FAIL\) /!s/^/    /;p'
  local p f
  p=$(printf '%s\n' "$out" | grep -c '^PASS ')
  f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL $name: the check itself failed (exit $rc); see its output above"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
}

finish() {
  echo "email quality gate took $((SECONDS - started))s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# --- tools -------------------------------------------------------------------------------
missing=()
command -v spamassassin >/dev/null || missing+=(spamassassin)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt)"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"${TMPDIR:-/tmp}/email_quality_apt.log" 2>&1; then
    tail -20 "${TMPDIR:-/tmp}/email_quality_apt.log"
    echo "FAIL tools: apt-get could not install ${missing[*]}; see the log above"
    failed=$((failed + 1)); finish
  fi
fi
if [ ! -d "$quality/node_modules" ] || [ "$quality/package-lock.json" -nt "$quality/node_modules" ]; then
  echo "installing npm tools (npm ci in $quality)"
  if ! (cd "$quality" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "FAIL tools: npm ci in $quality failed; check network access to the npm registry"
    failed=$((failed + 1)); finish
  fi
fi

# --- one outbox send of the seed's digest -------------------------------------------------
if ! cargo build --locked --quiet; then
  echo "FAIL build: cargo build failed; fix the build first"
  failed=$((failed + 1)); finish
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp samples/daily-papers.txt "$work/papers.txt"
# Papers in the shapes of other sources too: arXiv ids (so abs/PDF/Hugging Face/Code links, the
# small targets), HTML descriptions, Chinese and Japanese titles. They land in the catch-all.
for f in hf-daily-papers-2024.sample.json aggregator-html.sample.xml cjk-titles.sample.xml; do
  cp "tests/fixtures/$f" "$work/$f"
done
cat >"$work/subscribers.toml" <<'EOF'
# The gate's five kinds of reader.
[[subscriber]]
email  = "html-reader@example.org"
name   = "Ada Lovelace"
format = "html"

[[subscriber]]
email  = "text-reader@example.org"
name   = "Grace Hopper"
format = "text"

[[subscriber]]
email  = "topic-reader@example.org"
name   = "Alan"
format = "html"
topics = ["Federated Learning", "Pruning & Compression"]

[[subscriber]]
email      = "capped-reader@example.org"
name       = "Katherine"
format     = "html"
max_papers = 5

[[subscriber]]
email  = "catch-all-reader@example.org"
name   = "Mary"
format = "html"
topics = ["More papers"]
EOF
sed -e 's#^path = "samples/daily-papers.txt"#path = "papers.txt"#' \
    -e 's#^path = "subscribers.example.toml"#path = "subscribers.toml"#' \
    -e 's#^transport *= .*#transport = "outbox"#' \
    -e 's#^outbox_dir *= .*#outbox_dir = "outbox"#' \
    -e 's#^dir = ".paperwire".*#dir = "state"#' \
    paperwire.example.toml >"$work/paperwire.toml"
for f in hf-daily-papers-2024.sample.json aggregator-html.sample.xml cjk-titles.sample.xml; do
  printf '\n[[source]]\nkind = "file"\npath = "%s"\n' "$f" >>"$work/paperwire.toml"
done
if ! PAPERWIRE_SECRET=email-quality-gate ./target/debug/paperwire send \
    --config "$work/paperwire.toml" >"$work/send.log" 2>&1; then
  cat "$work/send.log"
  echo "FAIL send: paperwire send to the outbox failed; see its output above"
  failed=$((failed + 1)); finish
fi
n=$(find "$work/outbox" -name '*.eml' | wc -l)
if [ "$n" -ne 5 ]; then
  echo "FAIL send: expected 5 messages in the outbox (HTML, text-only, topic subset, capped, catch-all), got $n"
  failed=$((failed + 1))
else
  echo "PASS send: 5 messages in the outbox"; passed=$((passed + 1))
fi
# Every paper of the sample is in a section (the catch-all is on): the accounting's total.
total=$(./target/debug/paperwire fetch --config "$work/paperwire.toml" 2>/dev/null \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["papers"]))')

# --- checks -------------------------------------------------------------------------------
echo "== MIME, headers, Gmail clipping, text part vs HTML part (Python email, policy.strict)"
run_check mail python3 "$quality/check_mail.py" "$work/outbox" "$work/html" "$total"
echo "== SpamAssassin (offline, local rules, Bayes off)"
run_check spamassassin python3 "$quality/check_spam.py" "$work/outbox"
html_files=("$work"/html/*.html)
if [ ! -e "${html_files[0]}" ]; then
  echo "FAIL html: no HTML part found to validate or render"
  failed=$((failed + 1)); finish
fi
echo "== html-validate (email config: $quality/htmlvalidate.cjs)"
for f in "${html_files[@]}"; do
  label=$(basename "$f" .html)
  if out=$("$quality/node_modules/.bin/html-validate" -c "$quality/htmlvalidate.cjs" \
      --formatter text "$f" 2>&1); then
    echo "PASS html-validate $label"; passed=$((passed + 1))
  else
    echo "FAIL html-validate $label: fix these in templates/ (line:col of the HTML part):"
    printf '%s\n' "$out" | sed "s#^$f:#    #" | head -20
    failed=$((failed + 1))
  fi
done
echo "== headless Chromium: 375 px phone, dark mode, axe-core"
run_check browser node "$quality/browser_check.mjs" "${html_files[@]}"
finish
