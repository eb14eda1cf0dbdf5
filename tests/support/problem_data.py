"""Toy data of the other problem types, from the topic sentences: a score per row (regression) and a set of
topics per row (multi-label), both learnable by the tiny test model in a few epochs."""

import json
import random
from pathlib import Path

from support.toy_data import FILLER, TOPICS

SCORES = {"food": 1.25, "sports": 2.5, "weather": 3.75}
"""A regression target per topic: non-integer, so the label column is read as scores."""


def scored(n: int, *, seed: int) -> list[tuple[str, str]]:
    """`n` (text, score) rows: each text has keywords of one topic, its score that topic's."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = tuple(TOPICS)[i % len(TOPICS)]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 6))]
        for _ in range(2):
            words.insert(rng.randrange(len(words) + 1), rng.choice(TOPICS[topic]))
        rows.append((" ".join(words), str(SCORES[topic])))
    return rows


def tagged(n: int, *, seed: int) -> list[tuple[str, list[str]]]:
    """`n` (text, topics) rows: one or two topics per row, each with two of its keywords in the text."""
    rng = random.Random(seed)
    names = sorted(TOPICS)
    rows = []
    for i in range(n):
        topics = sorted(rng.sample(names, 1 + i % 2))
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 5))]
        for topic in topics:
            for _ in range(2):
                words.insert(rng.randrange(len(words) + 1), rng.choice(TOPICS[topic]))
        rows.append((" ".join(words), topics))
    return rows


def write_jsonl(path: Path, rows: list[tuple[str, list[str]]]) -> Path:
    path.write_text("".join(json.dumps({"review": t, "topics": labels}) + "\n" for t, labels in rows))
    return path
