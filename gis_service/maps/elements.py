"""Folium elements that hand catalogue layers, legends and notices to ``web/riskmap.js``.

Each element passes its data as compact JSON (via :func:`js`) to one call into ``RiskMap``; drawing,
styling, clustering, popups and bbox loading live in that one script, which the viewer uses too.

**Data never passes through a template engine.** Folium renders each element's template with
Jinja2, and branca then compiles the *rendered* script of every element as a Jinja2 template once
more (``MacroElement.render`` wraps it in ``Element(text)``). Any ``{{ … }}`` in a feature's name
would be evaluated there — code execution on the server. So an element's template never sees its
data: :meth:`_RiskMapElement._data` and :meth:`~_RiskMapElement._text` register the value and put an
unguessable token (``RiskMapData`` + 128 random bits, letters and digits only) in its place, and
:func:`fill` swaps the tokens for the JSON after Folium has finished rendering, in one pass (the
inserted JSON is never scanned again). Layer names (shown by Folium's layer control) are tokens
too. :func:`js` also escapes ``<`` (no ``</script>``) and U+2028/2029 for the script context.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

import orjson
from branca.element import Element
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from ..legend import catalogue

RISKMAP_JS = [("riskmap_js", "/viewer/riskmap.js")]
RISKMAP_CSS = [("riskmap_css", "/viewer/maps.css")]
CLUSTER_JS = [("markerclusterjs", "/static/vendor/leaflet.markercluster/dist/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", "/static/vendor/leaflet.markercluster/dist/MarkerCluster.css"),
               ("markerclusterdefaultcss", "/static/vendor/leaflet.markercluster/dist/MarkerCluster.Default.css")]
VECTORGRID_JS = [("leaflet_vectorgrid", "/static/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js")]
FONT_CSS = [("awesome_markers_font_css", "/static/vendor/@fortawesome/fontawesome-free/css/fontawesome.min.css"),
            ("awesome_markers_font_css_1", "/static/vendor/@fortawesome/fontawesome-free/css/solid.min.css")]

TOKEN_PREFIX = "RiskMapData"
TOKEN = re.compile(TOKEN_PREFIX + r"[0-9a-f]{32}")


def js(value: Any) -> str:
    """JSON text safe inside a <script> element (``<`` only occurs in strings; escape it)."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode()
    else:
        text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def register(owner: Element, json_text: str) -> str:
    """Keep ``json_text`` on ``owner`` under a fresh token and return the token (for its template)."""
    token = TOKEN_PREFIX + secrets.token_hex(16)
    payloads = owner.__dict__.setdefault("_riskmap_payloads", {})
    payloads[token] = json_text
    return token


def data_token(owner: Element, value: Any) -> str:
    """A token that :func:`fill` replaces by ``value`` as JSON (an expression in a script)."""
    return register(owner, js(value))


def text_token(owner: Element, text: str) -> str:
    """A token for ``text`` that Folium writes inside a JSON string literal (a layer name, an
    attribution): :func:`fill` replaces it by the string's escaped content, without the quotes."""
    return register(owner, js(str(text))[1:-1])


def fill(root: Element, html: str) -> str:
    """The rendered document with every token of every element under ``root`` replaced by its data."""
    payloads: dict[str, str] = {}
    stack = [root]
    while stack:
        el = stack.pop()
        payloads.update(el.__dict__.get("_riskmap_payloads", {}))
        stack.extend(getattr(el, "_children", {}).values())
    if not payloads:
        return html

    def swap(m: re.Match) -> str:
        try:
            return payloads[m.group(0)]
        except KeyError:  # a token of an element outside the tree: never render it as data
            raise RuntimeError("map data token without its element") from None

    return TOKEN.sub(swap, html)


class _RiskMapElement(JSCSSMixin):
    default_js = RISKMAP_JS + CLUSTER_JS
    default_css = RISKMAP_CSS + CLUSTER_CSS + FONT_CSS

    def _data(self, value: Any) -> str:
        return data_token(self, value)

    def _text(self, value: str) -> str:
        return text_token(self, value)

    def _layer(self, name: str, show: bool) -> None:
        Layer.__init__(self, name=self._text(name), overlay=True, control=True, show=show)  # type: ignore[arg-type]


