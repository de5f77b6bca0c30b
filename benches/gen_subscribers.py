#!/usr/bin/env python3
"""Writes a subscribers.toml with N subscribers and a realistic mix, deterministically.

A third have no topics (every section); the rest one to three of the sample config's
sections; about 15 % text-only, about 20 % capped (5, 10 or 20 papers); some names are
non-ASCII (RFC 2047 in To), some are missing. Usage: gen_subscribers.py N OUT

The personalized mix (`--personal RAW.json PAPERS.json EARLIER.json`) gives *every* subscriber
one to three interests, one or two followed authors and one to three liked papers, and one in
ten a mute keyword. RAW.json is the day's list as `paperwire fetch` writes it; the script writes
it again as PAPERS.json with arXiv ids and authors, and writes EARLIER.json, an earlier edition
whose papers (near-duplicates of some of today's, under other ids) are what readers liked.
"""
import json
import random
import sys

SECTIONS = [
    "Federated Learning", "Pruning & Compression", "Vision Transformers", "Segmentation",
    "Losses & Optimization", "Generative Models", "Graphs", "Language & Multimodal Models",
]
FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances",
         "Jürgen", "Zoë", "Søren", "Łukasz", "José", "Hélène", "李", "Müller", "Ngọc", "Ana"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen",
        "Schmidhuber", "García", "Øster", "Nowak", "O'Brien", "Иванова", "Smith"]
INTERESTS = [
    "federated", "client drift", "prun*", "sparse", "quantiz*", "vision transformer*", "ViT",
    "segmentation", "loss function*", "cross-entropy", "optimi*", "diffusion", "generative",
    "GAN", "graph neural network*", "message passing", "language model*", "multimodal",
    "reinforcement learning", "distillation", "attention", "benchmark*", "robust*", "fairness",
    "contrastive", "self-supervised", "3D", "video", "reasoning", "retrieval",
]
MUTES = ["benchmark*", "survey", "GAN", "medical", "video", "LLM*"]


def personal_papers(raw_path, papers_path, earlier_path, rng):
    """Today's papers with ids and authors; an earlier edition of near-duplicates to like."""
    papers = json.load(open(raw_path, encoding="utf-8"))["papers"]
    authors = [f"{f} {l}" for f in FIRST for l in LAST]
    for i, p in enumerate(papers):
        p["id"] = f"2405.{20000 + i:05d}"
        p["authors"] = rng.sample(authors, 3)
    json.dump({"paperwire": "papers/1", "papers": papers}, open(papers_path, "w", encoding="utf-8"))
    earlier = []
    for i, p in enumerate(papers[::3]):
        words = p["abstract"].split()
        earlier.append({
            "id": f"2404.{10000 + i:05d}",
            "title": "Revisiting " + p["title"],
            "abstract": " ".join(w for j, w in enumerate(words) if j % 7 != 3),
        })
    json.dump({"paperwire": "papers/1", "papers": earlier}, open(earlier_path, "w", encoding="utf-8"))
    return papers, earlier


def quoted(items):
    return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in items) + "]"


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(8)
    # The personal fields draw from their own generator: the rest of the mix is the same
    # with and without them.
    prng = random.Random(10)
    personal = None
    if len(sys.argv) > 3 and sys.argv[3] == "--personal":
        papers, earlier = personal_papers(sys.argv[4], sys.argv[5], sys.argv[6], random.Random(9))
        personal = (sorted({a for p in papers for a in p["authors"]}), [e["id"] for e in earlier])
    lines = []
    for i in range(n):
        lines.append("[[subscriber]]")
        lines.append(f'email = "reader{i}@example{i % 97}.org"')
        if rng.random() < 0.85:
            lines.append(f'name = "{rng.choice(FIRST)} {rng.choice(LAST)}"')
        if rng.random() >= 1 / 3:
            k = rng.randint(1, 3)
            topics = ", ".join(f'"{t}"' for t in rng.sample(SECTIONS, k))
            lines.append(f"topics = [{topics}]")
        if rng.random() < 0.15:
            lines.append('format = "text"')
        if rng.random() < 0.20:
            lines.append(f"max_papers = {rng.choice([5, 10, 20])}")
        if personal:
            authors, liked = personal
            lines.append(f"interests = {quoted(prng.sample(INTERESTS, prng.randint(1, 3)))}")
            lines.append(f"authors = {quoted(prng.sample(authors, prng.randint(1, 2)))}")
            lines.append(f"like = {quoted(prng.sample(liked, prng.randint(1, 3)))}")
            if prng.random() < 0.10:
                lines.append(f"mute = {quoted([prng.choice(MUTES)])}")
        lines.append("")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
