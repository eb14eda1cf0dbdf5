import numpy as np

from trainer.data import tokens


def test_truncation_and_compact_ids(tokenizer) -> None:
    encoded = tokens.tokenize([["the rain " * 20]], np.zeros(1, np.int32), tokenizer, max_length=6)
    assert encoded.lengths.tolist() == [6]
    assert encoded.input_ids.dtype == np.int32
    assert tokens.ids_dtype(30_522) == np.uint16 and tokens.ids_dtype(250_002) == np.int32
