"""Folium elements that hand catalogue layers, legends and notices to ``web/riskmap.js``.

Each element embeds compact JSON (via :func:`js`) and one call into ``RiskMap``; drawing,
styling, clustering, popups and bbox loading live in that one script, which the viewer uses too.
"""

from __future__ import annotations

from typing import Any

import orjson
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from ..legend import catalogue

RISKMAP_JS = [("riskmap_js", "/viewer/riskmap.js")]
RISKMAP_CSS = [("riskmap_css", "/viewer/maps.css")]
CLUSTER_JS = [("markerclusterjs", "/static/vendor/leaflet.markercluster/dist/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", "/static/vendor/leaflet.markercluster/dist/MarkerCluster.css"),
               ("markerclusterdefaultcss", "/static/vendor/leaflet.markercluster/dist/MarkerCluster.Default.css")]
FONT_CSS = [("awesome_markers_font_css", "/static/vendor/@fortawesome/fontawesome-free/css/fontawesome.min.css"),
            ("awesome_markers_font_css_1", "/static/vendor/@fortawesome/fontawesome-free/css/solid.min.css")]


def js(value: Any) -> str:
    """JSON text safe inside a <script> element (``<`` only occurs in strings; escape it)."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode()
    else:
        text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class _RiskMapElement(JSCSSMixin):
    default_js = RISKMAP_JS + CLUSTER_JS
    default_css = RISKMAP_CSS + CLUSTER_CSS + FONT_CSS


class CatalogLayer(_RiskMapElement, Layer):
    """A catalogue layer with its features embedded (styled, clustered and with popups)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.catalogLayer({{ this.meta }}, {{ this.data }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, meta: dict, data: bytes | dict, name: str | None = None, show: bool = True,
                 options: dict | None = None):
        Layer.__init__(self, name=name or meta["title"], overlay=True, control=True, show=show)
        self._name = "CatalogLayer"
        self.meta, self.data, self.options = js(meta), js(data), js(options or {})


class LiveLayer(_RiskMapElement, Layer):
    """A large layer: aggregate grid cells embedded; features fetched by bbox when few enough."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.liveLayer({{ this.meta }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, meta: dict, options: dict, name: str | None = None, show: bool = True):
        Layer.__init__(self, name=name or meta["title"], overlay=True, control=True, show=show)
        self._name = "LiveLayer"
        self.meta, self.options = js(meta), js(options)


class ResultLayer(_RiskMapElement, Layer):
    """Features of an analysis result (GeoJSON), drawn by role: zones by level, routes, receptors…"""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.resultLayer({{ this.data }}, {{ this.options }});
{% endmacro %}
""")

    def __init__(self, data: dict, name: str, options: dict | None = None, show: bool = True):
        Layer.__init__(self, name=name, overlay=True, control=True, show=show)
        self._name = "ResultLayer"
        self.data, self.options = js(data), js(options or {})


class IrContours(_RiskMapElement, Layer):
    """Individual-risk contours (nested polygons coloured by level) drawn by ``RiskMap.irLayer``."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = RiskMap.irLayer({{ this.data }}, {{ this.levels }});
{% endmacro %}
""")

    def __init__(self, data: dict, levels: list[dict], name: str, show: bool = True):
        Layer.__init__(self, name=name, overlay=True, control=True, show=show)
        self._name = "IrContours"
        self.data, self.levels = js(data), js(levels)


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
        self.fn = js({k: fn.get(k) for k in ("fn_curve", "assessment")})


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
        self.entries, self.title = js(entries), js(title)


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
        self.content, self.position = js(content), js(position)


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
        self.bounds = js([[y0, x0], [y1, x1]])


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
        self.labels = js(catalogue()["fields"])