class CatalogLayer(_RiskMapElement, Layer):
    """A catalogue layer with its features embedded (styled, clustered and with popups)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.catalogLayer({{ this.meta }}, {{ this.features }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, meta: dict, data: bytes | dict, name: str | None = None, show: bool = True,
                 options: dict | None = None):
        self._layer(name or meta["title"], show)
        self._name = "CatalogLayer"
        self.meta, self.features, self.options = self._data(meta), self._data(data), self._data(options or {})


class LiveLayer(_RiskMapElement, Layer):
    """A large layer: aggregate grid cells embedded; features fetched by bbox when few enough."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.liveLayer({{ this.meta }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, meta: dict, options: dict, name: str | None = None, show: bool = True):
        self._layer(name or meta["title"], show)
        self._name = "LiveLayer"
        self.meta, self.options = self._data(meta), self._data(options)


class TiledLayer(_RiskMapElement, Layer):
    """A large layer drawn from the service's vector tiles at every zoom (served maps only: a tile needs the
    service); popups fetch the feature's record."""

    default_js = VECTORGRID_JS + RISKMAP_JS + CLUSTER_JS
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.tiledLayer({{ this.meta }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, meta: dict, options: dict | None = None, name: str | None = None, show: bool = True):
        self._layer(name or meta["title"], show)
        self._name = "TiledLayer"
        self.meta, self.options = self._data(meta), self._data(options or {})


class ResultLayer(_RiskMapElement, Layer):
    """Features of an analysis result (GeoJSON), drawn by role: zones by level, routes, receptors…"""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.resultLayer({{ this.features }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, data: dict, name: str, options: dict | None = None, show: bool = True):
        self._layer(name, show)
        self._name = "ResultLayer"
        self.features, self.options = self._data(data), self._data(options or {})


class IrContours(_RiskMapElement, Layer):
    """Individual-risk contours (nested polygons coloured by level) drawn by ``RiskMap.irLayer``."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.irLayer({{ this.features }}, {{ this.levels }});
{% endmacro %}
""")

    def __init__(self, data: dict, levels: list[dict], name: str, show: bool = True):
        self._layer(name, show)
        self._name = "IrContours"
        self.features, self.levels = self._data(data), self._data(levels)


class FnChart(_RiskMapElement):
    """The F-N chart (``RiskMap.fnChart``) as a bottom-left map control."""

    _template = Template("""
{% macro script(this, kwargs) %}
RiskMap.fnControl({{ this._parent.get_name() }}, {{ this.fn }});
{% endmacro %}
""")

    def __init__(self, fn: dict):
        super().__init__()
        self._name = "FnChart"
        self.fn = self._data({k: fn.get(k) for k in ("fn_curve", "assessment")})


class Legend(_RiskMapElement):
    """A legend control: one row per layer (colour swatch, bilingual title)."""

    _template = Template("""
{% macro script(this, kwargs) %}
RiskMap.legend({{ this._parent.get_name() }}, {{ this.entries }}, {{ this.title }});
{% endmacro %}
""")

    def __init__(self, entries: list[dict], title: str = "图例 Legend"):
        super().__init__()
        self._name = "Legend"
        self.entries, self.title = self._data(entries), self._data(title)


class Panel(_RiskMapElement):
    """A titled information box on the map (title, notices, assumptions, rule tables) — HTML built
    by riskmap.js from data, so every value is escaped there."""

    _template = Template("""
{% macro script(this, kwargs) %}
RiskMap.panel({{ this._parent.get_name() }}, {{ this.content }}, {{ this.position }});
{% endmacro %}
""")

    def __init__(self, content: dict, position: str = "topright"):
        super().__init__()
        self._name = "Panel"
        self.content, self.position = self._data(content), self._data(position)


class Attribution(_RiskMapElement):
    """A credit line in the map's attribution corner (HTML-escaped here: Leaflet writes attributions as HTML)."""

    _template = Template("""
{% macro script(this, kwargs) %}
if ({{ this._parent.get_name() }}.attributionControl) { {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text }}); }
{% endmacro %}
""")

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = self._data(html.escape(text))


class FitBounds(_RiskMapElement):
    """Fit the view to a bbox once the map exists (bbox in lon/lat order)."""

    _template = Template("""
{% macro script(this, kwargs) %}
RiskMap.fit({{ this._parent.get_name() }}, {{ this.bounds }});
{% endmacro %}
""")

    def __init__(self, bbox: tuple[float, float, float, float]):
        super().__init__()
        self._name = "FitBounds"
        x0, y0, x1, y1 = bbox
        self.bounds = self._data([[y0, x0], [y1, x1]])


class MetricScale(_RiskMapElement):
    """A metric-only scale bar (Folium's control_scale also shows miles and feet)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class FieldLabels(_RiskMapElement):
    """The label catalogue's field names ("中文 English") for the result popups drawn by riskmap.js."""

    _template = Template("""
{% macro script(this, kwargs) %}
RiskMap.fieldLabels = {{ this.labels }};
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "FieldLabels"
        self.labels = self._data(catalogue()["fields"])
