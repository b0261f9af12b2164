/* Incident command (事故处置) in the viewer: report an incident at a point (the map's "incident here" popup or
 * coordinates typed in the panel), assemble what it needs from depots and teams by road time, dispatch the
 * plan, move each unit through 已调派 → 在途 → 到场 → 撤离, print the after-action PDF. Active incidents and
 * their units are drawn on the map and kept current by the /incidents/stream Server-Sent Events.
 *
 * Its own module with no hook into the others: it adds its panel to the side bar, a button to the point
 * popup (on Leaflet's popupopen) and a layer group to the map. Writes need an editor key (the API key box). */
import { $, esc, status } from './dom.js';
import { getBlob, getJSON } from './http.js';
import { focusPadding, isCompact, setSheet } from './layout.js';
import { map } from './state.js';

var STATE_ZH = { dispatched: '已调派', en_route: '在途', on_scene: '到场', released: '已撤离' };
var NEXT = { dispatched: ['en_route', 'released'], en_route: ['on_scene', 'released'], on_scene: ['released'], released: [] };
var STEP_ZH = { en_route: '出发 en route', on_scene: '到场 on scene', released: '撤离 release' };
var COLORS = { dispatched: '#fd8d3c', en_route: '#2171b5', on_scene: '#238b45', released: '#969696' };
var DEFAULT_NEEDS = [['drainage_pump_300m3h', 4], ['drilling_rig', 1], ['personnel_mine_rescue', 30]];
var TYPES = [['mine', '矿山事故'], ['chemical', '危险化学品事故'], ['goaf', '采空区塌陷'], ['tailings_dam', '尾矿库溃坝'],
  ['fire', '火灾'], ['flood', '水灾'], ['medical', '医疗急救'], ['other', '其他']];

var inc = window.incidents = { state: { list: [], current: null, plan: null, types: [], connected: false, events: 0 } };
var st = inc.state;
var layer = L.featureGroup().addTo(map);
var planLayer = L.featureGroup().addTo(map);

