/* A layer's attribute table: a full-width sheet over the bottom of the screen, paged by the service (the OGC items
 * API's limit/offset, so every row is reachable, not the first 200), sorted by the service (sortby), filtered on the
 * layer's queryables (GET /collections/{layer}/queryables → CQL2 text conditions, ANDed, plus "name contains"),
 * and exported as the service answers the same selection: CSV (f=csv, every matched row, WKT geometry) or GeoJSON
 * (the items document, up to the service's page maximum). A row click zooms to its feature. */
import { $, esc } from './dom.js';
import { download, getBlob, getJSON } from './http.js';
import { isCompact, setSheet } from './layout.js';
import { zoomToFeature } from './results.js';
import { state } from './state.js';

var PAGE_SIZES = [25, 50, 100, 200];
var EXPORT_LIMIT = 10000;   // one GeoJSON page (the service caps limit at GIS_MAX_LIMIT)
var OPS = [['=', '='], ['<>', '≠'], ['<', '<'], ['>', '>'], ['<=', '≤'], ['>=', '≥'], ['LIKE', '包含 contains']];
var queryables = {};
var view = null;   // { name, offset, limit, sortby, q, conds: [{prop, op, value}], matched }

function sheet() {
  var el = $('attr-sheet');
  if (el) { return el; }
  el = document.createElement('section');
  el.id = 'attr-sheet';
  el.setAttribute('aria-label', '属性表 attribute table');
  el.hidden = true;
  el.innerHTML = '<header><b class="attr-title"></b> <span class="attr-count muted"></span>' +
    '<button type="button" class="attr-close" title="关闭 close">关闭 ×</button></header>' +
    '<form class="attr-filter" autocomplete="off"><input type="search" class="attr-q" placeholder="名称包含 name contains" maxlength="200" aria-label="name contains">' +
    '<span class="attr-conds"></span><button type="button" class="attr-add">＋ 条件 condition</button>' +
    '<button type="submit" class="attr-apply">筛选 filter</button></form>' +
    '<div class="attr-pager"><button type="button" class="attr-prev">‹ 上一页 prev</button> <span class="attr-range"></span> ' +
    '<button type="button" class="attr-next">下一页 next ›</button> <label>每页 per page <select class="attr-size">' +
    PAGE_SIZES.map(function (n) { return '<option' + (n === 50 ? ' selected' : '') + '>' + n + '</option>'; }).join('') + '</select></label>' +
    ' <button type="button" class="attr-export-geojson">导出 GeoJSON</button> <button type="button" class="attr-export-csv">导出 CSV</button>' +
    ' <span class="attr-msg muted" role="status"></span></div>' +
    '<div class="attr-scroll"><table class="rm-table rm-table-grid attr-table"></table></div>';
  document.body.appendChild(el);
  el.querySelector('.attr-close').addEventListener('click', closeTable);
  el.querySelector('.attr-title').addEventListener('click', function () { el.classList.toggle('attr-min'); });
  el.querySelector('.attr-add').addEventListener('click', function () { addCondition(); });
  el.querySelector('form').addEventListener('submit', function (ev) { ev.preventDefault(); applyFilters(); });
  el.querySelector('.attr-prev').addEventListener('click', function () { page(-1); });
  el.querySelector('.attr-next').addEventListener('click', function () { page(1); });
  el.querySelector('.attr-size').addEventListener('change', function (ev) { view.limit = +ev.target.value; view.offset = 0; load(); });
  el.querySelector('.attr-export-csv').addEventListener('click', function () { exportRows('csv'); });
  el.querySelector('.attr-export-geojson').addEventListener('click', function () { exportRows('geojson'); });
  return el;
}

function msg(text, bad) {
  var m = sheet().querySelector('.attr-msg');
  m.textContent = text || '';
  m.className = 'attr-msg ' + (bad ? 'error' : 'muted');
}

export function closeTable() {
  var el = $('attr-sheet');
  if (el) { el.hidden = true; }
  document.body.classList.remove('attr-open');
}

function queryablesOf(name) {
  if (queryables[name]) { return Promise.resolve(queryables[name]); }
  return getJSON('/collections/' + encodeURIComponent(name) + '/queryables').then(function (doc) {
    var props = doc.properties || {};
    queryables[name] = Object.keys(props).filter(function (k) { return k !== 'geometry' && props[k].type; })
      .map(function (k) { return L.extend({ name: k }, props[k]); });
    return queryables[name];
  });
}

