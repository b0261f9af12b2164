/* Results as layers: every analysis (exposure, rescue, QRA, siting) keeps its own layer group on the map and
 * its own panel, listed under 结果图层 Results — each can be shown or hidden, brought back into the panel, or
 * removed. Running the same analysis again (a new wind, say) replaces its earlier result; a different one is
 * added beside it, so exposure and rescue stay on the map together. Also: export buttons, drawing, fitting and
 * zooming to a feature clear of the panels. */
import { $, esc } from './dom.js';
import { focusPadding, revealResult } from './layout.js';
import { focusGroup, map, resultGroup, setResultGroup, state } from './state.js';

var results = [];      // { id, key, kind, title, group, node, visible, saved: {result, analysis, table, pdf, brief} }
var active = null;
var seq = 0;
var FIELDS = ['result', 'analysis', 'table', 'pdf', 'brief'];

export function zoomToFeature(layerName, f) {
  var g = L.geoJSON(f);
  var b = g.getBounds();
  if (f.geometry && f.geometry.type === 'Point') { map.fitBounds(b, L.extend({ maxZoom: Math.max(map.getZoom(), 14) }, focusPadding())); }
  else { map.fitBounds(b, L.extend({ maxZoom: 15 }, focusPadding())); }
  var hl = L.geoJSON(f, { style: function () { return { color: '#00e5ff', weight: 4, fillOpacity: 0.1 }; },
    pointToLayer: function (x, ll) { return L.circleMarker(ll, { radius: 11, color: '#00bcd4', weight: 3, fill: false }); } });
  focusGroup.addLayer(hl);
  setTimeout(function () { focusGroup.removeLayer(hl); }, 2500);
}

function save(entry) {
  entry.saved = {};
  FIELDS.forEach(function (k) { entry.saved[k] = state[k]; });
}

function resetState() {
  FIELDS.forEach(function (k) { state[k] = null; });
  exportButtons(false, false);
}

/* The panel shows nothing of the current result (its layers stay on the map). */
function detachActive() {
  if (active) {
    save(active);
    if (active.node && active.node.parentNode) { active.node.parentNode.removeChild(active.node); }
  }
  active = null;
  $('result').innerHTML = '';
  resetState();
}

/* A new result begins: its own layer group, its own panel (filled by resultBox). */
export function startResult() {
  detachActive();
  var entry = { id: ++seq, key: null, kind: '', title: '', group: L.featureGroup().addTo(map), node: null, visible: true };
  setResultGroup(entry.group);
  results.push(entry);
  active = entry;
  renderList();
  return entry;
}

/* The panel is needed for something that is not a result (an attribute table, a note). */
export function panelView() {
  detachActive();
  setResultGroup(focusGroup);
  renderList();
}

export function activate(entry, fit) {
  if (active === entry) { return; }
  detachActive();
  active = entry;
  setResultGroup(entry.group);
  if (entry.node) { $('result').appendChild(entry.node); }
  FIELDS.forEach(function (k) { state[k] = entry.saved ? entry.saved[k] : null; });
  exportButtons(!!state.result, !!state.pdf);
  if (!entry.visible) { toggle(entry, true); }
  if (fit) { fitGroup(entry.group); }
  renderList();
}

function toggle(entry, on) {
  entry.visible = on;
  if (on) { entry.group.addTo(map); } else { map.removeLayer(entry.group); }
  renderList();
}

export function removeResult(entry) {
  map.removeLayer(entry.group);
  results = results.filter(function (r) { return r !== entry; });
  if (active === entry) {
    active = null;
    $('result').innerHTML = '';
    resetState();
    if (results.length) { activate(results[results.length - 1]); }
  }
  renderList();
}

/* Every result removed. */
export function clearResult() {
  results.slice().forEach(function (r) { map.removeLayer(r.group); });
  results = [];
  active = null;
  focusGroup.clearLayers();
  $('result').innerHTML = '';
  resetState();
  renderList();
}

export function resultsList() { return results.map(function (r) { return { id: r.id, kind: r.kind, title: r.title, visible: r.visible, active: r === active, legend: r.legend || null }; }); }

/* The legend rows the active result draws beyond its kind's (e.g. a siting check's QRA contours). */
export function setResultLegend(keys) {
  if (active) { active.legend = keys; renderList(); }
}

function keyOf(a) {
  if (!a) { return null; }
  var k = L.extend({}, a);
  delete k.params; delete k.k; delete k.by;
  if (k.feature) { k.feature = JSON.stringify(k.feature.geometry); }
  return JSON.stringify(k);
}

function renderList() {
  var list = $('results-list');
  if (!list) { return; }
  list.innerHTML = '';
  results.forEach(function (r) {
    if (!r.node) { return; }    // still being built
    var li = document.createElement('li');
    li.className = 'result-item' + (r === active ? ' active' : '');
    li.dataset.id = r.id; li.dataset.kind = r.kind;
    var box = document.createElement('input');
    box.type = 'checkbox'; box.checked = r.visible; box.title = '显示 show on the map';
    box.addEventListener('change', function () { toggle(r, box.checked); });
    var title = document.createElement('button');
    title.type = 'button'; title.className = 'result-title'; title.textContent = r.title;
    title.title = '在面板中显示并缩放 show in the panel and zoom';
    title.addEventListener('click', function () { if (active === r) { fitGroup(r.group); } else { activate(r, true); } });
    var x = document.createElement('button');
    x.type = 'button'; x.className = 'result-remove'; x.textContent = '×'; x.title = '移除 remove';
    x.addEventListener('click', function () { removeResult(r); });
    li.appendChild(box); li.appendChild(title); li.appendChild(x);
    list.appendChild(li);
  });
  list.hidden = !list.children.length;
  map.fire('rm:legend');
}

function fitGroup(g) {
  try { map.fitBounds(g.getBounds(), L.extend({ maxZoom: 14 }, focusPadding())); } catch (e) { /* empty */ }
}

export function exportButtons(data, pdf) {
  $('export-geojson').disabled = !data; $('export-csv').disabled = !data; $('export-pdf').disabled = !pdf;
  $('export-brief').disabled = !state.brief;
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

/* The panel of the result being built; an earlier result of the same analysis is replaced by it. */
export function resultBox(kind, title) {
  var div = document.createElement('div');
  div.className = 'result-body';
  div.dataset.kind = kind;
  div.innerHTML = '<div class="rm-panel-title">' + esc(title) + '</div>';
  $('result').appendChild(div);
  if (active && !active.node) {
    active.node = div; active.kind = kind; active.title = title; active.key = keyOf(state.analysis);
    results.filter(function (r) { return r !== active && r.key && r.key === active.key; }).forEach(function (r) {
      map.removeLayer(r.group);
      results.splice(results.indexOf(r), 1);
    });
    renderList();
  }
  revealResult();
  return div;
}

/* Result markers of a stored feature (an exposure's source) keep the feature's own action buttons. */
export function withActions(layer, meta, name, id) {
  function bind(l) {
    if (l.eachLayer) { l.eachLayer(bind); return; }
    if (!l.bindPopup) { return; }
    l.bindPopup(function () {
      var d = document.createElement('div');
      d.className = 'rm-popup';
      d.innerHTML = '<div class="rm-popup-title">' + esc(name || '') + '</div>';
      var acts = RiskMap.popupActions && RiskMap.popupActions(meta, { id: id });
      if (acts) { d.appendChild(acts); }
      return d;
    }, { maxWidth: 360 });
  }
  bind(layer);
  return layer;
}
