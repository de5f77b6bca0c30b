#!/usr/bin/env python3
"""Why this exists: the email-quality gate (.ci/email_quality.sh) needs an independent reading
of the .eml files paperwire wrote, by a parser that is not lettre. For every message it checks
RFC 5322/2045 well-formedness under Python's `email` policy.strict, the headers a bulk sender
must carry, the Gmail clipping size of the encoded HTML part, and that the text part says what
the HTML part says; that the text part signs off with RFC 3676's `-- ` separator and says what
happens to replies truly for the message's headers (Reply-To or not); and that what the email
leaves out is counted once — its "N more in <section>" lines and its closing line add up, and
with the papers shown make the edition's total. It also writes each decoded HTML part to
OUT_DIR for the browser and validator checks.

Usage: check_mail.py OUTBOX_DIR OUT_DIR [EDITION_TOTAL]
Prints one `PASS <check>` or `FAIL <check>: <what to do>` line per check and message.
"""
import email
import email.policy
import html.parser
import os
import re
import sys

GMAIL_CLIP_BYTES = 100 * 1024  # Gmail clips at ~102 KB of encoded HTML; keep a margin
REQUIRED = ["From", "To", "Subject", "Date", "Message-ID", "List-Id",
            "List-Unsubscribe", "List-Unsubscribe-Post"]


class Visible(html.parser.HTMLParser):
    """Collects hrefs, heading texts and visible words of an HTML part."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs, self.headings, self.words = [], [], []
        self._skip = 0
        self._heading = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("style", "title", "head"):
            self._skip += 1
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("style", "title", "head"):
            self._skip = max(0, self._skip - 1)
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._heading is not None:
            self._heading.append(data)
        self.words.extend(re.findall(r"\w+", data.lower()))


def words_of(text):
    return re.findall(r"\w+", text.lower())


CLOSING = re.compile(r"^(\d+) more papers? (?:is|are) not in this email — (.*)\.$")
PER_SECTION = re.compile(r"^(\d+) more in (.+?)(?:: https?://\S+)?$")


def paragraphs(text):
    """The text part's paragraphs, each joined onto one line."""
    return [" ".join(l.strip() for l in p.splitlines()) for p in text.split("\n\n")]


def check_accounting(text, total, label, report):
    """Papers shown + what each section left out + the rest of the closing line's causes must
    be the edition's total, and a closing line with several causes must add up."""
    shown = sum(1 for line in text.splitlines() if line.startswith("* "))
    per_section = [int(m.group(1)) for m in map(PER_SECTION.match, text.splitlines()) if m]
    closing = [m for m in map(CLOSING.match, paragraphs(text)) if m]
    problems = []
    if len(closing) > 1:
        problems.append(f"{len(closing)} closing lines; there must be one accounting")
    left = int(closing[0].group(1)) if closing else 0
    why = closing[0].group(2) if closing else ""
    numbered = [int(n) for n in re.findall(r"(?:^|, | and )(\d+) ", why)]
    if len(numbered) > 1 and sum(numbered) != left:
        problems.append(f"the closing line's causes add up to {sum(numbered)}, not {left}: {why!r}")
    outside = sum(int(n) for n in re.findall(r"(\d+) (?:outside your topics|matching no section)", why))
    if len(numbered) <= 1 and re.search(r"outside your topics|matching no section", why):
        outside = left
    if sum(per_section) + outside != left:
        problems.append(f"the sections' 'N more' lines add up to {sum(per_section)} and the other "
                        f"causes to {outside}, but the closing line says {left}")
    if total is not None and shown + left != total:
        problems.append(f"{shown} papers shown + {left} left out = {shown + left}, "
                        f"not the edition's {total}")
    report(not problems, f"left-out-adds-up {label}",
           "; ".join(problems) + " — fix the accounting in src/render/model.rs")


def check_footer(msg, text, label, report):
    """`-- ` (RFC 3676) before the footer, and the reply sentence true for the headers."""
    problems = []
    if "\n-- \n" not in text:
        problems.append("no `-- ` signature separator line (dash dash space) before the footer")
    reply_to = msg.get("Reply-To")
    sender = str(msg.get("From", ""))
    joined = " ".join(text.split())
    if reply_to is not None:
        addr = str(reply_to).split("<")[-1].rstrip(">").strip()
        if f"Replies reach the editors at {addr}." not in joined:
            problems.append(f"Reply-To is {addr} but the footer does not say replies reach it")
    else:
        addr = sender.split("<")[-1].rstrip(">").strip()
        if "Replies reach the editors" in joined:
            problems.append("no Reply-To, yet the footer says replies reach the editors")
        if f"Replies go to {addr}." not in joined and "takes no replies" not in joined:
            problems.append(f"no Reply-To: the footer should say replies go to {addr}")
    report(not problems, f"footer-replies+signature {label}", "; ".join(problems))


