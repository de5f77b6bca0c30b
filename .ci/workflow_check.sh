#!/usr/bin/env bash
# Why this exists: examples/github-actions/paperwire.yml is run by people who fork the
# repository, on a machine we never see. This checks it offline in two ways:
# 1. against GitHub's workflow JSON schema (check-jsonschema vendors it: no network);
# 2. by running its `run:` steps here (.ci/workflow/run_workflow.py) in a git clone of a local
#    "fork", with an SMTP server on 127.0.0.1 (aiosmtpd), the sample papers instead of Hugging
#    Face and a bare repository as `origin`: two editions sent, a rerun that sends nothing, the
#    state branch carrying the journal between runs, the archive built, and exit 75 and exit 2
#    each failing the job after the state is saved and the archive built.
# Every check prints PASS or FAIL; the last line is `N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
started=$SECONDS
passed=0
failed=0
check() { # check NAME CONDITION-EXIT-CODE WHY
  if [ "$2" -eq 0 ]; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1: $3"; failed=$((failed + 1)); fi
}
finish() {
  echo "workflow check took $((SECONDS - started))s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

if ! python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    'check-jsonschema>=0.29' 'pyyaml>=6' 'aiosmtpd>=1.4' >/dev/null; then
  check tools 1 "pip could not install check-jsonschema, pyyaml and aiosmtpd"; finish
fi
workflow=examples/github-actions/paperwire.yml

# --- 1. the schema ---------------------------------------------------------------------------
if out=$(python3 -m check_jsonschema --builtin-schema vendor.github-workflows "$workflow" 2>&1); then
  check "workflow schema" 0 ""
else
  check "workflow schema" 1 "$workflow does not match GitHub's workflow schema:"
  printf '%s\n' "$out" | sed 's/^/    /' | head -20
fi

# --- 2. the steps, run here -------------------------------------------------------------------
if ! cargo build --locked --quiet; then check build 1 "cargo build failed"; finish; fi
bin=$PWD/target/debug
work=$(mktemp -d)
trap 'kill "${smtpd_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c "import mailbox, sys; mailbox.Maildir(sys.argv[1], create=True)" "$work/mail"
python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$work/mail" &
smtpd_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done
mails() { find "$work/mail/new" -type f | wc -l; }

# Three days of papers from the bundled sample.
"$bin/paperwire" fetch -c paperwire.example.toml --out "$work/all.json" 2>/dev/null
python3 - "$work/all.json" "$work" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
papers = doc["papers"]
for day in range(3):
    part = dict(doc, papers=papers[day::3])
    json.dump(part, open(f"{sys.argv[2]}/day{day + 1}.json", "w"), indent=1)
EOF

# The "fork": the example as a user copies it, with two local changes: the sample papers as
# the source, and the paper file committed beside the config.
git init -q --bare -b main "$work/origin.git"
git clone -q "$work/origin.git" "$work/seed" 2>/dev/null
mkdir -p "$work/seed/.github/workflows"
cp "$workflow" "$work/seed/.github/workflows/paperwire.yml"
cp -r examples/github-actions/digest "$work/seed/digest"
python3 - "$work/seed/digest/paperwire.toml" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
local = text.replace('[[source]]\nkind = "huggingface"\n', '[[source]]\nkind = "file"\npath = "papers.json"\n')
assert local != text, "the example's [[source]] changed: update .ci/workflow_check.sh"
open(path, "w").write(local)
EOF
commit() { # commit MESSAGE: commits the seed and pushes it to origin
  git -C "$work/seed" add -A
  git -C "$work/seed" -c user.name=ci -c user.email=ci@example.org commit -q -m "$1"
  git -C "$work/seed" push -q origin HEAD:main 2>/dev/null
}
cp "$work/day1.json" "$work/seed/digest/papers.json"
commit "the fork"

subscribers='[[subscriber]]
email = "ada@example.org"
name  = "Ada"

[[subscriber]]
email  = "grace@example.org"
format = "text"

[[subscriber]]
email      = "alan@example.org"
max_papers = 3'

# run EVENT EDITION SMTP_URL: one workflow run in a fresh clone; its log in $work/run.log.
run() {
  rm -rf "$work/ws"
  git clone -q "$work/origin.git" "$work/ws" 2>/dev/null
  python3 .ci/workflow/run_workflow.py "$work/ws/.github/workflows/paperwire.yml" \
    --workspace "$work/ws" --event "$1" --input "edition=$2" \
    --secret PAPERWIRE_SECRET=workflow-check-secret \
    --secret "PAPERWIRE_SMTP_URL=$3" \
    --secret PAPERWIRE_SMTP_PASSWORD= \
    --secret "PAPERWIRE_SUBSCRIBERS=$subscribers" \
    --skip build --skip keepalive --path "$bin" \
    --override-env SEND_RETRY_WAIT=0 >"$work/run.log" 2>&1
}
state_has() { git -C "$work/origin.git" cat-file -e "paperwire-state:$1" 2>/dev/null; }
show_log() { sed 's/^/    /' "$work/run.log" | tail -40; }

run workflow_dispatch 2026-11-28 "smtp://127.0.0.1:$port"; rc=$?
check "first run succeeds" "$rc" "the job failed:"; [ "$rc" -eq 0 ] || show_log
[ "$(mails)" -eq 3 ]; check "first run sends 3 messages" $? "got $(mails)"
ok=0; for f in papers.json journal.jsonl report.json sections.json published.json; do
  state_has "editions/2026-11-28/$f" || { ok=1; echo "    missing editions/2026-11-28/$f"; }
done
check "the state branch holds the edition's state" $ok "see above"
! state_has send.lock; check "send.lock stays out of the state branch" $? "it was committed"
[ -f "$work/ws/digest/site/2026-11-28/index.html" ] && [ -f "$work/ws/digest/site/feed.xml" ]
check "the archive is built for Pages" $? "no digest/site/2026-11-28/index.html or feed.xml"
python3 - "$work/mail/new" <<'EOF'
import email, email.policy, os, sys
url = "https://your-name.github.io/your-repo/2026-11-28/"
found = 0
for name in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
    found += any(url in p.get_content() for p in parts)
sys.exit(0 if found == 3 else 1)
EOF
check "each email links to its page on Pages" $? "not every message has a View in browser link to https://your-name.github.io/your-repo/2026-11-28/"

run workflow_dispatch 2026-11-28 "smtp://127.0.0.1:$port"; rc=$?
check "a rerun of the edition succeeds" "$rc" "the job failed:"; [ "$rc" -eq 0 ] || show_log
[ "$(mails)" -eq 3 ]; check "a rerun sends nothing twice (journal from the state branch)" $? "now $(mails) messages"

cp "$work/day2.json" "$work/seed/digest/papers.json"; commit "day 2"
run schedule "" "smtp://127.0.0.1:$port"; rc=$?
check "a scheduled run sends today's edition" "$rc" "the job failed:"; [ "$rc" -eq 0 ] || show_log
[ "$(mails)" -eq 6 ]; check "today's edition goes to all 3" $? "now $(mails) messages"
grep -q -- "-- skip (--skip keepalive): Keep the schedule alive" "$work/run.log"
check "the keepalive step is due on a scheduled run" $? "its if: did not select it"
n=$(grep -c '<h2><a href="[^"]*/index.html">' "$work/ws/digest/site/index.html")
[ "$n" -eq 2 ]; check "the archive lists both editions" $? "index.html lists $n"

cp "$work/day3.json" "$work/seed/digest/papers.json"; commit "day 3"
run workflow_dispatch 2026-12-01 "smtp://127.0.0.1:$closed"; rc=$?
[ "$rc" -ne 0 ]; check "exit 75 fails the job" $? "the job succeeded with the SMTP server down"
[ "$(grep -c '"paperwire send" exited 75\|paperwire exited 75 (try again later)' "$work/run.log")" -eq 2 ]
check "exit 75 is tried again in the job" $? "expected 2 retries in the log"; 
grep -q "a temporary failure remained after every try" "$work/run.log"
check "the failing step says what 75 means" $? "no explanation in the log"
grep -q -- "-- run: Save the state directory to the state branch" "$work/run.log" \
  && grep -q -- "-- run: Build the web archive" "$work/run.log"
check "the state is saved and the archive built even when the send fails" $? "a step was skipped"


printf '\n[delivery]\nno_such_key = 1\n' >>"$work/seed/digest/paperwire.toml"; commit "a broken config"
run workflow_dispatch 2026-12-02 "smtp://127.0.0.1:$port"; rc=$?
[ "$rc" -ne 0 ] && grep -q "a usage, config or input error" "$work/run.log"
check "exit 2 fails the job and says why" $? "rc $rc"; [ "$rc" -ne 0 ] || show_log
finish
