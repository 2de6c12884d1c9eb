"""An HTTP proxy in front of tradebook that misbehaves on cue: it answers 429 or 503 with a
Retry-After instead of tradebook, or forwards a request and then hangs up without the
answer (tradebook wrote the items; the client never heard) — the faults a client must retry
through without writing anything twice."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

PASS = "pass"
LOSE_ANSWER = "lose-answer"  # forward, then close the connection without answering
RESET = "reset"  # close the connection without forwarding


def busy(status: int, retry_after: Optional[str] = "1") -> Tuple[str, int, Optional[str]]:
    """Answer `status` (429, 503, …) with this Retry-After, without forwarding."""
    return ("status", status, retry_after)


class FaultyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.script: List[object] = []  # what to do with the next requests, in turn; then PASS
        self.seen: List[Tuple[float, str, str, object]] = []  # (time, method, path, action) per request
        self.bodies: List[bytes] = []
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop = True
        try:
            self._server.close()
        except OSError:
            pass

    def _accept(self) -> None:
        while not self._stop:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                with self._lock:
                    action = self.script.pop(0) if self.script else PASS
                    self.seen.append((time.monotonic(), method, path, action))
                    if method == "POST":
                        self.bodies.append(body)
                if action == RESET:
                    return
                if isinstance(action, tuple) and action[0] == "status":
                    _, status, retry_after = action
                    payload = b'{"errors":[{"index":null,"field":null,"message":"busy"}]}'
                    extra = f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
                    connection.sendall(
                        f"HTTP/1.1 {status} Busy\r\nContent-Type: application/json\r\n{extra}"
                        f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                    continue
                status, answer_headers, answer = self._forward(method, path, headers, body)
                if action == LOSE_ANSWER:
                    return
                lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in answer_headers
                                                    if k.lower() not in ("connection", "content-length",
                                                                         "transfer-encoding")]
                lines.append(f"Content-Length: {len(answer)}")
                connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + answer)
        except OSError:
            return
        finally:
            try:
                reader.close()
                connection.close()
            except OSError:
                pass

    def _forward(self, method: str, path: str, headers: List[Tuple[str, str]], body: bytes):
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            upstream.request(method, path, body=body or None,
                             headers={k: v for k, v in headers if k.lower() not in ("connection", "host")})
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()


def _read_request(reader) -> Optional[Tuple[str, str, List[Tuple[str, str]], bytes]]:
    line = reader.readline()
    if not line:
        return None
    method, path, _version = line.decode("latin-1").split(" ", 2)
    headers: List[Tuple[str, str]] = []
    length = 0
    while True:
        header = reader.readline().decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, value = header.split(":", 1)
        headers.append((name.strip(), value.strip()))
        if name.strip().lower() == "content-length":
            length = int(value)
    body = reader.read(length) if length else b""
    return method, path, headers, body
