"""Write the demo data set: customer-support messages labelled billing, shipping or technical.

Sentences are composed from hand-written openings, issues and closings per topic, with a fixed seed, so the files
in demo/data/ are reproducible: `python demo/make_data.py demo/data`. The last issues of every topic appear only
in dev.csv, so the evaluation measures phrasings the model never saw in training.
"""

import csv
import random
import sys
from pathlib import Path

OPENINGS = ("Hi,", "Hello team,", "Good morning.", "Hey there,", "Quick question:", "Please help.", "")
CLOSINGS = ("Thanks!", "Can you fix this?", "Please advise.", "What should I do?", "This is urgent.", "")
ISSUES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for my subscription this month",
        "my invoice shows the wrong amount",
        "the refund for my cancelled order never arrived",
        "my credit card was declined although it is valid",
        "I want to change the payment method on my account",
        "why did the price of my plan go up",
        "I need a copy of last year's receipts for my taxes",
        "the discount code was not applied at checkout",
        "I cancelled but you still billed me",
        "there is a fee on my statement I do not recognise",
        "please send the invoice to my company address",
        "can I pay annually instead of monthly",
    ),
    "shipping": (
        "my package has not arrived after two weeks",
        "the tracking number does not work",
        "the parcel was delivered to the wrong address",
        "the box arrived damaged and the glass is broken",
        "can I change the delivery address for my order",
        "the courier left without ringing the bell",
        "how long does delivery to Canada take",
        "one item is missing from the package",
        "I would like to return the shoes, how do I send them back",
        "the delivery date keeps moving",
        "can you ship the order to a pick-up point",
        "the parcel is stuck in customs",
    ),
    "technical": (
        "the app crashes every time I open settings",
        "I cannot log in, the password reset email never comes",
        "the website shows an error 500 when I upload a file",
        "the sync between my phone and laptop stopped working",
        "the update broke the dark mode",
        "my account is locked after two-factor authentication failed",
        "the export to PDF produces an empty page",
        "notifications do not show up on Android",
        "the page loads forever in Firefox",
        "the API returns a timeout for every request",
        "I get a blank screen after the latest version",
        "the search does not find documents I just saved",
    ),
}


HELD_OUT = 3
"""Issues per topic kept out of training."""


def rows(n: int, rng: random.Random, *, held_out: bool) -> list[tuple[str, str]]:
    out = []
    labels = sorted(ISSUES)
    for i in range(n):
        label = labels[i % len(labels)]
        issues = ISSUES[label][-HELD_OUT:] if held_out else ISSUES[label][:-HELD_OUT]
        parts = [rng.choice(OPENINGS), rng.choice(issues) + ".", rng.choice(CLOSINGS)]
        text = " ".join(p for p in parts if p)
        out.append((text[0].upper() + text[1:], label))
    rng.shuffle(out)
    return out


def write(path: Path, data: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("message", "topic"))
        writer.writerows(data)


def main(dest: Path) -> int:
    rng = random.Random(20261127)
    dest.mkdir(parents=True, exist_ok=True)
    write(dest / "train.csv", rows(360, rng, held_out=False))
    write(dest / "dev.csv", rows(90, rng, held_out=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo/data")))
