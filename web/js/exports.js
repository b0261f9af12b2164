/* Exports of the current result: CSV, GeoJSON, the PDF report. */
import { status, fail } from './dom.js';
import { getBlob, download } from './http.js';
import { state } from './state.js';

export function csvCell(v) {
  var s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function exportCsv() {
  if (!state.table) { return; }
  var lines = [state.table.columns.map(csvCell).join(',')].concat(state.table.rows.map(function (r) { return r.map(csvCell).join(','); }));
  download('result.csv', new Blob(['\ufeff' + lines.join('\r\n')], { type: 'text/csv;charset=utf-8' }));
}
export function exportGeojson() {
  if (!state.result) { return; }
  download('result.geojson', new Blob([JSON.stringify(state.result)], { type: 'application/geo+json' }));
}
/* The one-page brief (简报) of the result in the panel. */
export function exportBrief() {
  if (!state.brief) { return Promise.resolve(); }
  status('生成简报… rendering the one-page brief');
  var b = state.brief;
  return getBlob(b.url).then(function (blob) { download(b.name, blob); status('简报已下载 brief downloaded'); })
    .catch(function (e) { fail('简报失败 brief failed', e); });
}

export function exportPdf() {
  if (!state.pdf) { return Promise.resolve(); }
  status('生成报告… rendering the PDF report');
  var opts = state.pdf.body ? { method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: state.pdf.body } : {};
  return getBlob(state.pdf.url, opts).then(function (blob) { download(state.pdf.name, blob); status('报告已下载 report downloaded'); })
    .catch(function (e) { fail('报告失败 report failed', e); });
}
