#!/usr/bin/env python3
"""Why this exists: feed readers judge the archive's feed.xml, not paperwire's own tests. This
parses it with Python's feedparser (an independent parser) and checks: no parse problem
(bozo == 0), Atom 1.0, a title and an update time, and entries (newest first) each with a
title, a unique id, a time, content, and a link that, resolved against the feed, is the
edition's page under BASE_URL and exists in SITE_DIR.

Usage: check_feed.py SITE_DIR BASE_URL EXPECTED_ENTRIES
Prints `PASS …` / `FAIL …` lines; exits non-zero on a failure.
"""
import os
import sys

import feedparser

site, base, expected = sys.argv[1], sys.argv[2].rstrip("/") + "/", int(sys.argv[3])
failed = 0


def check(ok, what, why):
    global failed
    print(f"PASS {what}" if ok else f"FAIL {what}: {why}")
    failed += 0 if ok else 1


feed = feedparser.parse(os.path.join(site, "feed.xml"))
check(feed.bozo == 0, "feed parses cleanly (bozo == 0)", repr(feed.get("bozo_exception")))
check(feed.version == "atom10", "feed is Atom 1.0", f"feedparser reads it as {feed.version!r}")
check(bool(feed.feed.get("title")) and feed.feed.get("updated_parsed") is not None,
      "feed has a title and an update time", f"title {feed.feed.get('title')!r}")
check(len(feed.entries) == expected, f"feed has {expected} entries", f"it has {len(feed.entries)}")
ids = [e.get("id") for e in feed.entries]
check(len(set(ids)) == len(ids) and all(ids), "entry ids are unique", f"{ids}")
times = [e.get("updated_parsed") for e in feed.entries]
check(all(times) and times == sorted(times, reverse=True), "entries are dated, newest first", f"{times}")
bad = []
for e in feed.entries:
    link = e.get("link", "")
    rel = link[len(base):] if link.startswith(base) else None
    if not e.get("title") or not e.get("content"):
        bad.append(f"{link}: no title or content")
    elif rel is None or not rel.endswith("/index.html"):
        bad.append(f"{link!r} is not an edition page under {base}")
    elif not os.path.isfile(os.path.join(site, rel)):
        bad.append(f"{link} has no file {rel} in {site}")
check(not bad, "every entry links to its edition's page", "; ".join(bad))
sys.exit(1 if failed else 0)
