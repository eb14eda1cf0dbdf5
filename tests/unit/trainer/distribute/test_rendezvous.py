"""Workers meeting before TensorFlow starts: in any order, or a retryable error naming the missing ones."""

import socket
import threading
import time

import pytest

from trainer.distribute.rendezvous import unreachable, wait_for_peers
from trainer.errors import RetryableError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
