"""The live sockets open in this worker, so that revoking a key or logging out closes them at once.

``WS /v1/live`` and the web page's socket register here (``routes.live.serve_tips``) under their
key and, for the page, their web session. ``end_key`` (a key revoked) and ``end_session`` (a
logout) wake those sockets, which close with 4401. They may be called from any thread.

Another worker over the same database does not see this worker's registry: every open socket also
re-reads its key or session from the database every ``RECHECK_SECONDS`` (see ``serve_tips``), so a
revocation made elsewhere (another worker, ``huashu keys revoke``) closes it within that time.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

RECHECK_SECONDS = 0.5


@dataclass(eq=False)
class OpenSocket:
    key_id: int
    session_id: int | None = None  # the web session, for the page's socket
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)

    def end(self) -> None:
        self.loop.call_soon_threadsafe(self.ended.set)


class OpenSockets:
    def __init__(self) -> None:
        self._open: set[OpenSocket] = set()
        self._lock = threading.Lock()

    def add(self, socket: OpenSocket) -> None:
        with self._lock:
            self._open.add(socket)

    def remove(self, socket: OpenSocket) -> None:
        with self._lock:
            self._open.discard(socket)

    def end_key(self, key_id: int) -> int:
        """Close every socket of ``key_id``; how many there were."""
        return self._end(lambda s: s.key_id == key_id)

    def end_session(self, session_id: int) -> int:
        """Close every socket of the web session ``session_id``; how many there were."""
        return self._end(lambda s: s.session_id == session_id)

    def _end(self, matches) -> int:
        with self._lock:
            found = [s for s in self._open if matches(s)]
        for socket in found:
            socket.end()
        return len(found)
