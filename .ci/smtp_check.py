#!/usr/bin/env python3
"""Independent check of one edition sent over SMTP: every message in the Maildir written by
aiosmtpd must parse with Python's `email` under policy.strict with zero defects, and carry the
headers a newsletter needs. Prints what failed in words a person can act on."""
import email
import email.policy
import mailbox
import sys

maildir, expected = sys.argv[1], int(sys.argv[2])
box = mailbox.Maildir(maildir, factory=None, create=False)
problems = []
count = 0
bad_messages = 0
for key in box.keys():
    raw = box.get_bytes(key)
    count += 1
    before = len(problems)
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as e:  # strict raises on the first defect
        problems.append(f"message {key}: not valid under policy.strict: {e}")
        bad_messages += 1
        continue
    to = msg.get("To", "?")
    for part in msg.walk():
        if part.defects:
            problems.append(f"{to}: MIME defects {part.defects}")
    for name in ["From", "To", "Subject", "Date", "Message-ID", "List-Id",
                 "List-Unsubscribe", "List-Unsubscribe-Post"]:
        if msg.get(name) is None:
            problems.append(f"{to}: missing header {name}")
    lu = str(msg.get("List-Unsubscribe", ""))
    if "<https://" not in lu or "<mailto:" not in lu:
        problems.append(f"{to}: List-Unsubscribe lacks an https and a mailto URI: {lu!r}")
    for line in raw.splitlines():
        if len(line) > 998:
            problems.append(f"{to}: a line of {len(line)} octets (limit 998)")
            break
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    if any(b > 127 for b in head):
        problems.append(f"{to}: raw 8-bit bytes in the headers")
    if len(problems) > before:
        bad_messages += 1
if count != expected:
    problems.append(f"expected {expected} messages, the SMTP server received {count}")
for p in problems:
    print("FAIL:", p)
print(f"{count - bad_messages} passed, {bad_messages + (count != expected)} failed: independent SMTP check (aiosmtpd + email policy.strict)")
sys.exit(1 if problems else 0)
