"""Multi-worker helpers: meeting the peers (with a deadline), sharding choice, chief-only writes."""

import socket
import threading
import time
from pathlib import Path

import pytest
import tensorflow as tf

from trainer.distribute.rendezvous import unreachable, wait_for_peers
from trainer.distribute.strategy import (
    chief_or_temp_dir,
    choose_sharding,
    describe,
    input_shard_policy,
    is_chief,
    make_strategy,
    num_workers,
    shard_policy,
    strategy_name,
)
from trainer.errors import RetryableError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sharding_is_by_file_only_with_a_file_source_and_a_file_per_worker() -> None:
    assert choose_sharding(8, 1)[0] == "OFF"
    assert choose_sharding(8, 4)[0] == "DATA"  # tokenized in memory: no files in the tf.data pipeline
    assert choose_sharding(8, 4, file_source=True)[0] == "FILE"
    assert choose_sharding(4, 4, file_source=True)[0] == "FILE"
    mode, reason = choose_sharding(3, 4, file_source=True)
    assert mode == "DATA" and "only 3 file(s) for 4 workers" in reason
    assert shard_policy("DATA") == tf.data.experimental.AutoShardPolicy.DATA
    assert shard_policy("FILE") == tf.data.experimental.AutoShardPolicy.FILE


def test_single_worker_strategies_are_their_own_chief() -> None:
    strategy = make_strategy()
    assert is_chief(strategy) and num_workers(strategy) == 1
    assert strategy_name(strategy) == "MirroredStrategy"
    facts = describe(strategy)
    assert facts["workers"] == 1 and facts["replicas"] == 2
    assert input_shard_policy(strategy, 5) == tf.data.experimental.AutoShardPolicy.OFF


def test_the_chief_writes_to_the_real_path(tmp_path: Path) -> None:
    with chief_or_temp_dir(tmp_path / "model", make_strategy()) as target:
        assert target == tmp_path / "model"
        target.mkdir()
    assert (tmp_path / "model").is_dir()


def test_workers_starting_in_any_order_meet() -> None:
    ports = [free_port(), free_port()]
    hosts = [f"127.0.0.1:{p}" for p in ports]
    errors: list[BaseException] = []
    done = threading.Event()
    met: list[int] = []

    def worker(i: int, delay: float) -> None:
        time.sleep(delay)
        try:
            wait_for_peers(hosts[i], (hosts[1 - i],), 10, poll_seconds=0.05)
        except BaseException as e:
            errors.append(e)
            return
        # The port was released for TensorFlow's server; stand in for it until the other worker is through.
        with socket.create_server(("", ports[i])):
            met.append(i)
            done.wait(10)

    threads = [threading.Thread(target=worker, args=(0, 0.5)), threading.Thread(target=worker, args=(1, 0.0))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 12
    while len(met) + len(errors) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    for t in threads:
        t.join(15)
    assert not errors


def test_a_missing_peer_is_a_retryable_error_naming_it() -> None:
    own, missing = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(RetryableError, match=f"no answer from {missing} ") as raised:
        wait_for_peers(own, (missing,), 0.3, poll_seconds=0.05)
    assert time.monotonic() - started < 5
    assert raised.value.exit_code == 75
    assert unreachable([missing]) == [missing]
    assert unreachable(["no-such-host.invalid:2222"]) == ["no-such-host.invalid:2222"]


def test_a_lost_peer_becomes_a_retryable_error_naming_it() -> None:
    from trainer.distribute.strategy import LOST_PEER_ERRORS, peer_lost

    aborted = tf.errors.UnavailableError(
        None,
        None,
        "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are unhealthy "
        "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.",
    )
    assert isinstance(aborted, LOST_PEER_ERRORS)
    error = peer_lost(aborted)
    assert error.exit_code == 75
    assert str(error).startswith("training stopped because /job:worker/replica:0/task:1 left the group")
    assert "resumes from the newest checkpoint" in str(peer_lost(tf.errors.AbortedError(None, None, "x")))
