/* The shareable URL: #v=zoom/lat/lon&layers=…&base=…&a=<analysis>. */
import { status } from './dom.js';
import { map, state } from './state.js';

export function hashState() {
  var c = map.getCenter(), parts = ['v=' + map.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5)];
  var on = Object.keys(state.rows || {}).filter(function (n) { return state.rows[n].box.checked; });
  parts.push('layers=' + on.join(','));
  if (state.basemap) { parts.push('base=' + state.basemap); }
  var a = state.analysis;
  if (a) {
    var s = L.extend({}, a);
    if (s.feature) { s.feature = { type: 'Feature', properties: { name: s.feature.properties.name }, geometry: roundGeom(s.feature.geometry) }; }
    parts.push('a=' + encodeURIComponent(JSON.stringify(s)));
  }
  return '#' + parts.join('&');
}
export function roundGeom(g) {
  function r(c) { return typeof c[0] === 'number' ? [+c[0].toFixed(6), +c[1].toFixed(6)] : c.map(r); }
  return { type: g.type, coordinates: r(g.coordinates) };
}
export function updateHash() {
  if (!state.ready) { return; }
  history.replaceState(null, '', location.pathname + location.search + hashState());
}

export function parseHash() {
  var out = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    if (i > 0) { out[kv.slice(0, i)] = kv.slice(i + 1); }
  });
  return out;
}

export function copyLink() {
  updateHash();
  var url = location.href;
  var done = function () { status('链接已复制 link copied: ' + url); };
  if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(url).then(done, function () { status(url); }); }
  else { status(url); }
}
