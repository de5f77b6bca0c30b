#!/usr/bin/env python3
"""Why this exists: mail providers score a message before a reader sees it. This runs Debian's
SpamAssassin offline (`spamassassin -L -t`: local rules only, no DNS/network tests, Bayes and
auto-learning off, the rules shipped in the package — no sa-update) on every .eml and fails a
message whose score is above MAX_SCORE or that hits a rule family that means the markup or
the MIME structure is off (HTML_*, MIME_*, MPART_ALT_DIFF*, MISSING_*, EMPTY_MESSAGE).

Usage: check_spam.py OUTBOX_DIR
Prints one `PASS spamassassin <msg>` or `FAIL spamassassin <msg>: …` line per message.
"""
import concurrent.futures
import email
import email.policy
import os
import re
import subprocess
import sys
import tempfile

MAX_SCORE = 0.5
BANNED = re.compile(r"^(HTML_|MIME_|MPART_ALT_DIFF|MISSING_|EMPTY_MESSAGE)")
# HTML_MESSAGE only says "this message has an HTML part" and scores 0; every HTML email hits
# it, so it is informational, not a finding. It is allowed only while it scores ≤ 0.001.
INFORMATIONAL = {"HTML_MESSAGE"}


def run(path, home):
    cmd = ["spamassassin", "-L", "-t", "-x",
           "--cf=use_bayes 0", "--cf=bayes_auto_learn 0",
           "--cf=use_auto_whitelist 0", "--cf=skip_rbl_checks 1",
           "--cf=dns_available no"]
    with open(path, "rb") as f:
        p = subprocess.run(cmd, stdin=f, capture_output=True,
                           env={**os.environ, "HOME": home}, timeout=120)
    return p


def main():
    outbox = sys.argv[1]
    files = sorted(os.path.join(outbox, f) for f in os.listdir(outbox) if f.endswith(".eml"))
    failed = 0
    with tempfile.TemporaryDirectory() as home, \
            concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: (p, run(p, home)), files))
    for path, p in results:
        raw = open(path, "rb").read()
        to = str(email.message_from_bytes(raw, policy=email.policy.default).get("To", path))
        label = to.split("<")[-1].rstrip(">")
        out = p.stdout.decode("utf-8", "replace")
        m = re.search(r"^X-Spam-Status: .*?score=(-?[\d.]+).*?tests=(.*?)\s+autolearn",
                      out, re.M | re.S)
        if not m:
            failed += 1
            err = p.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            print(f"FAIL spamassassin {label}: SpamAssassin gave no X-Spam-Status "
                  f"(exit {p.returncode}): {err}")
            continue
        score = float(m.group(1))
        tests = [t for t in re.split(r"[,\s]+", m.group(2)) if t and t != "none"]
        # The -t report lists each rule with its points and description.
        table = {r: (float(pts), desc.strip()) for pts, r, desc in
                 re.findall(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s+(.*)$", out, re.M)}
        banned = [t for t in tests if BANNED.match(t)
                  and not (t in INFORMATIONAL and abs(table.get(t, (0.0,))[0]) <= 0.001)]
        problems = []
        if score > MAX_SCORE:
            hits = ", ".join(f"{t} ({table.get(t, ('?',))[0]})" for t in tests)
            problems.append(f"score {score} > {MAX_SCORE}; rules hit: {hits}")
        for t in banned:
            pts, desc = table.get(t, ("?", ""))
            problems.append(f"rule {t} ({pts} pts: {desc}) — fix the templates/headers "
                            "so it no longer fires")
        if problems:
            failed += 1
            print(f"FAIL spamassassin {label}: " + "; ".join(problems))
        else:
            print(f"PASS spamassassin {label} (score {score}, rules: {', '.join(tests)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