function post(url, body) {
  return getJSON(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}
function fmt(x, nd) { return (x === null || x === undefined) ? '—' : Number(x).toFixed(nd === undefined ? 1 : nd); }
function hhmm(t) { return t ? t.replace('T', ' ').slice(5, 19) : '—'; }
function err(what, e) { status(what + ' — ' + e.message, true); $('inc-msg').textContent = what + ' — ' + e.message; }

/* ---- the panel ------------------------------------------------------------------------------------- */
var panel = document.createElement('details');
panel.className = 'panel'; panel.id = 'panel-incidents'; panel.open = true;
panel.innerHTML =
  '<summary>事故处置 Incident command <span id="inc-conn" class="muted"></span></summary>' +
  '<form id="inc-new" autocomplete="off" class="inc-form">' +
  '<div class="grid2"><label>纬度 lat<input id="inc-lat" type="number" step="any" required></label>' +
  '<label>经度 lon<input id="inc-lon" type="number" step="any" required></label>' +
  '<label>类型 type<select id="inc-type">' + TYPES.map(function (t) {
    return '<option value="' + t[0] + '">' + t[1] + ' ' + t[0] + '</option>'; }).join('') + '</select></label>' +
  '<label>报告人 reporter<input id="inc-reporter" maxlength="200" value="值班员"></label></div>' +
  '<label class="inc-wide">标题 title<input id="inc-title" maxlength="200" placeholder="如：某矿透水"></label>' +
  '<button type="submit" id="inc-create">报告事故 Report incident</button></form>' +
  '<div id="inc-msg" class="muted" role="status"></div>' +
  '<div id="inc-current"></div>' +
  '<div class="inc-sub">处置中 Active incidents</div><ol id="inc-list" class="inc-list"></ol>' +
  '<div class="actions"><button type="button" id="inc-coverage">预案覆盖 Plan coverage</button></div>' +
  '<div id="inc-coverage-out"></div>';
var side = $('side');
side.insertBefore(panel, $('panel-result'));

/* bring an element of the panel into view: beside the map on a desktop, in the bottom sheet (at ``height``) on a
 * phone or tablet (layout.js) */
function reveal(el, height) {
  panel.open = true;
  if (!isCompact()) { el.scrollIntoView({ block: 'nearest' }); return; }
  setSheet(height || 'full');
  setTimeout(function () { side.scrollTop = el.offsetTop - ($('sheet-handle') ? $('sheet-handle').offsetHeight : 0); }, 0);
}

/* the point popup gets a second button: report an incident here */
map.on('popupopen', function (e) {
  var el = e.popup.getContent();
  if (!(el instanceof HTMLElement) || !el.classList.contains('point-popup') || el.querySelector('.btn-report')) { return; }
  var b = document.createElement('button');
  b.type = 'button'; b.className = 'btn-report';
  b.innerHTML = '<i class="fa-solid fa-flag"></i> 报告事故 Report incident here';
  var ll = e.popup.getLatLng();
  b.addEventListener('click', function () {
    map.closePopup();
    $('inc-lat').value = ll.lat.toFixed(6); $('inc-lon').value = ll.lng.toFixed(6);
    reveal(panel, 'full');
    $('inc-title').focus({ preventScroll: true });
  });
  el.appendChild(b);
});

$('inc-new').addEventListener('submit', function (ev) {
  ev.preventDefault();
  var lat = parseFloat($('inc-lat').value), lon = parseFloat($('inc-lon').value);
  var title = $('inc-title').value.trim() || ($('inc-type').selectedOptions[0].textContent + '（' + fmt(lat, 3) + ', ' + fmt(lon, 3) + '）');
  post('/incidents', { point: [lon, lat], incident_type: $('inc-type').value, title: title,
    reporter: $('inc-reporter').value.trim() || '—' }).then(function (doc) {
    $('inc-msg').textContent = '已报告 reported #' + doc.id;
    show(doc); refresh();
  }).catch(function (e) { err('报告失败 report failed', e); });
});

/* ---- one incident: needs, plan, units ---------------------------------------------------------------- */
function needsRows() {
  var opts = st.types.map(function (t) { return '<option value="' + esc(t.type) + '">' + esc(t.zh) + '</option>'; }).join('');
  return DEFAULT_NEEDS.map(function (n) {
    return '<div class="inc-need"><select class="inc-need-type">' + opts.replace('value="' + n[0] + '"', 'value="' + n[0] + '" selected') +
      '</select><input class="inc-need-qty" type="number" min="1" step="1" value="' + n[1] + '" aria-label="quantity">' +
      '<button type="button" class="inc-need-del" title="删除 remove">×</button></div>';
  }).join('');
}

function show(doc) {
  st.current = doc;
  var box = $('inc-current');
  var active = doc.status === 'active';
  box.innerHTML = '<div class="inc-card" data-incident="' + doc.id + '" data-status="' + esc(doc.status) + '">' +
    '<div><b>#' + doc.id + ' ' + esc(doc.title) + '</b> <span class="inc-status">' + esc(doc.status_zh) + '</span></div>' +
    '<div class="muted">' + esc(doc.incident_type_zh) + ' · ' + fmt(doc.lat, 5) + '°N ' + fmt(doc.lon, 5) + '°E · ' +
    esc(doc.reporter) + ' · ' + esc(hhmm(doc.occurred_at)) + '</div>' +
    (active ? '<div class="inc-sub">需求 Needs</div><div id="inc-needs">' + needsRows() + '</div>' +
      '<div class="actions"><button type="button" id="inc-add-need">+ 需求 need</button>' +
      '<button type="button" id="inc-assemble">调集 Assemble</button></div>' : '') +
    '<div id="inc-plan"></div>' +
    '<div class="inc-sub">调派单位 Dispatched units</div><table class="rm-table inc-units"><thead><tr><th>单位 unit</th>' +
    '<th>状态 state</th><th></th></tr></thead><tbody>' + (doc.units || []).map(unitRow).join('') + '</tbody></table>' +
    '<div class="actions"><button type="button" id="inc-pdf">总结报告 PDF</button>' +
    (active ? '<button type="button" id="inc-close">结束 Close</button>' : '') + '</div></div>';
  if (active) {
    $('inc-add-need').addEventListener('click', function () {
      var d = document.createElement('div'); d.innerHTML = needsRows(); $('inc-needs').appendChild(d.firstChild);
    });
    $('inc-needs').addEventListener('click', function (e) {
      if (e.target.classList.contains('inc-need-del')) { e.target.parentNode.remove(); }
    });
    $('inc-assemble').addEventListener('click', assemble);
    $('inc-close').addEventListener('click', function () {
      post('/incidents/' + doc.id + '/close', {}).then(function (d) { show(d); refresh(); })
        .catch(function (e) { err('结束失败 close failed', e); });
    });
  }
  box.querySelectorAll('button[data-step]').forEach(function (b) {
    b.addEventListener('click', function () { step(doc.id, +b.dataset.dispatch, b.dataset.step); });
  });
  $('inc-pdf').addEventListener('click', function () { pdf(doc.id); });
  drawIncident(doc);
  if (st.plan && st.plan.incident === doc.id && active) { showPlan(st.plan.fc); }
}

function lastSeq(doc) {
  return (doc.timeline || []).reduce(function (m, e) { return Math.max(m, e.seq); }, 0);
}

function unitRow(u) {
  var buttons = (NEXT[u.state] || []).map(function (s) {
    return '<button type="button" data-step="' + s + '" data-dispatch="' + u.dispatch_id + '">' + STEP_ZH[s] + '</button>';
  }).join('');
  var zh = {};
  st.types.forEach(function (t) { zh[t.type] = t.zh; });
  var items = u.items ? Object.keys(u.items).map(function (k) { return esc(zh[k] || k) + ' × ' + u.items[k]; }).join('，')
    : '整队 whole team';
  return '<tr data-dispatch="' + u.dispatch_id + '" data-state="' + esc(u.state) + '"><td>' + esc(u.name || (u.layer + '/' + u.unit_id)) +
    '<div class="muted">' + items + '</div></td><td><span class="inc-dot" style="background:' + COLORS[u.state] + '"></span>' +
    esc(STATE_ZH[u.state] || u.state) + '<div class="muted">' + esc(hhmm(u.times[u.state])) + '</div></td><td class="inc-steps">' +
    buttons + '</td></tr>';
}

function assemble() {
  var doc = st.current, needs = {};
  document.querySelectorAll('#inc-needs .inc-need').forEach(function (row) {
    var t = row.querySelector('.inc-need-type').value, q = parseInt(row.querySelector('.inc-need-qty').value, 10);
    needs[t] = (needs[t] || 0) + (isNaN(q) ? 0 : q);
  });
  $('inc-msg').textContent = '调集中… assembling';
  post('/incidents/' + doc.id + '/analyses', { kind: 'resources', params: { needs: needs } }).then(function (r) {
    st.plan = { incident: doc.id, fc: r.result };
    doc.timeline.push({ seq: r.seq, kind: 'analysis' });      // our own event: the stream need not reload it
    if (isCompact()) { setSheet('half'); }                     // the routes on the map above the plan
    showPlan(r.result);
    reveal($('inc-plan'), 'half');
    $('inc-msg').textContent = '';
  }).catch(function (e) { err('调集失败 assembly failed', e); });
}

function sources(fc) { return fc.features.filter(function (f) { return f.properties.role === 'source'; }); }

function showPlan(fc) {
  var m = fc.metadata, rows = sources(fc).map(function (f) {
    var p = f.properties;
    return '<tr><td>' + esc(p.name) + '<div class="muted">' + esc(p.source_zh) + '</div></td><td>' + p.items.map(function (i) {
      return esc(i.zh) + ' × ' + i.quantity + esc(i.unit_zh); }).join('<br>') + '</td><td>' + fmt(p.eta_min) + '</td></tr>';
  }).join('');
  var unmet = (m.unmet || []).map(function (u) {
    return '<li>' + esc(u.zh) + ' 缺 missing ' + u.missing + esc(u.unit_zh) + (u.nearest ? '（最近 nearest: ' + esc(u.nearest.name) + '，' +
      esc(u.nearest.why_not_sent) + '）' : (u.held_in_total ? '（全部储备已在方案中 every holder is in the plan）'
      : '（无储备 held nowhere）')) + '</li>';
  }).join('');
  $('inc-plan').innerHTML = '<div class="inc-sub">调集方案 Plan — 全部到达 all there in <b id="inc-time">' +
    fmt(m.time_until_all_met_min) + '</b> min · ' + m.sources + ' 处 sources' +
    ' <span class="muted">(就近贪心 nearest-first: ' + fmt(m.greedy_nearest_first.time_until_all_met_min) + ' min, ' +
    m.greedy_nearest_first.sources + ')</span></div>' +
    '<table class="rm-table inc-plan"><thead><tr><th>来源 source</th><th>调集 what</th><th>ETA min</th></tr></thead><tbody>' +
    rows + '</tbody></table>' + (unmet ? '<ul class="inc-unmet">' + unmet + '</ul>' : '') +
    (rows ? '<div class="actions"><button type="button" id="inc-dispatch">全部调派 Dispatch all</button></div>' : '');
  if (rows) { $('inc-dispatch').addEventListener('click', function () { dispatchPlan(fc); }); }
  drawPlan(fc, true);
}

function dispatchPlan(fc) {
  var doc = st.current;
  var units = sources(fc).map(function (f) {
    var p = f.properties, u = { layer: p.layer, id: p.id, eta_min: p.eta_min };
    if (p.layer === 'supply_depots') {
      u.items = {}; p.items.forEach(function (i) { u.items[i.type] = i.quantity; });
    }
    return u;
  });
  post('/incidents/' + doc.id + '/dispatch', { units: units }).then(function (d) {
    st.plan = null; planLayer.clearLayers();
    show(d); refresh();
    $('inc-msg').textContent = '已调派 dispatched ' + d.dispatch_ids.length;
  }).catch(function (e) { err('调派失败 dispatch failed', e); });
}

function step(id, dispatchId, state) {
  post('/incidents/' + id + '/dispatches/' + dispatchId + '/state', { state: state }).then(function (d) { show(d); refresh(); })
    .catch(function (e) { err('状态变更失败 step refused', e); });
}

function pdf(id) {
  $('inc-msg').textContent = '生成报告… building the PDF';
  getBlob('/incidents/' + id + '/report.pdf').then(function (blob) {
    st.lastPdf = { id: id, size: blob.size, type: blob.type };
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = 'incident_' + id + '.pdf';
    document.body.appendChild(a); a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    $('inc-msg').textContent = '报告已生成 PDF ready (' + Math.round(blob.size / 1024) + ' kB)';
  }).catch(function (e) { err('报告失败 PDF failed', e); });
}

/* ---- the map ------------------------------------------------------------------------------------------ */
function incidentIcon(active) {
  return L.divIcon({ className: 'inc-marker', iconSize: [24, 24], iconAnchor: [12, 12],
    html: '<span class="rm-icon-badge" style="background:' + (active ? '#b10026' : '#737373') +
      ';border-color:#3b0000;width:22px;height:22px"><i class="fa-solid fa-flag"></i></span>' });
}

function drawIncident(doc) {
  layer.clearLayers();
  st.list.forEach(function (d) { if (d.id !== doc.id) { drawOne(d, false); } });
  drawOne(doc, true);
}

function drawOne(doc, current) {
  var m = L.marker([doc.lat, doc.lon], { icon: incidentIcon(doc.status === 'active'), title: doc.title });
  m.bindTooltip('#' + doc.id + ' ' + esc(doc.title));
  m.on('click', function () { open(doc.id); });
  layer.addLayer(m);
  if (!current) { return; }
  (doc.units || []).forEach(function (u) {
    if (u.state === 'released') { return; }
    var at = u.state === 'on_scene' ? [doc.lat, doc.lon] : null;
    var src = st.unitPlaces && st.unitPlaces[u.layer + '/' + u.unit_id];
    var ll = at || src;
    if (!ll) { return; }
    layer.addLayer(L.circleMarker(ll, { radius: 7, color: '#222', weight: 1, fillColor: COLORS[u.state], fillOpacity: 0.95,
      className: 'inc-unit inc-unit-' + u.state }).bindTooltip(esc(u.name) + ' — ' + STATE_ZH[u.state]));
  });
}

function drawPlan(fc, active) {
  planLayer.clearLayers();
  st.unitPlaces = st.unitPlaces || {};
  sources(fc).forEach(function (f) {
    var p = f.properties;
    st.unitPlaces[p.layer + '/' + p.id] = [p.lat, p.lon];
    if (f.geometry && f.geometry.type === 'LineString' && active) {
      planLayer.addLayer(L.geoJSON(f, { style: { color: '#6a51a3', weight: 4, opacity: 0.8, dashArray: '6 4' } }));
    }
    planLayer.addLayer(L.circleMarker([p.lat, p.lon], { radius: 6, color: '#3f007d', weight: 2, fillColor: '#bcbddc',
      fillOpacity: 0.9 }).bindTooltip(esc(p.name) + ' · ' + fmt(p.eta_min) + ' min'));
  });
  var b = planLayer.getBounds();
  if (b.isValid() && st.current) {
    map.fitBounds(b.extend([st.current.lat, st.current.lon]), L.extend({ maxZoom: 12 }, focusPadding()));
  }
}

/* ---- emergency-plan coverage: hazard sources without a filed, current plan, by county ------------------ */
var coverageLayer = L.featureGroup().addTo(map);
var REASON_COLORS = { no_plan: '#b10026', not_filed: '#fd8d3c', expired: '#807dba' };

function coverage() {
  getJSON('/analysis/resources/plans/coverage').then(function (fc) {
    var m = fc.metadata;
    st.coverage = m;
    coverageLayer.clearLayers();
    fc.features.forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates;
      coverageLayer.addLayer(L.circleMarker([c[1], c[0]], { radius: 6, color: REASON_COLORS[p.reason], weight: 3,
        fillOpacity: 0, className: 'inc-uncovered' }).bindTooltip(esc(p.name) + ' — ' + esc(p.reason_zh)));
    });
    var rows = m.by_county.filter(function (c) { return c.hazard_sources > c.covered; }).map(function (c) {
      return '<tr><td>' + esc(c.county) + '</td><td>' + c.hazard_sources + '</td><td>' + c.no_plan + '</td><td>' +
        c.not_filed + '</td><td>' + c.expired + '</td></tr>';
    }).join('');
    $('inc-coverage-out').innerHTML = '<div class="inc-sub">' + m.without_current_plan + ' / ' + m.hazard_sources +
      ' 个重大危险源无有效备案预案 without a filed, current plan (' + esc(m.as_of) + ')</div>' +
      '<div class="muted">' + Object.keys(REASON_COLORS).map(function (k) {
        return '<span class="inc-dot" style="background:' + REASON_COLORS[k] + '"></span>' +
          { no_plan: '无预案', not_filed: '未备案', expired: '过期' }[k]; }).join(' ') + '</div>' +
      '<table class="rm-table inc-coverage"><thead><tr><th>县区 county</th><th>危险源</th><th>无预案</th><th>未备案</th>' +
      '<th>过期</th></tr></thead><tbody>' + rows + '</tbody></table>';
  }).catch(function (e) { err('预案覆盖 coverage', e); });
}
$('inc-coverage').addEventListener('click', coverage);

