/* The result panel and the result group: clear, export buttons, draw, fit, zoom to a feature. */
import { $, esc } from './dom.js';
import { focusPadding, revealResult } from './layout.js';
import { map, resultGroup, state } from './state.js';

export function zoomToFeature(layerName, f) {
  var g = L.geoJSON(f);
  var b = g.getBounds();
  if (f.geometry && f.geometry.type === 'Point') { map.fitBounds(b, L.extend({ maxZoom: Math.max(map.getZoom(), 14) }, focusPadding())); }
  else { map.fitBounds(b, L.extend({ maxZoom: 15 }, focusPadding())); }
  var hl = L.geoJSON(f, { style: function () { return { color: '#00e5ff', weight: 4, fillOpacity: 0.1 }; },
    pointToLayer: function (x, ll) { return L.circleMarker(ll, { radius: 11, color: '#00bcd4', weight: 3, fill: false }); } });
  resultGroup.addLayer(hl);
  setTimeout(function () { resultGroup.removeLayer(hl); }, 2500);
}


export function clearResult() {
  resultGroup.clearLayers();
  $('result').innerHTML = '';
  state.result = null; state.table = null; state.analysis = null; state.pdf = null;
  exportButtons(false, false);
}

export function exportButtons(data, pdf) {
  $('export-geojson').disabled = !data; $('export-csv').disabled = !data; $('export-pdf').disabled = !pdf;
}

export function drawFeatures(doc, title, opts) {
  var features = doc && doc.type === 'FeatureCollection' ? doc.features || [] : [];
  if (!features.length) { return; }
  var layer = RiskMap.resultLayer({ type: 'FeatureCollection', features: features }, L.extend({ title: title }, opts || {}));
  resultGroup.addLayer(layer);
}

export function fitResult(keepView, maxZoom) {
  if (keepView) { return; }
  try { map.fitBounds(resultGroup.getBounds(), L.extend({ maxZoom: maxZoom || 14 }, focusPadding())); } catch (e) { /* empty */ }
}

export function resultBox(kind, title) {
  var div = document.createElement('div');
  div.className = 'result-body';
  div.dataset.kind = kind;
  div.innerHTML = '<div class="rm-panel-title">' + esc(title) + '</div>';
  $('result').appendChild(div);
  revealResult();
  return div;
}
