import numpy as np
import tensorflow as tf

from trainer.data.tokens import Encoded, TokenWriter
from trainer.distribute.plan import PAD_TO_MULTIPLE_OF, bucket_lengths
from trainer.pipeline import build_dataset, epoch_order, length_sorted


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


def test_memory_mapped_token_files_give_the_same_batches_read_per_batch(tmp_path) -> None:
    """--no-keep-in-memory: each batch's rows are read from the mapped files, not copied into a tensor first."""
    enc = encoded([3, 5, 11, 2, 4, 7, 1], with_types=True)
    writer = TokenWriter(tmp_path)
    writer.append(enc.take(range(4)))
    writer.append(enc.take(range(4, 7)))
    mapped = writer.finish()
    assert isinstance(mapped.input_ids, np.memmap)
    order = epoch_order(len(enc), 2, seed=1, epoch=0, lengths=enc.lengths)
    for kwargs in ({"order": order, "drop_remainder": True}, {"pad_to_multiple_of": 1}):
        in_memory = batches(build_dataset(enc, global_batch_size=2, **kwargs))
        streamed = batches(
            build_dataset(mapped.take(range(7)), global_batch_size=2, in_memory=False, **kwargs)
        )
        assert len(streamed) == len(in_memory)
        for (x, y), (x2, y2) in zip(in_memory, streamed, strict=True):
            assert y.tolist() == y2.tolist()
            assert x.keys() == x2.keys()
            for name in x:
                assert x[name].tolist() == x2[name].tolist(), name


def test_group_by_length_keeps_batches_random_but_cuts_padding() -> None:
    lengths = np.random.default_rng(0).integers(3, 60, size=2000)
    batch = 32

    def padded_tokens(order: np.ndarray) -> int:
        return int(lengths[order.reshape(-1, batch)].max(axis=1).sum() * batch)

    grouped = epoch_order(len(lengths), batch, seed=5, epoch=0, lengths=lengths)
    plain = epoch_order(len(lengths), batch, seed=5, epoch=0)
    assert len(grouped) == 62 * batch and len(set(grouped.tolist())) == len(grouped)
    assert padded_tokens(grouped) < 0.6 * padded_tokens(plain)
    batch_max = lengths[grouped.reshape(-1, batch)].max(axis=1)
    assert batch_max[0] == lengths[grouped].max()  # the longest batch first: out-of-memory shows at step 1
    assert (np.diff(batch_max[1:]) > 0).any() and (np.diff(batch_max[1:]) < 0).any()  # not sorted: shuffled
    again = epoch_order(len(lengths), batch, seed=5, epoch=0, lengths=lengths)
    assert (again == grouped).all()
    assert not (epoch_order(len(lengths), batch, seed=5, epoch=1, lengths=lengths) == grouped).all()
    resumed = epoch_order(len(lengths), batch, seed=5, epoch=0, skip_steps=3, lengths=lengths)
    assert (resumed == grouped[3 * batch :]).all()
    # Each batch is drawn from a window of shuffled rows, not from a global sort: the same length class
    # (say the shortest rows) lands in batches spread over the epoch.
    shortest = set(np.argsort(lengths, kind="stable")[:batch].tolist())
    holding = {i for i, rows in enumerate(grouped.reshape(-1, batch)) if shortest & set(rows.tolist())}
    assert len(holding) > 1


def test_buckets_bound_the_shapes_xla_compiles() -> None:
    assert bucket_lengths(128) == [16, 32, 64, 128]
    assert bucket_lengths(100) == [16, 32, 64, 104]
    assert bucket_lengths(16) == [16]
    enc = encoded([3, 20, 5, 70])
    out = batches(build_dataset(enc, global_batch_size=2, buckets=bucket_lengths(128)))
    assert [x["input_ids"].shape[1] for x, _ in out] == [32, 128]
    assert [x["attention_mask"].sum(axis=1).tolist() for x, _ in out] == [[3, 20], [5, 70]]


def test_evaluation_order_is_shortest_first_and_covers_every_row() -> None:
    enc = encoded([9, 2, 30, 2, 5])
    order = length_sorted(enc.lengths)
    assert order.tolist() == [1, 3, 4, 0, 2]
    out = batches(build_dataset(enc, global_batch_size=2, order=order))
    assert [y.tolist() for _, y in out] == [[1, 3], [4, 0], [2]]  # the last partial batch is kept
    assert [x["input_ids"].shape[1] for x, _ in out] == [8, 16, 32]


def test_pad_to_multiple_of_is_a_setting() -> None:
    out = batches(build_dataset(encoded([3, 5]), global_batch_size=2, pad_to_multiple_of=1))
    assert out[0][0]["input_ids"].shape == (2, 5)
