/* Quantitative risk (GB 36894): IR contours, protection targets, F-N. */
import { esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { zhEn } from './labels.js';
import { updateHash } from './permalink.js';
import { zoomToFeature, startResult, exportButtons, drawFeatures, fitResult, resultBox } from './results.js';
import { focusPadding } from './layout.js';
import { map, resultGroup, state } from './state.js';
import { sortableTable, strings, notesHtml } from './tables.js';

/* Stored hazard sources are in service: GB 36894's "existing installation" column (在役) applies to them, as in
 * the siting check of a stored park. A proposal's new installation is judged by the siting check instead. */
export function riskUrl(a, pdf) {
  var q = 'installation=existing';
  if (pdf) {
    return a.park_id ? '/reports/risk.pdf?park_id=' + encodeURIComponent(a.park_id) + '&' + q
      : '/reports/risk/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '.pdf?' + q;
  }
  var base = state.config.endpoints.risk;
  return (a.park_id ? base + '?park_id=' + encodeURIComponent(a.park_id) + '&'
    : base + '/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '?') + q + '&societal=true';
}

export function risk(a, keepView) {
  status('定量风险计算… quantitative risk');
  return getJSON(riskUrl(a)).then(function (doc) {
    startResult();
    state.result = doc; state.analysis = a;
    showRisk(doc, a);
    state.pdf = { url: riskUrl(a, true), name: a.park_id ? 'risk_park_' + a.park_id + '.pdf' : 'risk_' + a.layer + '_' + a.id + '.pdf' };
    exportButtons(true, true);
    fitResult(keepView, 16);   // one installation's contours span a few hundred metres
    updateHash();
  }).catch(function (e) { fail('定量风险计算失败 quantitative risk failed', e); });
}

export function sci(v, d) { return v === null || v === undefined ? '—' : Number(v).toExponential(d === undefined ? 2 : d); }

export function showRisk(doc, a) {
  var meta = doc.metadata || {}, fn = meta.societal || {};
  resultGroup.addLayer(RiskMap.irLayer(doc, state.config.risk_levels));
  var insts = { type: 'FeatureCollection', features: (meta.installations || []).map(function (i) {
    return { type: 'Feature', geometry: { type: 'Point', coordinates: [i.lon, i.lat] }, properties: { role: 'source', name: i.name, id: i.id } };
  }) };
  drawFeatures(insts, '风险源 installation', {});
  var targets = (meta.receptors || []).slice().sort(function (x, y) { return y.ir_per_year - x.ir_per_year; });
  var failing = targets.filter(function (t) { return t.verdict === 'fail'; });
  var mx = meta.max_ir || {};
  var box = resultBox('risk', '定量风险 Quantitative risk (GB 36894-2018)');
  box.insertAdjacentHTML('beforeend',
    '<div class="rm-verdict rm-verdict-' + (failing.length ? 'fail' : 'pass') + '">' +
    esc(failing.length + '/' + targets.length + ' 个防护目标超出基准 protection targets above their criterion') + '</div>' +
    '<div class="muted">' + esc('最大个人风险 max IR ' + sci(mx.ir_per_year) + ' /年 · ' + (meta.installations || []).length +
      ' 个风险源 installation(s) · ' + ((meta.parameters || {}).installation === 'existing' ? '在役 existing' : '新建 new')) + '</div>');
  var levels = {};
  (state.config.risk_levels || []).forEach(function (l) { levels[String(l.level)] = l.color; });
  var crows = (doc.features || []).slice().sort(function (x, y) { return y.properties.level_per_year - x.properties.level_per_year; }).map(function (f) {
    var p = f.properties;
    return { f: f, cells: [sci(p.level_per_year, 0), p.label_zh, (p.area_m2 / 1e6).toFixed(4)], sortKeys: [p.level_per_year, p.label_zh, p.area_m2] };
  });
  box.insertAdjacentHTML('beforeend', '<div class="rm-subtitle">等值线 Contours</div>');
  if (crows.length) {
    box.insertAdjacentHTML('beforeend', '<div class="risk-legend">' + crows.map(function (r) {
      var lvl = r.f.properties.level_per_year;
      return '<span><i style="background:' + esc(levels[String(lvl)] || '#999') + '"></i>≥ ' + esc(sci(lvl, 0)) + '</span>';
    }).join('') + '</div>');
    var ct = sortableTable(['IR /年', '等值线 contour', '面积 km²'], crows, function (r) { map.fitBounds(L.geoJSON(r.f).getBounds(), focusPadding(20)); });
    ct.classList.add('risk-contours');
    box.appendChild(ct);
  } else {
    box.insertAdjacentHTML('beforeend', '<div class="muted">' + esc('最大个人风险低于 3×10⁻⁷/年 max IR below every level') + '</div>');
  }
  box.insertAdjacentHTML('beforeend', '<div class="rm-subtitle">防护目标 Protection targets</div>');
  var trows = targets.map(function (t) {
    var cells = [t.name || '#' + t.id, zhEn('receptor_classes', t.receptor_class), t.target_class_zh || t.target_class,
                 sci(t.ir_per_year), sci(t.criterion_per_year, 0), t.verdict === 'fail' ? '不通过 fail' : '通过 pass'];
    return { t: t, cells: cells, sortKeys: [t.name, t.receptor_class, t.target_class, t.ir_per_year, t.criterion_per_year, t.verdict],
             cls: t.verdict };
  });
  if (trows.length) {
    var tt = sortableTable(['名称 name', '类别 class', '防护目标类别', 'IR /年', '基准 /年', '结论'], trows, function (r) {
      getJSON('/collections/receptors/items/' + encodeURIComponent(r.t.id)).then(function (f) { zoomToFeature('receptors', f); });
    });
    tt.classList.add('risk-targets');
    box.appendChild(tt);
  } else {
    box.insertAdjacentHTML('beforeend', '<div class="muted">范围内无防护目标 none within reach</div>');
  }
  if (meta.societal) {
    box.insertAdjacentHTML('beforeend', '<div class="rm-subtitle">社会风险 Societal risk (F-N)</div><div class="risk-fn-chart">' +
      RiskMap.fnChart(fn) + '</div><div class="muted">' + esc((fn.assessment || {}).region_zh + ' · ' +
      ((fn.assessment || {}).lines || {}).basis) + '</div>');
  }
  box.insertAdjacentHTML('beforeend',
    notesHtml('跳过的情景 Skipped scenarios', (meta.skipped || []).map(function (x) { return (x.substance || '') + ' ' + (x.loc || '') + ': ' + x.reason; }), false) +
    notesHtml('警示 Warnings', strings(meta.warnings), false) +
    notesHtml('方法 Method', strings(meta.method).concat(strings(meta.criteria)), false) +
    notesHtml('局限 Limitations', strings(meta.limitations), false) +
    notesHtml('来源 Sources', strings(meta.sources), false));
  state.table = { columns: ['name', 'receptor_class', 'target_class', 'ir_per_year', 'criterion_per_year', 'verdict'],
    rows: targets.map(function (t) { return [t.name, t.receptor_class, t.target_class, t.ir_per_year, t.criterion_per_year, t.verdict]; }) };
  status(crows.length + ' 条等值线 contours · ' + targets.length + ' 个防护目标 targets');
}
