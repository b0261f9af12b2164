/* A layer's attribute table in the result panel. */
import { $, esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { zoomToFeature, panelView, exportButtons } from './results.js';
import { state } from './state.js';
import { sortableTable } from './tables.js';

export function attributeTable(name, filter) {
  var meta = state.metas[name];
  var cols = meta.popup.filter(function (a) { return a.type !== 'json'; });
  var q = filter ? '&q=' + encodeURIComponent(filter) : '';
  status('属性表 attribute table…');
  return getJSON('/collections/' + encodeURIComponent(name) + '/items?limit=200' + q + '&properties=' +
    encodeURIComponent(cols.map(function (a) { return a.name; }).join(','))).then(function (fc) {
    panelView();
    var div = document.createElement('div');
    div.className = 'result-body'; div.dataset.kind = 'attributes';
    div.innerHTML = '<div class="rm-panel-title">' + esc(meta.title) + ' — 属性表 attribute table</div>' +
      '<form class="attr-filter"><input type="search" placeholder="名称包含 name contains" value="' + esc(filter || '') + '"><button>筛选 filter</button></form>' +
      '<div class="muted">显示 ' + fc.features.length + ' / 共 ' + fc.numberMatched + ' shown' +
      (fc.numberMatched > fc.features.length ? '（仅前 200 条，请筛选 first 200 only: filter）' : '') + '</div>';
    var rows = fc.features.map(function (f) {
      return { f: f, cells: [f.id].concat(cols.map(function (a) { return RiskMap.formatValue(a, f.properties[a.name]); })) };
    });
    var t = sortableTable(['id'].concat(cols.map(function (a) { return a.label; })), rows, function (r) { zoomToFeature(name, r.f); });
    div.appendChild(t);
    div.querySelector('form').addEventListener('submit', function (ev) { ev.preventDefault(); attributeTable(name, ev.target.querySelector('input').value.trim()); });
    $('result').appendChild(div);
    state.table = { columns: ['id'].concat(cols.map(function (a) { return a.name; })), rows: rows.map(function (r) { return r.cells; }) };
    state.result = fc;
    exportButtons(true, false);
    status(fc.numberMatched + ' 个要素 features');
  }).catch(function (e) { fail('属性表失败 table failed', e); });
}
