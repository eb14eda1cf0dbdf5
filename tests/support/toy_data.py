"""Learnable toy classification data: each sentence carries keywords of its class among shared filler words."""

import csv
import random
from pathlib import Path

TOPICS: dict[str, tuple[str, ...]] = {
    "food": ("pasta", "bread", "cheese", "soup", "salad", "pizza"),
    "sports": ("football", "tennis", "goal", "match", "racket", "stadium"),
    "weather": ("rain", "snow", "sunny", "storm", "cloudy", "wind"),
}
FILLER = (
    "the",
    "a",
    "today",
    "we",
    "saw",
    "about",
    "some",
    "really",
    "very",
    "and",
    "it",
    "was",
    "talk",
    "news",
)


def vocabulary() -> list[str]:
    return sorted({*FILLER, *(w for words in TOPICS.values() for w in words)})


def sentences(n: int, *, seed: int, labels: tuple[str, ...] = tuple(TOPICS)) -> list[tuple[str, str]]:
    """`n` (text, label) rows, balanced over `labels`, deterministic for a seed."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        for _ in range(rng.randint(2, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(TOPICS[label]))
        rows.append((" ".join(words), label))
    rng.shuffle(rows)
    return rows


def write_csv(
    path: Path,
    rows: list[tuple[str, str]],
    *,
    header: tuple[str, str] = ("text", "label"),
    delimiter: str = ",",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path
