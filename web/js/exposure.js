/* Exposure zones and exposed receptors of a hazard. */
import { esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { zhEn, field } from './labels.js';
import { updateHash } from './permalink.js';
import { zoomToFeature, startResult, exportButtons, drawFeatures, fitResult, resultBox, withActions } from './results.js';
import { scenarioParams, query } from './scenario.js';
import { focusPadding } from './layout.js';
import { map, resultGroup, state } from './state.js';
import { sortableTable, strings, notesHtml } from './tables.js';
import { borderNote } from './audit.js';

export function exposure(layer, id, params, keepView) {
  try { params = params || scenarioParams(); } catch (e) { status(e.message, true); return Promise.resolve(); }
  var url = state.config.endpoints.exposure.replace('{layer}', encodeURIComponent(layer)).replace('{id}', encodeURIComponent(id));
  status('暴露分析… exposure');
  var qs = query(params);
  return getJSON(url + '?receptors=true' + (qs ? '&' + qs : '')).then(function (doc) {
    startResult();
    state.result = doc; state.analysis = { type: 'exposure', layer: layer, id: id, params: params };
    showExposure(doc, layer, id, params);
    fitResult(keepView);
    updateHash();
  }).catch(function (e) { fail('暴露分析失败 exposure failed', e); });
}

export var LEVEL_RANK = { red: 0, orange: 1, yellow: 2 };

export function showExposure(doc, layer, id, params, title) {
  var meta = doc.metadata || {};
  var border = borderNote(doc);     // before drawing: it adds each zone's 跨辖区 line
  var zones = doc.features.filter(function (f) { return f.properties.feature_type === 'zone'; });
  var receptors = doc.features.filter(function (f) { return f.properties.feature_type === 'receptor'; });
  zones.sort(function (a, b) { return (LEVEL_RANK[b.properties.level] || 0) - (LEVEL_RANK[a.properties.level] || 0); });
  drawFeatures({ type: 'FeatureCollection', features: zones }, '影响区 zone', { role: 'zone', labelKey: 'label_zh' });
  drawFeatures({ type: 'FeatureCollection', features: receptors }, '受体 receptor', { role: 'receptor', showDistance: false });
  var src = meta.source || {};
  if (src.anchor_lonlat) {
    // the source keeps its own actions (rescue, QRA, exposure again) on the result layer
    resultGroup.addLayer(withActions(RiskMap.resultLayer({ type: 'Feature', properties: { name: src.name }, geometry: { type: 'Point', coordinates: src.anchor_lonlat } }, { role: 'source' }),
      state.metas[layer] || { name: layer }, src.name, id));
  }
  var total = meta.exposure || {};
  var box = resultBox('exposure', title || '暴露分析 Exposure — ' + (src.name || layer + ' #' + id));
  var pr = meta.parameters || {};
  box.insertAdjacentHTML('beforeend',
    '<div class="rm-verdict rm-verdict-' + (total.receptor_count ? 'fail' : 'pass') + '">' +
    esc('暴露受体 ' + (total.receptor_count || 0) + ' 个 · 人口 ' + (total.total_population || 0) + ' — exposed ' + (total.receptor_count || 0) + ', population ' + (total.total_population || 0)) + '</div>' + border +
    '<div class="muted">' + esc('情景 scenario: 风从 wind from ' + (pr.wind_dir_deg != null ? pr.wind_dir_deg + '°' : '— (全向 all directions)') +
      ' · ' + (pr.wind_speed_m_s != null ? pr.wind_speed_m_s + ' m/s' : '') + ' · 稳定度 stability ' + (pr.stability || '—') +
      (pr.weather ? ' · ' + pr.weather : '') + (pr.release_rate_g_s ? ' · ' + pr.release_rate_g_s + ' g/s' : '')) + '</div>');
  // zones: model, threshold and the substance that drives each
  var zcols = [field('level'), field('threshold'), field('substance'), field('distance_m'), field('receptor_count'), field('population')];
  var zrows = zones.map(function (f) {
    var p = f.properties, ex = p.exposure || {};
    var flags = [];
    if (p.beyond_model_range) { flags.push("超出模型适用范围 beyond the model's range"); }
    else if (p.truncated) { flags.push('截断 truncated'); }
    if (p.near_field) { flags.push('近场 near field'); }
    return { f: f, cls: p.level === 'red' ? 'fail' : 'warn',
      cells: [(p.label_zh || zhEn('levels', p.level)),
        (p.threshold != null ? p.threshold + ' ' + (p.threshold_unit || '') : '—') + (flags.length ? ' ⚠ ' + flags.join(', ') : ''),
        p.substance || '—', p.distance_m != null ? Math.round(p.distance_m) : '—', ex.receptor_count, ex.total_population] };
  });
  box.insertAdjacentHTML('beforeend', '<div class="rm-panel-sub">影响区 Zones（模型、阈值、主导物质 model, threshold, driving substance）</div>');
  box.appendChild(sortableTable(zcols, zrows, function (r) { map.fitBounds(L.geoJSON(r.f).getBounds(), focusPadding(20)); }));
  // exposed receptors by zone: class, population, distance; sortable; click to zoom
  var rcols = [field('zone'), field('name'), field('receptor_class'), field('population'), field('distance_m')];
  var rrows = receptors.map(function (f) {
    var p = f.properties;
    return { f: f, cls: p.innermost_level === 'red' ? 'fail' : 'warn',
      sortKeys: [LEVEL_RANK[p.innermost_level], p.name, p.class_zh, p.population, p.distance_m],
      cells: [zhEn('levels', p.innermost_level), p.name, p.class_zh || zhEn('receptor_classes', p.receptor_class), p.population,
        p.distance_m != null ? Math.round(p.distance_m) : '—'] };
  });
  rrows.sort(function (a, b) { return (a.sortKeys[0] - b.sortKeys[0]) || (a.sortKeys[4] - b.sortKeys[4]); });
  box.insertAdjacentHTML('beforeend', '<div class="rm-panel-sub">暴露受体 Exposed receptors (' + rrows.length + ')</div>');
  if (rrows.length) {
    var rt = sortableTable(rcols, rrows, function (r) { zoomToFeature('receptors', r.f); });
    rt.classList.add('receptor-table');
    box.appendChild(rt);
  } else { box.insertAdjacentHTML('beforeend', '<div class="muted">无 none</div>'); }
  var limits = [], sources = [];
  (meta.models || []).forEach(function (m) { limits = limits.concat(strings(m.limitations)); sources = sources.concat(strings(m.sources)); });
  var uniq = function (a) { return a.filter(function (x, i) { return a.indexOf(x) === i; }); };
  box.insertAdjacentHTML('beforeend',
    notesHtml('模型与阈值 Models and thresholds', uniq(zones.map(function (f) {
      var p = f.properties;
      return (p.label_zh || p.level) + ': ' + (p.model || '') + ' — ' + (p.level_name || '') + ' (' + p.threshold + ' ' + (p.threshold_unit || '') + '), ' + (p.substance || '') +
        (p.threshold_source ? '; 阈值来源 threshold source: ' + p.threshold_source : '') +
        (p.model_reason ? '; 模型选择 model choice: ' + p.model_reason : '') +
        (p.truncated ? '; ⚠ 截断 truncated: ' + (p.truncation_reason || '') : '') +
        (p.near_field ? '; ⚠ 近场 near field' : '');
    })), true) +
    notesHtml('未运行的模型 Models not run', strings(meta.skipped_models), false) +
    notesHtml('局限 Limitations', uniq(limits), true) +
    notesHtml('假设与警示 Assumptions and warnings', strings(meta.assumptions).concat(strings(meta.warnings), strings(meta.population_note)), false) +
    notesHtml('来源 Sources', uniq(sources), false));
  state.table = { columns: ['zone', 'name', 'receptor_class', 'population', 'distance_m'], rows: rrows.map(function (r) { return r.cells; }) };
  var qs = query(params || {});
  state.pdf = { url: '/reports/exposure/' + encodeURIComponent(layer) + '/' + encodeURIComponent(id) + '.pdf' + (qs ? '?' + qs : ''),
                name: 'exposure_' + layer + '_' + id + '.pdf' };
  state.brief = { url: '/reports/brief/' + encodeURIComponent(layer) + '/' + encodeURIComponent(id) + '.pdf' + (qs ? '?' + qs : ''),
                  name: 'brief_' + layer + '_' + id + '.pdf' };
  exportButtons(true, true);
  status(zones.length + ' 个影响区 zones · ' + receptors.length + ' 个受体 receptors');
}
