/* The planner's inventory form (siting panel): the proposal's hazardous substances and their design maximum
 * quantities, so the siting check runs the quantitative risk assessment (GB 36894-2018 criteria) instead of the
 * screening distance. An uploaded file's inventory fills the form; a drawn proposal gets its rows from here.
 * The storage condition shown beside a substance (pressurised liquefied, compressed gas, atmospheric liquid and
 * the pressure at 20 °C) is the QRA's substance table's (config.substances), not an input. */
import { $ } from './dom.js';
import { state } from './state.js';

var STORAGE = {
  pressurised_liquefied: '加压液化 pressurised liquefied',
  compressed_gas: '压缩气体 compressed gas',
  atmospheric_liquid: '常压液体 atmospheric liquid'
};

function norm(s) { return String(s || '').trim().toLowerCase(); }

/* The substance a typed name means (key, Chinese or English name, CAS), or null. */
export function substanceOf(name) {
  var n = norm(name);
  if (!n) { return null; }
  return (state.config.substances || []).find(function (s) {
    return [s.key, s.zh, s.en, s.cas].some(function (x) { return norm(x) === n; });
  }) || null;
}

function conditionText(name) {
  if (!norm(name)) { return ''; }
  var s = substanceOf(name);
  if (!s) { return '未知物质 unknown substance — 从列表中选择 pick one from the list'; }
  if (!s.qra) { return s.zh + ' ' + s.en + ' · 定量风险评价无此物质的泄漏数据 no QRA release data'; }
  return s.zh + ' ' + s.en + ' · ' + (STORAGE[s.qra.storage] || s.qra.storage) +
    (s.qra.pressure_bar_abs ? ' · ' + s.qra.pressure_bar_abs + ' bar(a) @ 20 °C' : '');
}

export function addRow(item) {
  item = item || {};
  var tr = document.createElement('tr');
  tr.className = 'inv-row';
  tr.innerHTML = '<td><input class="inv-substance" list="substance-list" maxlength="100" aria-label="物质 substance" placeholder="氯 chlorine">' +
    '<div class="inv-cond muted"></div></td>' +
    '<td><input class="inv-q" type="number" min="0" step="any" aria-label="设计最大量 quantity t"></td>' +
    '<td><input class="inv-temp" type="number" step="any" aria-label="操作温度 operating temperature °C" placeholder="—"></td>' +
    '<td><button type="button" class="inv-del" title="删除 remove" aria-label="删除 remove">×</button></td>';
  var sub = tr.querySelector('.inv-substance');
  sub.value = item.substance || item.cas || '';
  if (item.quantity_t !== undefined && item.quantity_t !== null) { tr.querySelector('.inv-q').value = item.quantity_t; }
  if (item.operating_temp_c !== undefined && item.operating_temp_c !== null) { tr.querySelector('.inv-temp').value = item.operating_temp_c; }
  // attributes the form does not show (pipes, containment, …) travel with the row unchanged
  tr._extra = {};
  Object.keys(item).forEach(function (k) {
    if (['substance', 'cas', 'quantity_t', 'operating_temp_c'].indexOf(k) < 0) { tr._extra[k] = item[k]; }
  });
  function cond() { tr.querySelector('.inv-cond').textContent = conditionText(sub.value); }
  sub.addEventListener('input', cond);
  cond();
  tr.querySelector('.inv-del').addEventListener('click', function () { tr.remove(); });
  $('inv-rows').appendChild(tr);
  return tr;
}

/* The form filled from a proposal's properties (an upload's inventory and unit type). */
export function setInventory(props) {
  props = props || {};
  $('inv-rows').innerHTML = '';
  (Array.isArray(props.inventory) ? props.inventory : []).forEach(addRow);
  if (!$('inv-rows').children.length) { addRow(); }
  $('inv-unit').value = props.unit_type === 'production' ? 'production' : 'storage';
}

/* {items, unit_type, problems}: the rows with a substance or a quantity; a half-filled row is a problem. */
export function readInventory() {
  var items = [], problems = [];
  Array.prototype.forEach.call(document.querySelectorAll('#inv-rows .inv-row'), function (tr, i) {
    var name = tr.querySelector('.inv-substance').value.trim();
    var q = tr.querySelector('.inv-q').value, t = tr.querySelector('.inv-temp').value;
    if (!name && q === '') { return; }
    if (!name) { problems.push('第 ' + (i + 1) + ' 行缺少物质 row ' + (i + 1) + ': substance missing'); return; }
    if (q === '' || !(parseFloat(q) >= 0)) { problems.push('第 ' + (i + 1) + ' 行数量无效 row ' + (i + 1) + ': quantity in t missing'); return; }
    var s = substanceOf(name);
    var item = Object.assign({}, tr._extra || {}, { substance: s ? s.key : name, quantity_t: parseFloat(q) });
    if (t !== '') { item.operating_temp_c = parseFloat(t); }
    items.push(item);
  });
  return { items: items, unit_type: $('inv-unit').value, problems: problems };
}

export function inventoryNote(text, warn) {
  var el = $('inv-note');
  el.textContent = text || '';
  el.className = 'muted' + (warn ? ' warn' : '');
}

export function setupInventory(config) {
  var list = $('substance-list');
  (config.substances || []).forEach(function (s) {
    var o = document.createElement('option');
    o.value = s.key;
    o.label = s.zh + ' ' + s.en + (s.qra ? '' : ' (无QRA数据 no QRA data)');
    list.appendChild(o);
  });
  $('inv-add').addEventListener('click', function () { addRow().querySelector('.inv-substance').focus(); });
  addRow();
}
