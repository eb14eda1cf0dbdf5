"""A loopback HTTP proxy in front of a real server (moto), to see and shape what a client sends and gets.

`intercept(request)` sees every request first: it may answer it itself (return a `Reply`, e.g. an S3 error) or
change its body before it is forwarded (return None after editing `request.body`). Every request is recorded.
Nothing here needs pytest.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "host",
    "accept-encoding",
    "expect",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/xml"})


@dataclass
class Proxy:
    url: str
    requests: list[Request]


def s3_error(code: str, message: str, status: int = 400) -> Reply:
    """An S3 error document, as S3 (and moto) answer a failed request."""
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Reply(status, body.encode())


@contextmanager
def forwarding_proxy(
    target: str, intercept: Callable[[Request], Reply | None] | None = None
) -> Iterator[Proxy]:
    """Serve on 127.0.0.1 (ephemeral port), forwarding to `target` (`http://host:port`)."""
    recorded: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command, self.path, dict(self.headers), self.rfile.read(length) if length else b""
            )
            recorded.append(request)
            reply = intercept(request) if intercept else None
            if reply is None:
                reply = _forward(target, request)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815 - BaseHTTPRequestHandler's names

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Proxy(f"http://127.0.0.1:{server.server_address[1]}", recorded)
    finally:
        server.shutdown()
        server.server_close()


def _forward(target: str, request: Request) -> Reply:
    """Send the request on as it came (http.client adds nothing: urllib would add a form Content-Type)."""
    parts = urlsplit(target)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request(request.method, request.path, body=request.body or None, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.read(), dict(response.getheaders()))
    finally:
        connection.close()
