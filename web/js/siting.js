/* Siting checks: a stored park, a drawn or uploaded proposal; the draw toolbar. */
import { $, esc, status, fail } from './dom.js';
import { getJSON, download } from './http.js';
import { cancelPointPopup } from './incident.js';
import { inventoryNote, readInventory, setInventory, substanceOf } from './inventory.js';
import { zhEn, field } from './labels.js';
import { updateHash } from './permalink.js';
import { startResult, exportButtons, drawFeatures, fitResult, resultBox, setResultLegend } from './results.js';
import { map, state } from './state.js';
import { strings, notesHtml, measure } from './tables.js';

export function showSiting(doc) {
  var meta = doc.metadata || {};
  drawFeatures(doc, '选址 siting', {});
  var box = resultBox('siting', '选址检查 Siting check');
  var v = meta.verdict;
  box.insertAdjacentHTML('beforeend', '<div class="rm-verdict rm-verdict-' + esc(v) + '">' + esc('结论 Verdict: ' + zhEn('verdicts', v)) + '</div>' +
    '<div class="muted">' + esc(Object.keys(meta.summary || {}).filter(function (k) { return Array.isArray(meta.summary[k]); }).map(function (k) {
      return zhEn('outcomes', k) + ' ' + meta.summary[k].length; }).join(' · ')) + '</div>');
  var table = document.createElement('table');
  table.className = 'rm-table rm-table-grid rule-table';
  table.innerHTML = '<colgroup><col style="width:46%"><col style="width:18%"><col style="width:36%"></colgroup><tr><th>' + esc(field('rule')) + '</th><th>' + esc(field('outcome')) +
    '</th><th>' + esc(field('measured')) + ' / ' + esc(field('threshold')) + '</th></tr>';
  (meta.rules || []).forEach(function (r) {
    var d = r.description || {};
    var tr = document.createElement('tr');
    tr.className = 'rule-row rm-row-' + (r.outcome === 'not_evaluated' ? 'na' : r.outcome);
    tr.dataset.rule = r.id;
    tr.innerHTML = '<td><div>' + esc(d.zh || r.id) + '</div><div class="muted">' + esc(r.id) + (d.en ? ' — ' + esc(d.en) : '') + '</div></td>' +
      '<td>' + esc(zhEn('outcomes', r.outcome)) + '<div class="muted">' + esc(zhEn('severities', r.severity)) + '</div></td>' +
      '<td><div>' + esc(field('measured')) + ': ' + esc(measure(r.measured)) + '</div><div>' + esc(field('threshold')) + ': ' + esc(measure(r.threshold)) + '</div></td>';
    table.appendChild(tr);
    var offending = (r.offending || []).map(function (o) { return typeof o === 'object' ? (o.name || (o.layer + ' #' + o.id)) + (o.distance_m != null ? ' (' + Math.round(o.distance_m) + ' m)' : '') : String(o); });
    var extra = [];
    if (offending.length) { extra.push(field('evidence') + ': ' + offending.slice(0, 8).join('; ') + (offending.length > 8 ? ' … +' + (offending.length - 8) : '')); }
    strings(r.notes).forEach(function (n) { extra.push(field('notes') + ': ' + n); });
    if (r.source) { extra.push(field('source') + ': ' + r.source); }
    var tr2 = document.createElement('tr');
    tr2.className = 'rule-detail';
    tr2.innerHTML = '<td colspan="3">' + extra.map(function (x) { return '<div>' + esc(x) + '</div>'; }).join('') + '</td>';
    table.appendChild(tr2);
  });
  box.appendChild(table);
  box.insertAdjacentHTML('beforeend', notesHtml('判定规则 Verdict rule', strings(meta.verdict_rule), false));
  state.table = { columns: ['rule', 'rule_zh', 'outcome', 'severity', 'measured', 'threshold', 'source', 'notes'],
    rows: (meta.rules || []).map(function (r) { return [r.id, (r.description || {}).zh, r.outcome, r.severity, measure(r.measured), measure(r.threshold), r.source, strings(r.notes).join('; ')]; }) };
  exportButtons(true, true);
  status((meta.rules || []).length + ' 条规则 rules');
}


export function sitingPark(id, keepView) {
  status('选址检查… siting check');
  return getJSON(state.config.endpoints.siting + '/' + encodeURIComponent(id) + '?f=geojson').then(function (doc) {
    startResult();
    state.result = doc; state.analysis = { type: 'siting_park', id: id };
    showSiting(doc);
    state.pdf = { url: '/reports/siting/' + encodeURIComponent(id) + '.pdf', name: 'siting_park_' + id + '.pdf' };
    fitResult(keepView);
    updateHash();
  }).catch(function (e) { fail('选址检查失败 siting check failed', e); });
}

