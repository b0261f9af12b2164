/* Catalogue layers: the layer list with counts, opacity and attribute-table buttons; live loading. */
import { attributeTable } from './attributes.js';
import { $, status } from './dom.js';
import { getJSON } from './http.js';
import { updateHash } from './permalink.js';
import { map, state } from './state.js';
import { isTiled, tiledLayer } from './tiled.js';

export function addLayerRow(meta) {
  var row = document.createElement('div');
  row.className = 'layer-row';
  var label = document.createElement('label');
  var box = document.createElement('input');
  box.type = 'checkbox'; box.disabled = true; box.dataset.layer = meta.name;
  box.addEventListener('change', function () {
    var rep = (state.replacements || {})[meta.name];      // a live layer standing in for the catalogue's (sensors)
    if (rep) { if (box.checked) { map.addLayer(rep); } else { map.removeLayer(rep); } }
    else if (box.checked) { ensureLayer(meta).then(function (layer) { if (box.checked) { map.addLayer(layer); } }); }
    else if (state.layers[meta.name]) { map.removeLayer(state.layers[meta.name]); }
    map.fire('rm:legend');
    updateHash();
  });
  var sw = document.createElement('span');
  sw.className = 'rm-swatch rm-swatch-' + meta.family;
  sw.style.background = meta.style.fillColor; sw.style.borderColor = meta.style.color;
  var text = document.createElement('span'); text.textContent = meta.title;
  label.appendChild(box); label.appendChild(sw); label.appendChild(text);
  var count = document.createElement('span'); count.className = 'count';
  var op = document.createElement('input');
  op.type = 'range'; op.min = '0.1'; op.max = '1'; op.step = '0.1'; op.value = '1'; op.className = 'opacity';
  op.title = '透明度 opacity'; op.dataset.opacity = meta.name;
  op.addEventListener('input', function () { setOpacity(meta.name, parseFloat(op.value)); });
  var tbl = document.createElement('button');
  tbl.type = 'button'; tbl.className = 'btn-table'; tbl.title = '属性表 attribute table'; tbl.dataset.table = meta.name;
  tbl.innerHTML = '<i class="fa-solid fa-table"></i>';
  tbl.addEventListener('click', function () { attributeTable(meta.name); });
  row.appendChild(label); row.appendChild(count); row.appendChild(op); row.appendChild(tbl);
  $('layers').appendChild(row);
  return { box: box, count: count };
}

export function setOpacity(name, v) {
  var layer = state.layers[name];
  if (!layer) { return; }
  state.opacity = state.opacity || {};
  state.opacity[name] = v;
  function apply(l) {
    if (l.setStyle && l.options && l.options.fillOpacity !== undefined) {
      if (l._rmBase === undefined) { l._rmBase = { o: l.options.opacity, f: l.options.fillOpacity }; }
      l.setStyle({ opacity: l._rmBase.o * v, fillOpacity: l._rmBase.f * v });
    } else if (l.setOpacity) { l.setOpacity(v); }
    if (l.eachLayer) { l.eachLayer(apply); }
  }
  apply(layer);
}

/* A big layer (at least config.tiles.threshold features, tiled.js) is drawn from the vector tiles. Any other
 * layer's grid counts are fetched when it is first shown: the first load only asks for what
 * the view needs (the layers checked at the start). */
export function ensureLayer(meta) {
  if (state.layers[meta.name]) { return Promise.resolve(state.layers[meta.name]); }
  if (isTiled(meta)) {   // a big layer: from the vector tiles (tiled.js), no grid counts to fetch
    state.layers[meta.name] = tiledLayer(meta);
    state.rows[meta.name].count.textContent = meta.count;
    state.rows[meta.name].box.dataset.tiled = '1';
    return Promise.resolve(state.layers[meta.name]);
  }
  return getJSON('/maps/aggregate/' + encodeURIComponent(meta.name)).then(function (agg) {
    var props = meta.popup.map(function (a) { return a.name; });
    if (props.indexOf('name') < 0) { props.unshift('name'); }
    if (props.indexOf('admin_code') < 0) { props.push('admin_code'); }   // every layer's jurisdiction: audit.js greys what is not ours
    var layer = RiskMap.liveLayer(meta, L.extend({ live: true, whole: true, limit: LIVE_LIMIT, properties: props,
      basemap: meta.style.basemap }, agg));
    layer.on('rm:update', function () { if (state.opacity && state.opacity[meta.name]) { setOpacity(meta.name, state.opacity[meta.name]); } });
    state.layers[meta.name] = layer;
    state.rows[meta.name].count.textContent = agg.total;
    return layer;
  });
}

export var INITIAL_OFF = { roads: true, admin_areas: true,   // the offline basemap draws both
  supply_depots: true, shelters: true, emergency_plans: true };  // resources: shown when asked for (issue 22)
export var LIVE_LIMIT = 1000;   // features per layer in view before grid counts are shown instead

export function setupLayers(config, wanted) {
  state.rows = {};
  config.layers.forEach(function (meta) { state.metas[meta.name] = meta; state.rows[meta.name] = addLayerRow(meta); });
  return Promise.all(config.layers.map(function (meta) {
    var row = state.rows[meta.name];
    row.box.disabled = false;
    var on = wanted ? wanted.indexOf(meta.name) >= 0 : !INITIAL_OFF[meta.name];
    row.box.checked = on;
    var rep = (state.replacements || {})[meta.name];
    if (rep) { if (on) { rep.addTo(map); } else { map.removeLayer(rep); } return null; }
    if (!on) { return null; }
    if (isTiled(meta)) { ensureLayer(meta); state.layers[meta.name].addTo(map); return null; }   // at once: tiled.flushTiles
    return ensureLayer(meta).then(function (layer) { if (!(state.replacements || {})[meta.name]) { layer.addTo(map); } })
      .catch(function (e) { status(meta.title + ': ' + e.message, true); });
  }));
}
