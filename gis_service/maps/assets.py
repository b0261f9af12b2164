"""Offline browser assets: where each file lives, the URL the service serves it at, and inlining.

Nothing a map or the viewer loads comes from a CDN:

* Leaflet is the ``xstatic-leaflet`` PyPI package, served at ``/static/leaflet/`` (api/app.py);
* the plugins Folium and the viewer use (markercluster, leaflet-draw, awesome-markers, Leaflet.VectorGrid
  — the viewer's big layers from the vector tiles —, Font Awesome, jQuery, Bootstrap) are npm packages pinned in ``web/package-lock.json`` and installed into
  ``web/node_modules`` by ``scripts/setup_web_assets.sh``; served at ``/static/vendor/<package>/...``;
* our own scripts and styles (``web/riskmap.js``, ``web/maps.css``, the viewer) at ``/viewer/...``.

Folium 0.20 lists CDN URLs in ``default_js``/``default_css`` of the map and of each plugin;
:func:`localize` rewrites them, element by element, to the local URLs above and refuses any asset
it does not know (so a new plugin cannot silently reach for the internet). :func:`standalone`
inlines every local script and stylesheet — with images and fonts as data URIs — into one HTML
file that opens with no server and no network.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from ..config import ROOT

WEB_DIR = ROOT / "web"
VENDOR_DIR = WEB_DIR / "node_modules"
LEAFLET_URL = "/static/leaflet"
VENDOR_URL = "/static/vendor"
APP_URL = "/viewer"

# npm packages the service serves (top-level folders of web/node_modules); nothing else is exposed.
VENDOR_PACKAGES = ("@fortawesome/fontawesome-free", "bootstrap", "jquery", "leaflet-draw",
                   "leaflet.awesome-markers", "leaflet.markercluster", "leaflet.vectorgrid", "swagger-ui-dist")
STATIC_SUFFIXES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml",
                   ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".html": "text/html",
                   ".json": "application/json", ".gif": "image/gif"}

FA = f"{VENDOR_URL}/@fortawesome/fontawesome-free/css"
# Folium asset name -> local URLs (several, or none when the asset is not needed offline).
LOCAL_ASSETS: dict[str, tuple[str, ...]] = {
    # folium.folium._default_js / _default_css
    "leaflet": (f"{LEAFLET_URL}/leaflet.js",),
    "jquery": (f"{VENDOR_URL}/jquery/dist/jquery.min.js",),
    "bootstrap": (f"{VENDOR_URL}/bootstrap/dist/js/bootstrap.bundle.min.js",),
    "awesome_markers": (f"{VENDOR_URL}/leaflet.awesome-markers/dist/leaflet.awesome-markers.min.js",),
    "leaflet_css": (f"{LEAFLET_URL}/leaflet.css",),
    "bootstrap_css": (f"{VENDOR_URL}/bootstrap/dist/css/bootstrap.min.css",),
    # Bootstrap 3 glyphicons have no maintained npm package; our maps use Font Awesome icons only.
    "glyphicons_css": (),
    "awesome_markers_font_css": (f"{FA}/fontawesome.min.css", f"{FA}/solid.min.css"),
    "awesome_markers_css": (f"{VENDOR_URL}/leaflet.awesome-markers/dist/leaflet.awesome-markers.css",),
    # folium's rotate helper lives only on a CDN; our maps never rotate icons.
    "awesome_rotate_css": (),
    # folium.plugins.MarkerCluster / FastMarkerCluster
    "markerclusterjs": (f"{VENDOR_URL}/leaflet.markercluster/dist/leaflet.markercluster.js",),
    "markerclustercss": (f"{VENDOR_URL}/leaflet.markercluster/dist/MarkerCluster.css",),
    "markerclusterdefaultcss": (f"{VENDOR_URL}/leaflet.markercluster/dist/MarkerCluster.Default.css",),
    # folium.plugins.Draw
    "leaflet_draw_js": (f"{VENDOR_URL}/leaflet-draw/dist/leaflet.draw.js",),
    "leaflet_draw_css": (f"{VENDOR_URL}/leaflet-draw/dist/leaflet.draw.css",),
    # ours (web/)
    "riskmap_js": (f"{APP_URL}/riskmap.js",),
    "leaflet_vectorgrid": (f"{VENDOR_URL}/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",),
    "riskmap_css": (f"{APP_URL}/maps.css",),
}


class OfflineAssetError(RuntimeError):
    """A map element asks for an asset that is not available locally."""


class AssetsMissing(RuntimeError):
    """The npm assets are not installed (run scripts/setup_web_assets.sh)."""


def leaflet_dir() -> Path:
    import xstatic.pkg.leaflet as leaflet

    return Path(leaflet.BASE_DIR)


APP_SUBDIRS = ("js", "dist")   # web/js/: the viewer's ES modules (one job each); web/dist/: their bundle


def _app_file(rel: str) -> bool:
    """A file the viewer may load: top level of web/, or directly inside one of :data:`APP_SUBDIRS`."""
    parts = rel.split("/")
    return len(parts) == 1 or (len(parts) == 2 and parts[0] in APP_SUBDIRS)


def resolve(url_path: str) -> Path | None:
    """The file behind a local asset URL (``/static/leaflet/...``, ``/static/vendor/...``,
    ``/viewer/...``), or None if the URL is not one the service serves. Refuses path escapes,
    packages outside :data:`VENDOR_PACKAGES` and unknown file types."""
    path = url_path.split("?", 1)[0].split("#", 1)[0]
    for prefix, base in ((LEAFLET_URL + "/", leaflet_dir), (VENDOR_URL + "/", lambda: VENDOR_DIR),
                         (APP_URL + "/", lambda: WEB_DIR)):
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        if prefix == VENDOR_URL + "/" and not any(rel.startswith(p + "/") for p in VENDOR_PACKAGES):
            return None
        if prefix == APP_URL + "/" and (rel.startswith("node_modules") or not _app_file(rel)):
            return None  # the top-level files of web/ and the viewer's modules in web/js/; vendor goes via /static/vendor
        root = base().resolve()
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or target.suffix not in STATIC_SUFFIXES or not target.is_file():
            return None
        return target
    return None


def media_type(path: Path) -> str:
    return STATIC_SUFFIXES.get(path.suffix, "application/octet-stream")


def check_installed() -> None:
    """Raise AssetsMissing naming the fix when web/node_modules lacks a file the maps link to."""
    missing = [u for urls in LOCAL_ASSETS.values() for u in urls if resolve(u) is None]
    if missing:
        raise AssetsMissing("offline web assets are missing (" + ", ".join(missing[:3])
                            + ("…" if len(missing) > 3 else "") + "); run scripts/setup_web_assets.sh")


def _local(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in pairs:
        if url.startswith("/") and not url.startswith("//"):
            out.append((name, url))
            continue
        if name not in LOCAL_ASSETS:
            raise OfflineAssetError(f"map asset {name!r} ({url}) has no local copy; add it to "
                                    "web/package.json and gis_service/maps/assets.py LOCAL_ASSETS")
        urls = LOCAL_ASSETS[name]
        out.extend((name if i == 0 else f"{name}_{i}", u) for i, u in enumerate(urls))
    return out


def localize(element) -> None:
    """Point every Folium element under ``element`` (inclusive) at local asset URLs."""
    stack = [element]
    while stack:
        el = stack.pop()
        if hasattr(el, "default_js"):
            el.default_js = _local(list(el.default_js))
        if hasattr(el, "default_css"):
            el.default_css = _local(list(el.default_css))
        stack.extend(getattr(el, "_children", {}).values())


_REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def remote_references(html: str) -> list[str]:
    """Script/link/img tags in ``html`` that point off the service (should be none)."""
    return [m.group(0) for m in _REMOTE.finditer(html)]


# -- standalone export -------------------------------------------------------------------------

_SCRIPT = re.compile(r"""<script\s+src\s*=\s*["']([^"']+)["']\s*>\s*</script>""", re.I)
_LINK = re.compile(r"""<link\s+rel\s*=\s*["']stylesheet["']\s+href\s*=\s*["']([^"']+)["']\s*/?>""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_FONT_SRC = re.compile(r"src\s*:\s*([^;}]+)")
_SOURCE_MAP = re.compile(r"^\s*(//|/\*)# sourceMappingURL=.*$", re.M)


def _data_uri(path: Path) -> str:
    return f"data:{media_type(path)};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _woff2_only(css: str) -> str:
    """In @font-face ``src`` lists keep only the woff2 entry (every current browser reads it)."""

    def keep(m: re.Match) -> str:
        entries = re.split(r",(?=\s*url\()", m.group(1))
        woff2 = [e for e in entries if "woff2" in e]
        return "src:" + ",".join(woff2 or entries)

    return _FONT_SRC.sub(keep, css)


def inline_css(css: str, css_path: Path) -> str:
    """Stylesheet text with every relative ``url()`` replaced by a data URI of the local file."""
    css = _woff2_only(css)

    def embed(m: re.Match) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        target = (css_path.parent / ref.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_file():
            return m.group(0)
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(embed, css)


def _read(url: str) -> tuple[Path, str]:
    path = resolve(url)
    if path is None:
        raise AssetsMissing(f"cannot inline {url}: no local file (run scripts/setup_web_assets.sh)")
    return path, path.read_text(encoding="utf-8")


def standalone(html: str) -> str:
    """Inline every local script and stylesheet of a rendered map into the HTML itself."""

    def script(m: re.Match) -> str:
        _, text = _read(m.group(1))
        text = _SOURCE_MAP.sub("", text).replace("</script", "<\\/script")
        return f"<script>/* {m.group(1)} */\n{text}\n</script>"

    def link(m: re.Match) -> str:
        path, text = _read(m.group(1))
        text = _SOURCE_MAP.sub("", inline_css(text, path)).replace("</style", "<\\/style")
        return f"<style>/* {m.group(1)} */\n{text}\n</style>"

    out = _LINK.sub(link, _SCRIPT.sub(script, html))
    left = remote_references(out)
    if left:
        raise OfflineAssetError(f"standalone map still references remote assets: {left[:3]}")
    return out
