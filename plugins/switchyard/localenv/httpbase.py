"""A small threaded HTTP/1.1 server on loopback, shared by the Kubernetes and Prometheus emulators.

Each request runs in its own thread (so an injected "timeout" fault hangs only its caller), the
connection is kept alive as the kubernetes client and kubectl expect, and fault rules are applied
before a route runs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from switchyard.localenv.behaviours import FaultRule, FaultTable
from switchyard.localenv.errors import ApiError

log = logging.getLogger("switchyard.localenv")


WILDCARD_HOSTS = ("0.0.0.0", "::", "")
MAX_REQUEST_BODY = 3 * 1024 * 1024  # kube-apiserver's --max-request-body-bytes default


def local_host(bind_host: str) -> str:
    """The address a client on the same machine reaches a server bound to ``bind_host`` at."""
    return "127.0.0.1" if bind_host in WILDCARD_HOSTS else bind_host


class Response(Exception):
    """Raised by a route to answer with a given body (JSON for dict/list, text for str)."""

    def __init__(
        self, code: int, body: Any, content_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(code)
        self.code, self.body, self.content_type, self.headers = code, body, content_type, headers or {}


class DropConnection(Exception):
    """Close the connection without answering (a timeout fault)."""


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging fault must not hold up shutdown
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), handler)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        """The URL a client on this machine uses (loopback when bound to every interface)."""
        return f"http://{local_host(self.server_address[0])}:{self.port}"

    def start(self, name: str) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Idempotent; safe on a server that never started serving."""
        self.stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "switchyard-localenv"
    # Headers and body go out as two writes; with Nagle on, a kept-alive client waits ~40 ms for
    # the delayed ACK on every request. Real API servers set TCP_NODELAY too.
    disable_nagle_algorithm = True
    fault_target = "kubernetes"
    faults: FaultTable | None = None

    # ------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        self.url_path = split.path
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self._body: bytes | None = None
        try:
            self.read_body()  # always consume the body, even where it is ignored (DELETE options)
            self._apply_fault(method)
            self.route(method)
        except Response as answer:
            self.send(answer.code, answer.body, answer.content_type, answer.headers)
        except ApiError as error:
            self.send(error.code, error.status())
        except DropConnection:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # the emulator answers 500 like an API server would, and says why
            log.exception("%s %s failed", method, self.path)
            self.send(500, ApiError.internal(f"{type(exc).__name__}: {exc}").status())

    def _apply_fault(self, method: str) -> None:
        if self.faults is None or self.url_path.startswith("/_emulator"):
            return
        rule = self.faults.match(self.fault_target, method, self.url_path)
        if rule is not None:
            self.read_body()  # consume the request so the connection stays in sync
            self.inject(rule, method)

    def inject(self, rule: FaultRule, method: str) -> None:
        if rule.kind == "latency":
            time.sleep(rule.latency_ms / 1000.0)
            return
        if rule.kind == "timeout":
            self.server.stopping.wait(rule.hang_seconds)  # type: ignore[attr-defined]
            raise DropConnection()
        if rule.kind == "forbidden":
            raise ApiError(
                403,
                "Forbidden",
                f'forbidden: User "switchyard" cannot {method.lower()} '
                f'path "{self.url_path}" (injected fault {rule.id})',
            )
        code = int(rule.status)
        reason = {
            500: "InternalError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "Timeout",
            429: "TooManyRequests",
        }.get(code, "InternalError")
        raise ApiError(code, reason, f"injected fault {rule.id}: the server answered {code}")

    def route(self, method: str) -> None:  # pragma: no cover - subclasses answer
        raise ApiError.not_found("", "", self.url_path)

    # ------------------------------------------------------------ request / response
    def read_body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError as exc:
                self.close_connection = True
                raise ApiError.bad_request(f"invalid Content-Length: {exc}") from exc
            if length > MAX_REQUEST_BODY:
                # The API server's limit. The body is read and dropped (a client still writing it would
                # see a broken pipe instead of the answer), then the connection closes.
                self._body = b""
                self.close_connection = True
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 20))
                    if not chunk:
                        break
                    length -= len(chunk)
                raise ApiError(
                    413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_REQUEST_BODY}"
                )
            self._body = self.rfile.read(length) if length else b""
        return self._body

    def json_body(self) -> Any:
        raw = self.read_body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            try:
                import yaml

                return yaml.safe_load(raw)
            except Exception as exc:
                raise ApiError.bad_request(f"the body of the request could not be decoded: {exc}") from exc

    def send(
        self, code: int, body: Any, content_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode()
            content_type = content_type or "application/json"
        self.send_response(code)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def start_stream(self, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def stream_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
