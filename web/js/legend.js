/* The viewer's legend (bottom right): a row for every catalogue layer on the map (its own symbol) and for
 * what the results on the map draw (zone levels, IR contours, receptors, teams, routes, the incident or
 * source). Rebuilt when a layer or a result is shown, hidden or removed (the map's 'rm:legend' event).
 * The title folds it; it starts folded on phones and tablets, and prints with the map. */
import { esc } from './dom.js';
import { isCompact } from './layout.js';
import { map, state } from './state.js';

var RESULT_ROWS = {
  zone: [['#d7191c', '红区 red zone'], ['#fd8d3c', '橙区 orange zone'], ['#fecc5c', '黄区 yellow zone']],
  receptor: [['#41ab5d', '受体 receptor (颜色=所在区 colour = its zone)', 'circle']],
  team: [['#3182bd', '救援队伍 rescue team', 'plus']],
  route: [['#2171b5', '救援路线 route (road)', 'line']],
  incident: [['#ef3b2c', '事故点 / 风险源 incident / source', 'triangle-exclamation']]
};
var SITING_IR = [['#d7191c', '个人风险 IR ≥ 1×10⁻⁵ /年'], ['#fd8d3c', '个人风险 IR ≥ 3×10⁻⁶ /年'], ['#fecc5c', '个人风险 IR ≥ 3×10⁻⁷ /年']];
var KIND_ROWS = { exposure: ['zone', 'receptor', 'incident'], rescue: ['team', 'route', 'incident'],
  risk: ['ir'], siting: ['siting'], package: ['zone', 'team', 'route'] };

function swatch(fill, stroke, family) {
  return '<span class="rm-swatch rm-swatch-' + esc(family || 'polygon') + '" style="background:' + esc(fill) +
    ';border-color:' + esc(stroke || fill) + '"></span>';
}

function iconSwatch(color, icon) {
  if (icon === 'line') { return swatch(color, color, 'line'); }
  if (icon === 'circle') { return swatch(color, '#000', 'point'); }
  return '<span class="rm-icon-badge rm-icon-small" style="background:' + esc(color) + ';border-color:' + esc(color) +
    '"><i class="fa-solid fa-' + esc(icon) + '"></i></span>';
}

function layerRows() {
  return Object.keys(state.rows || {}).filter(function (n) { return state.rows[n].box.checked && state.metas[n]; })
    .map(function (n) {
      var m = state.metas[n];
      return '<div class="rm-legend-row" data-layer="' + esc(n) + '">' + swatch(m.style.fillColor, m.style.color, m.family) +
        '<span>' + esc(m.title) + '</span></div>';
    });
}

function resultRows() {
  var list = (window.viewer.resultsList ? window.viewer.resultsList() : []).filter(function (r) { return r.visible; });
  var keys = [];
  list.forEach(function (r) { (r.legend || KIND_ROWS[r.kind] || []).forEach(function (k) { if (keys.indexOf(k) < 0) { keys.push(k); } }); });
  var rows = [];
  keys.forEach(function (k) {
    if (k === 'ir') {
      (state.config.risk_levels || []).forEach(function (l) {
        rows.push('<div class="rm-legend-row" data-result="ir">' + swatch(l.color, '#666') + '<span>IR ≥ ' + esc(Number(l.level).toExponential(0)) + ' /年</span></div>');
      });
      return;
    }
    if (k === 'siting_ir') {   // a siting check's QRA contours, drawn in the zone colours (analysis/siting/risk.py)
      SITING_IR.forEach(function (row) {
        rows.push('<div class="rm-legend-row" data-result="siting_ir">' + swatch(row[0], row[0]) + '<span>' + esc(row[1]) + '</span></div>');
      });
      return;
    }
    if (k === 'siting') {
      rows.push('<div class="rm-legend-row" data-result="siting">' + swatch('#969696', '#252525') + '<span>选址方案 proposal</span></div>');
      rows.push('<div class="rm-legend-row" data-result="siting">' + swatch('#fb6a4a', '#a50f15') + '<span>冲突 conflict</span></div>');
      return;
    }
    (RESULT_ROWS[k] || []).forEach(function (row) {
      rows.push('<div class="rm-legend-row" data-result="' + esc(k) + '">' +
        (row[2] ? iconSwatch(row[0], row[2]) : swatch(row[0], row[0])) + '<span>' + esc(row[1]) + '</span></div>');
    });
  });
  return rows;
}

var control = L.control({ position: 'bottomright' });
control.onAdd = function () {
  var div = L.DomUtil.create('div', 'rm-legend viewer-legend');
  div.id = 'viewer-legend';
  if (isCompact()) { div.classList.add('rm-folded'); }
  L.DomEvent.disableClickPropagation(div);
  L.DomEvent.disableScrollPropagation(div);
  div.addEventListener('click', function (e) { if (e.target.closest('.rm-legend-title')) { div.classList.toggle('rm-folded'); } });
  return div;
};

export function refreshLegend() {
  var div = document.getElementById('viewer-legend');
  if (!div || !state.config) { return; }
  var res = resultRows(), lay = layerRows();
  div.innerHTML = '<div class="rm-legend-title" role="button" title="折叠 fold">图例 Legend</div>' +
    (res.length ? '<div class="rm-legend-sub">结果 Results</div>' + res.join('') : '') +
    (lay.length ? '<div class="rm-legend-sub">图层 Layers</div>' + lay.join('') : '');
}

export function setupLegend() {
  control.addTo(map);
  map.on('rm:legend', refreshLegend);
  refreshLegend();
}
