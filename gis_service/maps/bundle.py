"""The viewer's module bundle: whether ``web/dist/viewer.bundle.js`` may stand in for the page's modules.

``scripts/setup_web_assets.sh`` bundles ``web/main.js`` and everything it imports (the viewer's ~40 ES modules)
into one minified file with esbuild and writes ``web/dist/viewer.bundle.sha256`` (``sha256sum`` format) for the
sources it read: ``main.js``, ``viewer.js``, ``monitoring.js`` and every ``js/*.js``. The bundle is used only
while that list is exactly the current sources with the same digests — an edited, added or removed module makes
it stale and the page falls back to the modules themselves (always correct; a waterfall of requests instead of
one). Digests are recomputed only when a source's size or modification time changed.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from .assets import APP_URL, WEB_DIR

ENTRY = "main.js"
BUNDLE = "dist/viewer.bundle.js"
SUMS = "dist/viewer.bundle.sha256"
ENTRY_URL = f"{APP_URL}/{ENTRY}"

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, str | None]] = {}


def sources(web: Path = WEB_DIR) -> list[str]:
    """The files the bundle is made of, relative to web/ (as setup_web_assets.sh lists them)."""
    return [ENTRY, "viewer.js", "monitoring.js", *sorted(f"js/{p.name}" for p in (web / "js").glob("*.js"))]


def _signature(web: Path, names: list[str]) -> tuple:
    out = []
    for name in [*names, BUNDLE, SUMS]:
        try:
            st = (web / name).stat()
        except OSError:
            return ()
        out.append((name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _read_sums(path: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if digest and name:
            sums[name.strip()] = digest.strip()
    return sums


def _fresh_url(web: Path, names: list[str]) -> str | None:
    sums = _read_sums(web / SUMS)
    if sorted(sums) != sorted(names):
        return None
    for name in names:
        if hashlib.sha256((web / name).read_bytes()).hexdigest() != sums[name]:
            return None
    version = hashlib.sha256((web / BUNDLE).read_bytes()).hexdigest()[:12]
    return f"{APP_URL}/{BUNDLE}?v={version}"


def bundle_url(web: Path = WEB_DIR) -> str | None:
    """``/viewer/dist/viewer.bundle.js?v=<digest>`` when the bundle is built from the current sources, else None."""
    names = sources(web)
    sig = _signature(web, names)
    if not sig:
        return None
    key = str(web)
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == sig:
            return hit[1]
        url = _fresh_url(web, names)
        _cache[key] = (sig, url)
        return url


def page_html(index_html: str, url: str | None) -> str:
    """The viewer page with the bundle in place of the module entry (unchanged when there is no fresh bundle)."""
    if url is None:
        return index_html
    return index_html.replace(f'src="{ENTRY_URL}"', f'src="{url}"')
