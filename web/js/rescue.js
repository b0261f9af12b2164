/* Nearest rescue teams (by road time or distance) for a point or a feature. */
import { $, esc, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { zhEn, field } from './labels.js';
import { updateHash } from './permalink.js';
import { zoomToFeature, startResult, exportButtons, drawFeatures, fitResult, resultBox } from './results.js';
import { query } from './scenario.js';
import { resultGroup, state } from './state.js';
import { sortableTable, strings, notesHtml, km } from './tables.js';
import { borderNote } from './audit.js';

export function rescueQuery(a) {
  return 'k=' + encodeURIComponent(a.k) + '&by=' + encodeURIComponent(a.by) +
    (a.incident ? '&incident=' + encodeURIComponent(a.incident) : '');
}

export function runRescue(a, keepView) {
  var url = a.layer ? state.config.endpoints.rescue + '/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '?' + rescueQuery(a)
    : state.config.endpoints.rescue + '?lon=' + a.lon.toFixed(6) + '&lat=' + a.lat.toFixed(6) + '&' + rescueQuery(a);
  status('查询最近救援队伍… nearest rescue teams');
  return getJSON(url).then(function (doc) {
    startResult();
    state.result = doc; state.analysis = a;
    showRescue(doc, a);
    fitResult(keepView);
    updateHash();
  }).catch(function (e) { fail('救援查询失败 rescue query failed', e); });
}

export function nearestRescue(lat, lng, keepView) {
  return runRescue({ type: 'rescue', lon: lng, lat: lat, incident: $('incident').value, k: +$('rescue-k').value || 5,
                     by: $('rescue-by').value }, keepView);
}

export function rescueForFeature(layer, id) {
  return runRescue({ type: 'rescue', layer: layer, id: id, k: +$('rescue-k').value || 5, by: $('rescue-by').value });
}

export function showRescue(doc, a) {
  var meta = doc.metadata || {};
  var border = borderNote(doc);     // before drawing: it adds each team's 跨辖区 line
  var teams = doc.features.filter(function (f) { return f.properties.kind === 'team'; });
  var routes = doc.features.filter(function (f) { return f.properties.kind !== 'team'; });
  // routes unlabelled; one short permanent label per team (rank and ETA), name in the popup
  drawFeatures({ type: 'FeatureCollection', features: routes }, '路线 route', { labelKey: '_none', showDistance: false });
  resultGroup.addLayer(RiskMap.resultLayer({ type: 'FeatureCollection', features: teams }, {
    title: '救援队伍 team', permanentLabels: true, rankLabels: false, labelKey: '_none', showDistance: false,
    label: function (p) { return p.rank + (p.eta_min != null ? ' · ' + Number(p.eta_min).toFixed(0) + ' min' : ''); } }));
  var o = meta.origin || (a.lat !== undefined ? { lat: a.lat, lon: a.lon } : null);
  if (o) {
    var inc = L.marker([o.lat, o.lon], { zIndexOffset: 1000, icon: L.divIcon({ className: 'rm-icon rm-incident', iconSize: [28, 28], iconAnchor: [14, 14],
      html: '<span class="rm-icon-badge" style="background:#ef3b2c;border-color:#67000d;width:26px;height:26px"><i class="fa-solid fa-triangle-exclamation"></i></span>' }) });
    inc.bindTooltip('事故点 incident', { direction: 'top', offset: [0, -12] });
    resultGroup.addLayer(inc);
  }
  var incLabel = meta.incident_label ? Object.keys(meta.incident_label).map(function (k) {
    return meta.incident_label[k].zh + ' ' + meta.incident_label[k].en; }).join(', ') : meta.incident;
  var inf = meta.incident_feature;
  var box = resultBox('rescue', '最近救援队伍 Nearest rescue teams');
  var met = teams.filter(function (f) { return f.properties.meets_standard === true; }).length;
  box.insertAdjacentHTML('beforeend',
    '<div class="muted">' + esc((inf ? (inf.name || inf.layer + ' #' + inf.id) + ' · ' : '') + '事故 incident: ' + incLabel + ' · 排序 by ' +
      (meta.by === 'time' ? '道路时间 road time' : '直线距离 straight line')) + '</div>' +
    '<div class="rm-verdict rm-verdict-' + (met === teams.length && teams.length ? 'pass' : (met ? 'conditional' : 'fail')) + '">' +
      esc(met + '/' + teams.length + ' 支队伍达标 teams meet the arrival standard') + '</div>' + border +
    '<div class="standards">' + Object.keys(meta.standards || {}).map(function (k) {
      var s = meta.standards[k];
      return '<div class="standard"><b>' + esc((s.team_type_zh || k) + ' ' + k) + '：到达标准 standard ' + s.standard_min + ' min</b> <span class="muted">' + esc(s.source || '') + '</span></div>';
    }).join('') + '</div>');
  var cols = [field('rank'), field('name') + ' / ' + field('team_type'), '直线/道路 km straight/road', 'ETA / 标准 standard min', field('meets_standard')];
  var rows = teams.map(function (f) {
    var p = f.properties, m = p.meets_standard;
    return { f: f, cls: m === true ? 'pass' : 'fail',
      sortKeys: [p.rank, p.name, p.road_distance_m != null ? p.road_distance_m : p.distance_m, p.eta_min, m === true ? 1 : 0],
      csv: [p.rank, p.name, p.team_type, km(p.distance_m), km(p.road_distance_m), p.eta_min, p.standard_min, m],
      cells: [p.rank, p.name + ' · ' + (p.team_type_zh || p.team_type), km(p.distance_m) + ' / ' + km(p.road_distance_m),
        (p.eta_min != null ? Number(p.eta_min).toFixed(1) : '—') + ' / ' + p.standard_min, zhEn('meets', m === true || m === false ? m : null)] };
  });
  box.appendChild(sortableTable(cols, rows, function (r) { zoomToFeature('rescue_teams', r.f); }));
  box.insertAdjacentHTML('beforeend', notesHtml('方法与局限 Method and limitations', strings(meta.method).concat(strings(meta.limitations), strings(meta.reason)), false));
  state.table = { columns: ['rank', 'name', 'team_type', 'distance_km', 'road_km', 'eta_min', 'standard_min', 'meets_standard'],
                  rows: rows.map(function (r) { return r.csv; }) };
  var q = a.layer ? null : 'lon=' + a.lon.toFixed(6) + '&lat=' + a.lat.toFixed(6) + '&' + rescueQuery(a);
  if (!q && o) { q = 'lon=' + o.lon + '&lat=' + o.lat + '&incident=' + encodeURIComponent(meta.incident) + '&k=' + a.k + '&by=' + a.by; }
  state.pdf = q ? { url: '/reports/rescue.pdf?' + q, name: 'rescue_report.pdf' } : null;
  // the one-page brief: of the feature (its zones and these teams) or of the point (these teams)
  var onFeature = a.layer && (state.config.exposure_layers || []).indexOf(a.layer) >= 0;
  var bq = o ? 'lon=' + o.lon + '&lat=' + o.lat + '&incident=' + encodeURIComponent(meta.incident) + '&k=' + a.k : null;
  state.brief = onFeature ? { url: '/reports/brief/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '.pdf?k=' + a.k,
                              name: 'brief_' + a.layer + '_' + a.id + '.pdf' }
    : (bq ? { url: '/reports/brief.pdf?' + bq, name: 'brief.pdf' } : null);
  exportButtons(true, !!state.pdf);
  status(teams.length + ' 支队伍 teams');
}
