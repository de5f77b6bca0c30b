#!/usr/bin/env python3
"""Writes an mbox of M bounce reports about the subscribers gen_subscribers.py writes, deterministically.

Each report is a Postfix DSN shaped like tests/fixtures/bounces/postfix-hard-5.1.1.eml (made by a
real Postfix): about 70 % hard (5.1.1), 20 % soft (4.7.1, Action: failed), and 10 % messages that
are no bounce at all (an out-of-office reply), which an import must skip. Each names a subscriber
reader<i>@example<i % 97>.org with i < N and quotes the Message-ID paperwire gave that reader's
message in one of 30 editions (paperwire.example.toml's list_id and From domain); every report
has its own Message-Id, so none is a duplicate of another. Usage: gen_bounces.py N M OUT
"""
import hashlib
import random
import sys

LIST_ID = "trending.example.org"

DSN = """From MAILER-DAEMON Mon Nov 30 08:24:25 2026
Return-Path: <>
Delivered-To: bounces@example.org
Date: Mon, 30 Nov 2026 08:24:25 +0000 (UTC)
From: Mail Delivery System <MAILER-DAEMON@mta.example.net>
Subject: Undelivered Mail Returned to Sender
To: bounces@example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B{k}/mta.example.net"
Message-Id: <2026113008{k:08d}.Q{k}@mta.example.net>

This is a MIME-encapsulated message.

--B{k}/mta.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mta.example.net.

<{rcpt}>: host mx.example.com[192.0.2.1] said: {code} {status} {text} (in
    reply to RCPT TO command)

--B{k}/mta.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.net
X-Postfix-Queue-ID: Q{k}
Arrival-Date: Mon, 30 Nov 2026 08:24:25 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; {code} {status} {text}

--B{k}/mta.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces@example.org>
From: Trending Papers <digest@example.org>
To: {rcpt}
Subject: Trending Papers, edition 2026-11-{day:02d}
Date: Mon, {day:02d} Nov 2026 07:00:00 +0000
Message-ID: <2026-11-{day:02d}.{hash}@example.org>

--B{k}/mta.example.net--

"""

AWAY = """From someone Mon Nov 30 08:24:25 2026
From: {rcpt}
To: digest@example.org
Subject: Out of office
Date: Mon, 30 Nov 2026 08:24:25 +0000
Message-Id: <away-{k}@example.com>

I am away until Monday.

"""


def main():
    n, m, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(17)
    with open(out, "w", encoding="utf-8") as f:
        for k in range(m):
            i = rng.randrange(n)
            rcpt = f"reader{i}@example{i % 97}.org"
            roll = rng.random()
            if roll < 0.10:
                f.write(AWAY.format(k=k, rcpt=rcpt))
                continue
            hard = roll < 0.80
            f.write(DSN.format(
                k=k,
                hash=hashlib.sha256(f"{LIST_ID}\n{rcpt}".encode()).hexdigest()[:20],
                rcpt=rcpt,
                day=rng.randint(1, 30),
                code=550 if hard else 451,
                status="5.1.1" if hard else "4.7.1",
                text="No such user" if hard else "Try again later",
            ))


if __name__ == "__main__":
    main()
