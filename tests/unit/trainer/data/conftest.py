from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tokenizer(tiny_bert: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert)