/* The proposal's inventory as the siting check used it, and the F-N curve of its QRA (when one ran). */
function showQra(box, feature, meta) {
  var inv = (feature.properties || {}).inventory || [];
  if (inv.length) {
    box.insertAdjacentHTML('beforeend', '<div class="rm-subtitle">存量 Inventory (' +
      esc((feature.properties.unit_type === 'production' ? '生产装置 production' : '储存单元 storage')) + ')</div><div class="siting-inventory">' +
      inv.map(function (i) {
        var s = substanceOf(i.substance);
        return '<span>' + esc((s ? s.zh + ' ' + s.en : i.substance) + ' ' + i.quantity_t + ' t') + '</span>';
      }).join(' · ') + '</div>');
  }
  (meta.rules || []).forEach(function (r) {
    if (!r.societal) { return; }
    var fn = r.societal;
    box.insertAdjacentHTML('beforeend', '<div class="rm-subtitle">社会风险 Societal risk (F-N) — ' + esc(r.id) + '</div><div class="risk-fn-chart">' +
      RiskMap.fnChart(fn) + '</div><div class="muted">' + esc(((fn.assessment || {}).region_zh || '') + ' · ' +
      (((fn.assessment || {}).lines || {}).basis || '')) + '</div>');
  });
}

export function siting(feature, keepView) {
  var inv = readInventory();
  if (inv.problems.length) { status('存量表有误 inventory: ' + inv.problems.join('; '), true); return Promise.resolve(); }
  status('选址检查… siting check');
  var kind = $('siting-kind').value;
  var props = L.extend({ name: '草图方案 sketch' }, feature.properties || {}, { kind: kind });
  delete props.inventory; delete props.unit_type;
  if (inv.items.length) { props.inventory = inv.items; props.unit_type = inv.unit_type; }
  feature.properties = props;
  inventoryNote(inv.items.length ? inv.items.length + ' 种物质参与定量风险评价 substance(s) in the QRA'
    : '没有存量：外部安全距离只按筛查距离判定（非标准值）。在上表填写物质和设计最大量，再点「检查方案」。' +
      ' No inventory: the external safety distance is judged by a screening distance only (not from a standard);' +
      ' fill in substances and quantities above and press Check proposal.', !inv.items.length);
  state.proposal = feature;
  $('proposal-download').disabled = false;
  $('siting-run').disabled = false;
  return getJSON(state.config.endpoints.siting + '?f=geojson&kind=' + encodeURIComponent(kind), {
    method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: JSON.stringify(feature)
  }).then(function (doc) {
    startResult();
    state.result = doc; state.analysis = { type: 'siting', kind: kind, feature: feature };
    showSiting(doc);
    showQra(document.querySelector('#result [data-kind="siting"]'), feature, doc.metadata || {});
    if ((doc.features || []).some(function (f) { return f.properties.kind === 'risk'; })) { setResultLegend(['siting', 'siting_ir']); }
    state.pdf = { url: '/reports/siting?kind=' + encodeURIComponent(kind), name: 'siting_proposal.pdf', body: JSON.stringify(feature) };
    fitResult(keepView);
    updateHash();
  }).catch(function (e) { fail('选址检查失败 siting check failed', e); });
}

/* A shared link's or an upload's proposal: its inventory into the form, then the check. */
export function sitingWithInventory(feature, keepView) {
  var props = feature.properties || {};
  setInventory(props);
  if (props.kind === 'park' || props.kind === 'installation') { $('siting-kind').value = props.kind; }
  else if ((props.inventory || []).length) { $('siting-kind').value = 'installation'; }
  return siting(feature, keepView);
}

export function uploadProposal(file) {
  if (!file) { return Promise.resolve(); }
  var form = new FormData();
  form.append('file', file, file.name);
  status('读取方案… reading the proposal');
  return getJSON('/viewer/proposal', { method: 'POST', body: form }).then(function (feature) {
    return sitingWithInventory(feature);
  }).catch(function (e) { fail('方案上传失败 upload failed', e); });
}

export function setupDraw() {
  if (!L.Control.Draw) { return; }
  var dl = L.drawLocal.draw;
  dl.toolbar.actions = { title: '取消绘制 Cancel drawing', text: '取消' };
  dl.toolbar.finish = { title: '完成绘制 Finish drawing', text: '完成' };
  dl.toolbar.undo = { title: '删除最后一个点 Delete last point', text: '撤销上一点' };
  dl.toolbar.buttons.polygon = '画多边形（选址方案） Draw a polygon (proposal)';
  dl.toolbar.buttons.rectangle = '画矩形（选址方案） Draw a rectangle (proposal)';
  dl.handlers.polygon.tooltip = { start: '单击开始绘制 click to start', cont: '单击继续 click to continue',
    end: '单击第一个点闭合 click the first point to close' };
  dl.handlers.polyline.error = '<strong>错误：</strong>边不能相交 edges cannot cross';
  dl.handlers.rectangle.tooltip = { start: '按住并拖动绘制矩形 click and drag' };
  dl.handlers.simpleshape.tooltip = { end: '松开鼠标完成 release to finish' };
  map.addControl(new L.Control.Draw({
    position: 'topleft',
    draw: { polygon: { allowIntersection: false, showArea: false }, rectangle: { showArea: false },
            polyline: false, circle: false, marker: false, circlemarker: false },
    edit: false
  }));
  map.on('draw:drawstart', function () { state.drawing = true; cancelPointPopup(); });
  map.on('draw:drawstop', function () { setTimeout(function () { state.drawing = false; }, 0); });
  map.on('draw:created', function (e) {
    var f = e.layer.toGeoJSON();
    f.properties = { name: '草图方案 sketch' };
    siting(f, true);
  });
}
