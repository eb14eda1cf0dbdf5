import numpy as np
import tensorflow as tf

from trainer.data import Encoded
from trainer.pipeline import PAD_TO_MULTIPLE_OF, build_dataset, epoch_order, steps_per_epoch


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
    out = batches(build_dataset(enc, global_batch_size=2))
    assert [y.tolist() for _, y in out] == [[0, 1], [2, 3], [4]]
    first, second = out[0][0], out[1][0]
    assert first["input_ids"].shape == (2, PAD_TO_MULTIPLE_OF)  # longest row 5 -> 8
    assert second["input_ids"].shape == (2, 16)  # longest row 11 -> 16
    assert first["input_ids"][0].tolist() == [1, 2, 3, 0, 0, 0, 0, 0]
    assert first["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]]
    assert first["token_type_ids"][1].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


def test_training_batches_are_full_shuffled_per_epoch_and_seeded() -> None:
    enc = encoded([2] * 10)

    def epoch(n: int, seed: int = 7, skip: int = 0) -> list[list[int]]:
        order = epoch_order(len(enc), 4, seed=seed, epoch=n, skip_steps=skip)
        return [y.tolist() for _, y in batches(build_dataset(enc, global_batch_size=4, order=order))]

    first = epoch(0)
    assert [len(b) for b in first] == [4, 4]  # the partial batch is dropped
    assert len({i for b in first for i in b}) == 8  # no row twice
    assert epoch(1) != first  # reshuffled every epoch
    assert epoch(0) == first  # the same order for the same seed and epoch, in any process
    assert epoch(0, seed=8) != first
    assert epoch(0, skip=1) == first[1:]  # a resumed epoch trains exactly the batches not reached
    for x, y in batches(build_dataset(enc, global_batch_size=4, order=epoch_order(10, 4, seed=1, epoch=0))):
        assert (x["input_ids"][:, 0] == 1 + 100 * y).all()  # every row keeps its own ids


def test_steps_per_epoch() -> None:
    assert steps_per_epoch(10, 4, drop_remainder=True) == 2
    assert steps_per_epoch(10, 4, drop_remainder=False) == 3
    assert steps_per_epoch(3, 4, drop_remainder=True) == 0
