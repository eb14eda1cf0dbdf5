"""Expired temporary credentials: one retry with freshly resolved ones, then the retryable exit code.

Temporary credentials (an assumed role, web identity, a session token) can expire under a running Job; boto3's
refreshing providers renew them ahead of time, but a token that expired anyway (clock skew, a session token
rotated in its Secret, a refresh that failed) is answered `ExpiredToken`. The storage operation then runs once more
with a client that resolves the credentials from scratch; if they are still expired it fails with exit 75, so the
Job's next pod starts with whatever the cluster provides now.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from trainer.errors import CredentialsExpiredError

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Renewable(Protocol):
    def renew_client(self) -> bool:
        """Drop the client so the next call resolves the credentials again; False if it cannot (injected)."""
        ...


def retry_once_renewed(method: F) -> F:
    """Decorate a storage method: after `CredentialsExpiredError`, renew the client and run it once more."""

    @functools.wraps(method)
    def run(self: Renewable, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except CredentialsExpiredError as e:
            if e.after_renewal or not self.renew_client():
                raise
            log.warning("object storage credentials had expired; retrying once with freshly resolved ones")
        try:
            return method(self, *args, **kwargs)
        except CredentialsExpiredError as e:
            e.after_renewal = True
            raise

    return run  # type: ignore[return-value]
