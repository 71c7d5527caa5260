"""A local webhook receiver: a tiny ASGI app (served by :func:`tests.support.server.serve`)
that records every delivery with its raw body and headers and answers as told."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.server import serve


@dataclass(frozen=True, slots=True)
class Received:
    body: bytes
    headers: dict[str, str]
    status: int  # what the receiver answered
    at: float

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """``fail_first``: answer 500 (body ``boom``) to that many requests; ``delay``: seconds to
    wait before answering each one (to have deliveries in flight)."""

    def __init__(self, *, fail_first: int = 0, delay: float = 0.0) -> None:
        self.fail_first = fail_first
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Lock()

    @property
    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status < 300]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` deliveries were accepted; return them."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.accepted)} of {count} deliveries")
            time.sleep(0.02)
        return self.accepted

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-request (a killed worker): nothing was delivered
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self._lock:
            failing = sum(1 for r in self.received if r.status >= 300) < self.fail_first
            status = 500 if failing else 200
            self.received.append(Received(body, headers, status, time.time()))
        answer = b"boom" if status == 500 else b"ok"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", b"%d" % len(answer)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer})


@contextmanager
def running_receiver(**options: Any) -> Iterator[tuple[str, Receiver]]:
    """Serve a :class:`Receiver` on 127.0.0.1; yield ``(url of /hook, receiver)``."""
    receiver = Receiver(**options)
    with serve(receiver) as url:
        yield url + "/hook", receiver