/* ---- list, open, live --------------------------------------------------------------------------------- */
function refresh() {
  return getJSON('/incidents?status=active').then(function (d) {
    st.list = d.incidents;
    $('inc-list').innerHTML = d.incidents.map(function (i) {
      var out = i.units.filter(function (u) { return u.state !== 'released'; }).length;
      return '<li data-incident="' + i.id + '"><a href="#" data-open="' + i.id + '">#' + i.id + ' ' + esc(i.title) + '</a>' +
        ' <span class="muted">' + esc(i.incident_type_zh) + ' · ' + out + ' 单位在外 units out</span></li>';
    }).join('') || '<li class="muted">无 none</li>';
    if (st.current) { drawIncident(st.current); }
  }).catch(function (e) { err('事故列表 incidents', e); });
}

function open(id) {
  return getJSON('/incidents/' + id).then(function (d) {
    if (!st.current || st.current.id !== id) { st.plan = null; planLayer.clearLayers(); }
    d.timeline.forEach(function (e) {
      if (e.kind === 'analysis' && e.data.analysis === 'resources' && e.data.result) {
        sources(e.data.result).forEach(function (f) {
          st.unitPlaces = st.unitPlaces || {};
          st.unitPlaces[f.properties.layer + '/' + f.properties.id] = [f.properties.lat, f.properties.lon];
        });
      }
    });
    show(d);
  }).catch(function (e) { err('事故 incident', e); });
}
inc.open = open;

$('inc-list').addEventListener('click', function (e) {
  var a = e.target.closest('a[data-open]');
  if (a) { e.preventDefault(); open(+a.dataset.open); }
});

function live() {
  if (!window.EventSource) { return; }
  var es = new EventSource('/incidents/stream');
  es.addEventListener('open', function () { st.connected = true; $('inc-conn').textContent = '● 实时 live'; });
  es.addEventListener('error', function () { st.connected = false; $('inc-conn').textContent = '○'; });
  es.addEventListener('incident', function (m) {
    st.events += 1;
    var e = JSON.parse(m.data);
    refresh();
    // another commander's step on the incident shown: reload it (our own steps came back with their answer)
    if (st.current && e.incident_id === st.current.id && e.seq > lastSeq(st.current)) { open(e.incident_id); }
  });
}

getJSON('/analysis/resources/types').then(function (t) {
  st.types = t;
  var c = map.getCenter();
  $('inc-lat').value = c.lat.toFixed(5); $('inc-lon').value = c.lng.toFixed(5);
  return refresh();
}).then(function () { live(); document.body.dataset.incidents = '1'; })
  .catch(function (e) { err('事故处置 incident command unavailable', e); });