function valueControl(q, value) {
  if (q.enum) {
    var meta = (state.metas[view.name].popup || []).find(function (a) { return a.name === q.name; }) || {};
    return '<select class="attr-value" aria-label="值 value">' + q.enum.map(function (v) {
      return '<option value="' + esc(v) + '"' + (String(v) === String(value) ? ' selected' : '') + '>' +
        esc(RiskMap.formatValue(meta, v) === String(v) ? v : RiskMap.formatValue(meta, v) + ' ' + v) + '</option>';
    }).join('') + '</select>';
  }
  var num = q.type === 'integer' || q.type === 'number';
  return '<input class="attr-value" aria-label="值 value" ' + (num ? 'type="number" step="any"' : 'type="text" maxlength="200"') + '>';
}

function addCondition(cond) {
  var qs = queryables[view.name] || [];
  if (!qs.length) { return; }
  cond = cond || { prop: qs[0].name, op: '=', value: '' };
  var span = document.createElement('span');
  span.className = 'attr-cond';
  span.innerHTML = '<select class="attr-prop" aria-label="属性 attribute">' + qs.map(function (q) {
    return '<option value="' + esc(q.name) + '">' + esc(q.title || q.name) + '</option>'; }).join('') + '</select>' +
    '<select class="attr-op" aria-label="条件 operator">' + OPS.map(function (o) { return '<option value="' + esc(o[0]) + '">' + esc(o[1]) + '</option>'; }).join('') + '</select>' +
    '<span class="attr-vbox"></span><button type="button" class="attr-del" title="删除 remove" aria-label="删除 remove">×</button>';
  var prop = span.querySelector('.attr-prop');
  prop.value = cond.prop;
  span.querySelector('.attr-op').value = cond.op;
  function fill(v) {
    var q = qs.find(function (x) { return x.name === prop.value; }) || qs[0];
    span.querySelector('.attr-vbox').innerHTML = valueControl(q, v);
    var input = span.querySelector('.attr-value');
    if (input.tagName === 'INPUT') { input.value = v === undefined || v === null ? '' : v; }
  }
  prop.addEventListener('change', function () { fill(''); });
  span.querySelector('.attr-del').addEventListener('click', function () { span.remove(); });
  fill(cond.value);
  sheet().querySelector('.attr-conds').appendChild(span);
  return span;
}

