"""Vector tiles gzip-compressed once, not on every answer.

The app's GZipMiddleware compresses each answer again, at level 9 and on the event loop: a national zoom-3 tile
(830 kB of MVT) cost ~350 ms per request on a busy 2-core machine even when the tile itself came from the tile
cache, and the viewer's first map waits for 9 of them. Here the compressed body is kept by ETag (the ETag names
the tile's content: layers, revisions, tile), in a bounded LRU, and sent with ``Content-Encoding: gzip`` to
clients that accept it (the middleware leaves an answer that already has an encoding alone). Compression runs in
the route's worker thread, at level 6 (most of level 9's size for a fraction of its time).
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from fastapi import Request

LEVEL = 6
MIN_SIZE = 1024           # as the middleware: smaller bodies go as they are
BUDGET_BYTES = 64 << 20   # compressed bytes kept


class GzipCache:
    def __init__(self, budget: int = BUDGET_BYTES):
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, body: bytes) -> bytes:
        with self._lock:
            hit = self._items.get(etag)
            if hit is not None:
                self._items.move_to_end(etag)
                return hit
        packed = gzip.compress(body, compresslevel=LEVEL, mtime=0)
        with self._lock:
            if etag not in self._items and len(packed) <= self.budget:
                self._items[etag] = packed
                self.size += len(packed)
                while self.size > self.budget:
                    _, old = self._items.popitem(last=False)
                    self.size -= len(old)
        return packed


CACHE = GzipCache()


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*") and params.replace(" ", "").lower() not in ("q=0", "q=0.0"):
            return True
    return False


def encode(request: Request, body: bytes, etag: str) -> tuple[bytes, dict[str, str]]:
    """The body to send and the headers it needs (``Content-Encoding``, ``Vary``)."""
    if len(body) < MIN_SIZE or not accepts_gzip(request):
        return body, {"Vary": "Accept-Encoding"}
    return CACHE.get(etag, body), {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
