/* The viewer's shared state, the Leaflet map and the group every result is drawn into.
 * window.viewer is the page's public handle (tests and monitoring.js use it). */

export var state = { config: null, layers: {}, metas: {}, result: null, analysis: null, table: null, busy: 0,
              drawing: false, measuring: null, proposal: null };
export var viewer = window.viewer = { state: state };

export var map = L.map('map', { maxZoom: 19, minZoom: 3, zoomControl: true });
viewer.map = map;
// the scale at rest (updateWhenIdle): redrawn on every frame of a pan, its text repainted the page's root layer each
// frame (~4 ms of Paint and Layout a frame on the national set; bench/bench_viewer_load.py --national)
L.control.scale({ imperial: false, metric: true, updateWhenIdle: true }).addTo(map);
/* Leaflet's SVG renderer rewrites every path's "d" at each moveend, unchanged after a pan (the pixel origin moves
 * only on zoom); Chromium invalidates style and layout for each write all the same (900 monitoring sensors: a
 * 20–50 ms task as every pan ends). Written only when it changed — kept on the element, which a re-added layer
 * makes anew. */
L.SVG.include({
  _setPath: function (layer, path) {
    var el = layer._path;
    if (el._rmD !== path) { el._rmD = path; el.setAttribute('d', path); }
  }
});
// the layer group of the result being built or shown (results.js swaps it: every result keeps its own group)
export var resultGroup = L.featureGroup().addTo(map);
export function setResultGroup(g) { resultGroup = g; }
// transient things (a search hit, a highlight) that belong to no result
export var focusGroup = L.featureGroup().addTo(map);
