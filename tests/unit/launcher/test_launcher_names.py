import re

import pytest

from launcher import names


@pytest.mark.parametrize("name", ["a", "reviews-42", "0abc", "a" * 63, "x-y-z"])
def test_valid_names(name: str) -> None:
    assert names.validate(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "cannot be empty"),
        ("a" * 64, "at most 63"),
        ("Reviews", "DNS-1123"),
        ("-a", "DNS-1123"),
        ("a-", "DNS-1123"),
        ("a_b", "DNS-1123"),
        ("a.b", "DNS-1123"),
    ],
)
def test_invalid_names_say_why(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        names.validate(name)


@pytest.mark.parametrize(
    ("prefix", "start"),
    [
        ("bert-base-cased", "bert-base-cased-"),
        ("google/bert_uncased_L-2_H-128", "bert-uncased-l-2-h-128-"),
        ("///", "train-"),
        ("s3://bucket/models/My Model!", "my-model-"),
        ("x" * 100, "x" * 57 + "-"),
    ],
)
def test_generated_names_are_valid_and_readable(prefix: str, start: str) -> None:
    name = names.generate(prefix)
    assert name.startswith(start)
    assert re.fullmatch(r"[a-z0-9]{5}", name.rsplit("-", 1)[1])
    assert names.validate(name) == name


def test_generated_names_are_unique() -> None:
    assert len({names.generate() for _ in range(500)}) == 500