def check(path, out_dir, report, total=None):
    raw = open(path, "rb").read()
    name = os.path.basename(path)
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as e:  # strict raises on the first defect
        report(False, f"mime-strict {name}", f"not parseable under policy.strict: {e}")
        return None
    who = str(msg.get("To", name))
    label = who.split("<")[-1].rstrip(">")

    problems = []
    for part in msg.walk():
        if part.defects:
            problems.append(f"MIME defects in a {part.get_content_type()} part: {part.defects}")
    long_lines = [i + 1 for i, line in enumerate(raw.split(b"\n")) if len(line.rstrip(b"\r")) > 998]
    if long_lines:
        problems.append(f"line(s) {long_lines[:5]} exceed 998 octets (RFC 5322 2.1.1); "
                        "the body must be quoted-printable/base64 encoded or wrapped")
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    if any(b > 127 for b in head):
        problems.append("raw 8-bit bytes in the headers; encode them (RFC 2047) instead")
    for h in REQUIRED:
        if msg.get(h) is None:
            problems.append(f"missing header {h} (set it in src/deliver/message.rs)")
    lu = str(msg.get("List-Unsubscribe", ""))
    if "<https://" not in lu or "<mailto:" not in lu:
        problems.append(f"List-Unsubscribe needs an <https://…> and a <mailto:…> URI, got {lu!r}")
    if str(msg.get("List-Unsubscribe-Post", "")).strip() != "List-Unsubscribe=One-Click":
        problems.append("List-Unsubscribe-Post must be exactly 'List-Unsubscribe=One-Click' "
                        "(RFC 8058)")
    report(not problems, f"mime-strict+headers {label}", "; ".join(problems))

    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    if text_part is None:
        report(False, f"text-part {label}", "no text/plain part; every message needs one")
        return None
    plain = text_part.get_content().replace("\r\n", "\n")
    check_accounting(plain, total, label, report)
    check_footer(msg, plain, label, report)
    if html_part is None:
        return {"label": label, "html": None}

    # Gmail clips the message view when the HTML part, as transmitted, exceeds ~102 KB.
    encoded = html_part.get_payload(decode=False)
    size = len(encoded.encode("ascii", "replace")) if isinstance(encoded, str) else len(encoded)
    report(size < GMAIL_CLIP_BYTES, f"gmail-clip {label}",
           f"HTML part is {size} bytes as encoded (limit {GMAIL_CLIP_BYTES}); "
           "trim the templates' markup or lower HTML_BUDGET_BYTES in src/render/mod.rs")

    # The text part must carry what the HTML part carries: every heading and every link.
    html_text = html_part.get_content()
    text = text_part.get_content()
    v = Visible()
    v.feed(html_text)
    text_words = set(words_of(text))
    missing_links = sorted({h for h in v.hrefs if h not in text and not h.startswith("#")})
    # A heading in a script without spaces (Chinese, Japanese) is wrapped between characters.
    squashed = "".join(text.split())
    missing_heads = [h for h in v.headings
                     if not set(words_of(h)) <= text_words and "".join(h.split()) not in squashed]
    html_only = sorted(set(v.words) - text_words)
    issues = []
    if missing_links:
        issues.append(f"{len(missing_links)} link(s) of the HTML part are not in the text part, "
                      f"e.g. {missing_links[:3]}; add them to templates/*.txt.hbs")
    if missing_heads:
        issues.append(f"heading(s) missing from the text part: {missing_heads[:3]}")
    if len(html_only) > 10:
        issues.append(f"{len(html_only)} words appear only in the HTML part, e.g. "
                      f"{html_only[:10]}; make templates/digest.txt.hbs say the same")
    report(not issues, f"text-matches-html {label}", "; ".join(issues))

    out = os.path.join(out_dir, re.sub(r"[^A-Za-z0-9@.-]+", "_", label) + ".html")
    with open(out, "w", encoding="utf-8") as f:
        f.write(html_text)
    return {"label": label, "html": out}


def main():
    outbox, out_dir = sys.argv[1], sys.argv[2]
    total = int(sys.argv[3]) if len(sys.argv) > 3 else None
    os.makedirs(out_dir, exist_ok=True)
    failed = 0

    def report(ok, what, why):
        nonlocal failed
        if ok:
            print(f"PASS {what}")
        else:
            failed += 1
            print(f"FAIL {what}: {why}")

    files = sorted(f for f in os.listdir(outbox) if f.endswith(".eml"))
    if not files:
        report(False, "outbox", f"no .eml files in {outbox}; did `paperwire send` run?")
    for f in files:
        check(os.path.join(outbox, f), out_dir, report, total)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
