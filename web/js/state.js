/* The viewer's shared state, the Leaflet map and the group every result is drawn into.
 * window.viewer is the page's public handle (tests and monitoring.js use it). */

export var state = { config: null, layers: {}, metas: {}, result: null, analysis: null, table: null, busy: 0,
              drawing: false, measuring: null, proposal: null };
export var viewer = window.viewer = { state: state };

export var map = L.map('map', { maxZoom: 19, minZoom: 3, zoomControl: true });
viewer.map = map;
L.control.scale({ imperial: false, metric: true }).addTo(map);
// the layer group of the result being built or shown (results.js swaps it: every result keeps its own group)
export var resultGroup = L.featureGroup().addTo(map);
export function setResultGroup(g) { resultGroup = g; }
// transient things (a search hit, a highlight) that belong to no result
export var focusGroup = L.featureGroup().addTo(map);
