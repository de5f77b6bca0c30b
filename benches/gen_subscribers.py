#!/usr/bin/env python3
"""Writes a subscribers.toml with N subscribers and a realistic mix, deterministically.

A third have no topics (every section); the rest one to three of the sample config's
sections; about 15 % text-only, about 20 % capped (5, 10 or 20 papers); some names are
non-ASCII (RFC 2047 in To), some are missing. Usage: gen_subscribers.py N OUT
"""
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


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(8)
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
        lines.append("")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
