import numpy as np
import tensorflow as tf

from trainer.data import Encoded
from trainer.pipeline import PAD_TO_MULTIPLE_OF, build_dataset, steps_per_epoch


def encoded(lengths: list[int], with_types: bool = False) -> Encoded:
    ids = np.concatenate([np.arange(1, n + 1, dtype=np.int32) + 100 * i for i, n in enumerate(lengths)])
    types = np.concatenate([np.ones(n, np.int32) for n in lengths]) if with_types else None
    return Encoded(
        input_ids=ids, token_type_ids=types, lengths=np.array(lengths), labels=np.arange(len(lengths))
    )


def batches(ds: tf.data.Dataset) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    return [({k: v.numpy() for k, v in x.items()}, y.numpy()) for x, y in ds]


def test_eval_batches_keep_order_every_row_and_pad_per_batch_to_multiple_of_8() -> None:
    enc = encoded([3, 5, 11, 2, 4], with_types=True)
    out = batches(build_dataset(enc, global_batch_size=2, training=False, seed=0))
    assert [y.tolist() for _, y in out] == [[0, 1], [2, 3], [4]]
    first, second = out[0][0], out[1][0]
    assert first["input_ids"].shape == (2, PAD_TO_MULTIPLE_OF)  # longest row 5 -> 8
    assert second["input_ids"].shape == (2, 16)  # longest row 11 -> 16
    assert first["input_ids"][0].tolist() == [1, 2, 3, 0, 0, 0, 0, 0]
    assert first["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]]
    assert first["token_type_ids"][1].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


def test_training_batches_are_full_shuffled_per_epoch_and_seeded() -> None:
    enc = encoded([2] * 10)
    ds = build_dataset(enc, global_batch_size=4, training=True, seed=7)
    epoch1 = [y.tolist() for _, y in batches(ds)]
    epoch2 = [y.tolist() for _, y in batches(ds)]
    assert [len(b) for b in epoch1] == [4, 4]  # the partial batch is dropped
    assert epoch1 != epoch2
    again = [y.tolist() for _, y in batches(build_dataset(enc, global_batch_size=4, training=True, seed=7))]
    assert again == epoch1
    for x, y in batches(ds):  # every row keeps its own ids
        assert (x["input_ids"][:, 0] == 1 + 100 * y).all()


def test_steps_per_epoch() -> None:
    assert steps_per_epoch(10, 4, drop_remainder=True) == 2
    assert steps_per_epoch(10, 4, drop_remainder=False) == 3
    assert steps_per_epoch(3, 4, drop_remainder=True) == 0
