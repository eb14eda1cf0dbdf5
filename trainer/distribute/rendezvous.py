"""Workers meet before TensorFlow starts: plain TCP on each worker port, with a deadline.

TensorFlow's MultiWorkerMirroredStrategy waits forever for a missing peer (and ignores SIGTERM meanwhile), so
`distribute` calls `wait_for_peers` first. No TensorFlow here: sockets and a clock only.
"""

import logging
import socket
import threading
import time
from collections.abc import Callable

from trainer.distribute.cluster import split_address
from trainer.errors import RetryableError

log = logging.getLogger(__name__)

PEER_POLL_SECONDS = 1.0
PEER_LOG_EVERY_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 2.0


def wait_for_peers(
    own_address: str,
    peers: tuple[str, ...],
    timeout_seconds: float,
    *,
    poll_seconds: float = PEER_POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until every peer's worker port accepts TCP connections; RetryableError naming the missing ones after
    `timeout_seconds`.

    TensorFlow's own start-up waits forever for a missing peer (and then ignores SIGTERM), so workers meet here
    first. Each holds its own worker port open with a plain listener meanwhile, so peers that start in any order see
    each other; the listener is closed right before TensorFlow binds the same port.
    """
    listener = _listen(own_address)
    try:
        started = clock()
        next_log = started + PEER_LOG_EVERY_SECONDS
        while missing := unreachable(peers):
            now = clock()
            if now - started >= timeout_seconds:
                raise RetryableError(
                    f"gave up after {timeout_seconds:.0f}s waiting for the other workers: no answer from "
                    f"{', '.join(missing)} (of {', '.join(peers)}); every worker must start and reach the others "
                    "on the worker port (see --peer-timeout-seconds)"
                )
            if now >= next_log:
                log.info(
                    "waiting for %s (%.0fs of %.0fs)", ", ".join(missing), now - started, timeout_seconds
                )
                next_log = now + PEER_LOG_EVERY_SECONDS
            time.sleep(poll_seconds)
        log.info("all %d peers answer on their worker ports after %.1fs", len(peers), clock() - started)
    finally:
        if listener is not None:
            listener.close()


class _PortHolder:
    """Holds this worker's port open with a plain listener that accepts and drops probes, until `close`."""

    def __init__(self, listener: socket.socket) -> None:
        self._listener = listener
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="peer-wait-listener", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # A peer's probe closes at once; a peer already inside TensorFlow keeps its gRPC connection open and
            # retries later against TensorFlow's own server on this port.
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


def _listen(own_address: str) -> _PortHolder | None:
    """Hold this worker's port (None if it is taken: peers then only see us once TensorFlow listens)."""
    _host, port = split_address(own_address)
    try:
        listener = socket.create_server(("", port), reuse_port=False)
    except OSError as e:
        log.warning("cannot hold worker port %d while waiting for peers (%s)", port, e)
        return None
    return _PortHolder(listener)


def unreachable(peers: tuple[str, ...] | list[str], timeout: float = CONNECT_TIMEOUT_SECONDS) -> list[str]:
    """The peers whose host:port does not accept a TCP connection now (name not resolvable, refused, timeout)."""
    missing = []
    for peer in peers:
        host, port = split_address(peer)
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError:
            missing.append(peer)
    return missing