function literal(q, op, raw) {
  if (op === 'LIKE') {
    return "'%" + String(raw).replace(/\\/g, '\\\\').replace(/%/g, '\\%').replace(/_/g, '\\_').replace(/'/g, "''") + "%'";
  }
  if (q.type === 'integer' || q.type === 'number') {
    var n = Number(raw);
    if (raw === '' || !isFinite(n)) { throw new Error((q.title || q.name) + ': 需要数字 a number is needed'); }
    return String(n);
  }
  if (q.type === 'boolean') { return raw === 'true' ? 'TRUE' : 'FALSE'; }
  return "'" + String(raw).replace(/'/g, "''") + "'";
}

/* The CQL2 text of the conditions (ANDed), or '' for none. */
export function cqlOf(conds, qs) {
  return conds.map(function (c) {
    var q = qs.find(function (x) { return x.name === c.prop; });
    if (!q) { throw new Error('不可查询的属性 not a queryable: ' + c.prop); }
    if (c.op === 'LIKE' && q.type !== 'string') { throw new Error((q.title || q.name) + ': 「包含」只用于文本 contains needs a text attribute'); }
    return c.prop + ' ' + c.op + ' ' + literal(q, c.op, c.value);
  }).join(' AND ');
}

function readConditions() {
  return Array.prototype.map.call(sheet().querySelectorAll('.attr-cond'), function (span) {
    return { prop: span.querySelector('.attr-prop').value, op: span.querySelector('.attr-op').value,
             value: span.querySelector('.attr-value').value };
  });
}

function applyFilters() {
  view.q = sheet().querySelector('.attr-q').value.trim();
  view.conds = readConditions();
  view.offset = 0;
  return load();
}

function selection() {
  var p = [];
  if (view.q) { p.push('q=' + encodeURIComponent(view.q)); }
  var cql = cqlOf(view.conds, queryables[view.name] || []);
  if (cql) { p.push('filter=' + encodeURIComponent(cql)); p.push('filter-lang=cql2-text'); }
  return p;
}

function columns() {
  return (state.metas[view.name].popup || []).filter(function (a) { return a.type !== 'json'; });
}

function page(dir) {
  var next = view.offset + dir * view.limit;
  if (next < 0 || (dir > 0 && !view.more)) { return Promise.resolve(); }
  view.offset = next;
  return load();
}

function render(fc) {
  var el = sheet(), cols = columns();
  view.matched = fc.numberMatched;   // undefined when the service did not count a huge selection
  view.more = RiskMap.hasMore(fc, view.offset);
  var total = RiskMap.matchedText(fc, view.offset);
  el.querySelector('.attr-count').textContent = '共 ' + total + ' 条 matched';
  var first = fc.features.length ? view.offset + 1 : 0;
  el.querySelector('.attr-range').textContent = '第 ' + first + '–' + (view.offset + fc.features.length) + ' 条 / 共 ' + total;
  el.querySelector('.attr-prev').disabled = view.offset === 0;
  el.querySelector('.attr-next').disabled = !view.more;
  var table = el.querySelector('.attr-table');
  var sortKey = (view.sortby || '').replace(/^-/, ''), desc = (view.sortby || '').charAt(0) === '-';
  table.innerHTML = '<tr>' + [{ name: 'id', label: 'id' }].concat(cols).map(function (a) {
    return '<th data-sort="' + esc(a.name) + '" title="排序 sort">' + esc(a.label) + (sortKey === a.name ? (desc ? ' ▼' : ' ▲') : '') + '</th>';
  }).join('') + '</tr>';
  fc.features.forEach(function (f) {
    var tr = document.createElement('tr');
    tr.className = 'clickable';
    tr.dataset.id = f.id;
    tr.innerHTML = '<td>' + esc(f.id) + '</td>' + cols.map(function (a) { return '<td>' + esc(RiskMap.formatValue(a, f.properties[a.name])) + '</td>'; }).join('');
    tr.addEventListener('click', function () {
      if (isCompact()) { sheet().classList.add('attr-min'); }   // on a phone: the table shrinks, the feature shows
      zoomToFeature(view.name, f);
    });
    table.appendChild(tr);
  });
  table.querySelectorAll('th').forEach(function (th) {
    th.addEventListener('click', function () {
      var k = th.dataset.sort;
      view.sortby = sortKey === k && !desc ? '-' + k : k;
      view.offset = 0;
      load();
    });
  });
}

function load() {
  var sel;
  try { sel = selection(); } catch (e) { msg(e.message, true); return Promise.resolve(); }
  var url = '/collections/' + encodeURIComponent(view.name) + '/items?limit=' + view.limit + '&offset=' + view.offset +
    '&properties=' + encodeURIComponent(columns().map(function (a) { return a.name; }).join(',')) +
    (view.sortby ? '&sortby=' + encodeURIComponent(view.sortby) : '') + (sel.length ? '&' + sel.join('&') : '');
  msg('加载… loading');
  return getJSON(url).then(function (fc) { render(fc); msg(''); })
    .catch(function (e) { msg('筛选失败 filter failed — ' + e.message, true); });
}

function exportRows(fmt) {
  var sel;
  try { sel = selection(); } catch (e) { msg(e.message, true); return Promise.resolve(); }
  var base = '/collections/' + encodeURIComponent(view.name) + '/items?';
  var url = fmt === 'csv' ? base + 'f=csv' + (sel.length ? '&' + sel.join('&') : '')
    : base + 'f=json&limit=' + EXPORT_LIMIT + (sel.length ? '&' + sel.join('&') : '');
  msg('导出… exporting');
  return getBlob(url).then(function (blob) {
    download(view.name + (fmt === 'csv' ? '.csv' : '.geojson'), blob);
    var n = view.matched === undefined ? (fmt === 'csv' ? '' : '≤ ' + EXPORT_LIMIT + ' ')   // a huge selection: not counted
      : Math.min(view.matched, fmt === 'csv' ? view.matched : EXPORT_LIMIT) + ' ';
    msg('已导出 ' + n + '条 exported');
  }).catch(function (e) { msg('导出失败 export failed — ' + e.message, true); });
}

/* Open the sheet for layer ``name``; ``filter`` is an optional "name contains" text. */
export function attributeTable(name, filter) {
  var el = sheet();
  view = { name: name, offset: 0, limit: +el.querySelector('.attr-size').value, sortby: '', q: filter || '', conds: [], matched: 0 };
  el.querySelector('.attr-title').textContent = state.metas[name].title + ' — 属性表 attribute table';
  el.querySelector('.attr-q').value = filter || '';
  el.querySelector('.attr-conds').innerHTML = '';
  el.hidden = false;
  el.classList.remove('attr-min');
  if (isCompact()) { setSheet('peek'); }
  document.body.classList.add('attr-open');
  return queryablesOf(name).catch(function () { queryables[name] = []; return []; }).then(load);
}
