/* Table and note helpers shared by every result panel. */
import { esc } from './dom.js';

/* A table whose column headers sort it and whose rows zoom to their feature. */
export function sortableTable(columns, rows, onRow) {
  var table = document.createElement('table');
  table.className = 'rm-table rm-table-grid rm-sortable';
  var dir = {};
  function render() {
    table.innerHTML = '<tr>' + columns.map(function (c, i) { return '<th data-col="' + i + '">' + esc(c) + (dir.col === i ? (dir.asc ? ' ▲' : ' ▼') : '') + '</th>'; }).join('') + '</tr>';
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      if (r.cls) { tr.className = 'rm-row-' + r.cls; }
      tr.innerHTML = r.cells.map(function (c) { return '<td>' + esc(c === null || c === undefined ? '—' : c) + '</td>'; }).join('');
      if (onRow) { tr.classList.add('clickable'); tr.addEventListener('click', function () { onRow(r); }); }
      table.appendChild(tr);
    });
  }
  table.addEventListener('click', function (ev) {
    var th = ev.target.closest('th');
    if (!th) { return; }
    var i = +th.dataset.col;
    dir = { col: i, asc: dir.col === i ? !dir.asc : true };
    rows.sort(function (a, b) {
      var x = a.sortKeys ? a.sortKeys[i] : a.cells[i], y = b.sortKeys ? b.sortKeys[i] : b.cells[i];
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y), 'zh');
      return dir.asc ? c : -c;
    });
    render();
  });
  render();
  return table;
}

export function strings(v) {
  if (typeof v === 'string' && v) { return [v]; }
  if (Array.isArray(v)) { return v.map(function (x) { return typeof x === 'string' ? x : JSON.stringify(x); }); }
  return [];
}

export function notesHtml(title, list, open) {
  if (!list.length) { return ''; }
  return '<details class="rm-notes"' + (open ? ' open' : '') + '><summary>' + esc(title) + ' (' + list.length + ')</summary>' +
    list.map(function (n) { return '<div class="rm-note">' + esc(n) + '</div>'; }).join('') + '</details>';
}

export function measure(m) {
  if (!m || m.value === null || m.value === undefined) { return '—'; }
  var v = typeof m.value === 'number' ? (Math.abs(m.value) >= 100 ? m.value.toFixed(0) : +m.value.toFixed(2)) : m.value;
  return v + (m.unit ? ' ' + m.unit : '');
}

export function km(m) { return m === null || m === undefined ? '—' : (m / 1000).toFixed(1); }
