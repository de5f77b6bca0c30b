#!/usr/bin/env bash
# Sends one edition of the bundled sample to an independent SMTP server (Python's aiosmtpd,
# installed here) and checks every received message with Python's email parser.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'aiosmtpd>=1.4' >/dev/null
work=$(mktemp -d)
trap 'kill "${smtpd_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c "import mailbox, sys; mailbox.Maildir(sys.argv[1], create=True)" "$work/mail"
python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$work/mail" &
smtpd_pid=$!
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.1
done
cp samples/daily-papers.txt "$work/papers.txt"
cp subscribers.example.toml "$work/subscribers.toml"
sed -e 's#^path = "samples/daily-papers.txt"#path = "papers.txt"#' \
    -e 's#^path = "subscribers.example.toml"#path = "subscribers.toml"#' \
    -e 's#^transport *= "outbox".*#transport = "smtp"#' \
    -e "s#^smtp_url *= .*#smtp_url = \"smtp://127.0.0.1:$port\"#" \
    paperwire.example.toml > "$work/paperwire.toml"
expected=$(grep -c '^\[\[subscriber\]\]' "$work/subscribers.toml")
PAPERWIRE_SECRET=ci-secret ./target/debug/paperwire send --config "$work/paperwire.toml"
python3 .ci/smtp_check.py "$work/mail" "$expected"
