"""HTTP over one kept-alive connection (http.client), reopened when the server closes it."""

from __future__ import annotations

import email.utils
import http.client
import socket
import time
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

# What a request that got no answer raises: the connection failed, was reset or timed out.
NETWORK_ERRORS = (OSError, http.client.HTTPException)


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def retry_after(self) -> Optional[float]:
        """Retry-After in seconds (delta-seconds or an HTTP date), None without one."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


class Transport:
    """Requests to one tradebook, one at a time (callers hold their own lock)."""

    def __init__(self, url: str, token: str, *, timeout: float, user_agent: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http(s)://host[:port][/prefix], not {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._connection: Optional[http.client.HTTPConnection] = None

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        connection = cls(self.host, self.port, timeout=self.timeout)
        connection.connect()
        if connection.sock is not None:
            # Headers and body go in one send; no Nagle delay on a small request either.
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                content_type: str = "application/json") -> Response:
        """One request; raises one of NETWORK_ERRORS when no answer came.

        A kept-alive connection the server has meanwhile closed fails on its first use: that
        one case is tried again at once on a new connection (a write is safe to resend)."""
        if not path.startswith(self.prefix + "/"):
            path = self.prefix + path
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            reused = self._connection is not None
            try:
                if self._connection is None:
                    self._connection = self._connect()
                self._connection.request(method, path, body=body, headers=headers)
                answer = self._connection.getresponse()
                data = answer.read()
            except NETWORK_ERRORS as exc:
                self.close()
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if attempt == 0 and reused and stale:
                    continue
                raise
            if answer.will_close:
                self.close()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass


def split_url(url: str) -> Tuple[str, str]:
    """(path, query) of a link tradebook gave (a `next` page), to ask on our own connection."""
    parts = urlsplit(url)
    return parts.path, parts.query
