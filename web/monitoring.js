/* Live monitoring in the viewer: sensors coloured by state, a pop-up for each new alarm (Server-Sent
 * Events from /monitoring/alarms/stream), the alarm's decision package in one click (exposure zones,
 * receptors, rescue teams by road time — drawn on the map and tabulated) and the sensor's recent series
 * plotted as inline SVG. Talks only to this service. Needs window.viewer.map (viewer.js) and RiskMap. */
(function () {
  'use strict';
  var viewer = window.viewer;
  if (!viewer || !viewer.map || !window.RiskMap) { return; }
  var map = viewer.map, esc = RiskMap.esc;
  var COLORS = { normal: '#1a9850', warning: '#fd8d3c', alarm: '#d7301f', stale: '#737373', no_data: '#bdbdbd' };
  var STATE_ZH = { normal: '正常', warning: '预警', alarm: '报警', stale: '中断', no_data: '无数据' };
  var state = { sensors: {}, markers: {}, alarms: {}, events: [], packageDoc: null, connected: false, sensorsLoaded: false };
  var mon = window.monitoring = { state: state };
  var sensorLayer = L.layerGroup().addTo(map);
  // the live sensors stand in for the catalogue's sensors layer and obey its checkbox (layers.js)
  viewer.state.replacements = L.extend(viewer.state.replacements || {}, { sensors: sensorLayer });
  (function syncWithCheckbox() {   // the viewer's layers may already be set up when this module runs
    var row = viewer.state.rows && viewer.state.rows.sensors, cat = viewer.state.layers.sensors;
    if (cat && map.hasLayer(cat)) { map.removeLayer(cat); }
    if (row && !row.box.checked) { map.removeLayer(sensorLayer); }
  }());
  var packageLayer = L.featureGroup().addTo(map);

  function getJSON(url, options) {
    options = options || {};
    options.headers = RiskMap.headers ? RiskMap.headers(L.extend({ Accept: 'application/json' }, options.headers || {}))
      : { Accept: 'application/json' };
    return fetch(url, options).then(function (r) {
      return r.json().then(function (doc) {
        if (!r.ok) { throw new Error('HTTP ' + r.status + ': ' + ((doc && doc.description) || '')); }
        return doc;
      });
    });
  }

  /* ---- the panel ------------------------------------------------------------------------- */
  var panel = L.control({ position: 'topright' });
  panel.onAdd = function () {
    var div = L.DomUtil.create('div', 'mon-panel');
    div.id = 'mon-panel';
    div.innerHTML = '<div class="mon-head"><b>实时监测 Live monitoring</b> <span id="mon-conn" class="mon-conn">…</span></div>' +
      '<div class="mon-legend">' + Object.keys(COLORS).map(function (k) {
        return '<span><i style="background:' + COLORS[k] + '"></i>' + STATE_ZH[k] + '</span>'; }).join('') + '</div>' +
      '<label class="mon-alert-opt"><input type="checkbox" id="mon-notify"> 声音/通知 Sound &amp; notification for new alarms</label>' +
      '<div id="mon-notify-note" class="mon-notify-note muted"></div>' +
      '<div class="mon-sub">报警 Alarms (open)</div><ol id="mon-alarms" class="mon-alarms"></ol>' +
      '<div id="mon-package" class="mon-package"></div>';
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    // the title folds the panel (it starts folded on a phone or tablet, where it sits over the map)
    div.querySelector('.mon-head').addEventListener('click', function () { div.classList.toggle('mon-collapsed'); });
    if (viewer.isCompact && viewer.isCompact()) { div.classList.add('mon-collapsed'); }
    div.querySelector('#mon-notify').addEventListener('change', function (e) { optIn(e.target.checked); });
    return div;
  };
  panel.addTo(map);
  var toasts = document.createElement('div');
  toasts.id = 'mon-toasts';
  document.body.appendChild(toasts);

  /* ---- opt-in sound and browser notification for new alarms -------------------------------
   * Off by default and not remembered across page loads: browsers only let a page start audio after a
   * user gesture, so the operator ticks the box in each session (the tick is that gesture). The sound is
   * synthesised with WebAudio (no audio file); the Notification permission is asked for on that click
   * only, never on page load. A notification shows while the tab is in the background too; clicking it
   * brings the viewer forward and opens the alarm's decision package. */
  var ring = { on: false, audio: null, sounded: 0, notified: 0 };
  state.ring = ring;
  function notifyNote(text) { var n = document.getElementById('mon-notify-note'); if (n) { n.textContent = text; } }
  function optIn(on) {
    ring.on = !!on;
    if (!ring.on) { notifyNote(''); return; }
    var AC = window.AudioContext || window.webkitAudioContext;
    if (AC && !ring.audio) { try { ring.audio = new AC(); } catch (e) { ring.audio = null; } }
    if (ring.audio && ring.audio.state === 'suspended') { ring.audio.resume(); }
    if (!window.Notification) { notifyNote('此浏览器不支持通知，仅声音 no notifications in this browser: sound only'); return; }
    if (Notification.permission === 'granted') { notifyNote('声音与通知已开启 sound and notifications on'); return; }
    if (Notification.permission === 'denied') { notifyNote('通知被浏览器阻止，仅声音 notifications blocked by the browser: sound only'); return; }
    Promise.resolve(Notification.requestPermission()).then(function (p) {
      notifyNote(p === 'granted' ? '声音与通知已开启 sound and notifications on' : '未允许通知，仅声音 notifications not allowed: sound only');
    }).catch(function () { notifyNote('仅声音 sound only'); });
  }
  mon.optIn = optIn;
  /* Two short tones for a level-2 alarm, one for level 1 (square wave, 880 / 660 Hz, 0.18 s each). */
  function sound(level) {
    var ctx = ring.audio;
    if (!ctx) { return; }
    var beeps = level >= 2 ? 2 : 1;
    for (var i = 0; i < beeps; i++) {
      var t = ctx.currentTime + i * 0.3, osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = 'square'; osc.frequency.value = level >= 2 ? 880 : 660;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.18);
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(t); osc.stop(t + 0.2);
    }
    ring.sounded += 1;
  }
  function announce(a) {
    if (!ring.on) { return; }
    sound(a.level);
    if (!window.Notification || Notification.permission !== 'granted') { return; }
    try {
      var n = new Notification('新报警 New alarm — ' + (a.level_zh || ('L' + a.level)), {
        body: alarmLabel(a), tag: 'rm-alarm-' + a.id, requireInteraction: a.level >= 2 });
      n.onclick = function () { window.focus(); openPackage(a.id); if (n.close) { n.close(); } };
      ring.notified += 1;
    } catch (e) { notifyNote('通知失败 notification failed: ' + e.message); }
  }

  /* ---- sensors coloured by state ---------------------------------------------------------- */
  function drawSensors(fc) {
    sensorLayer.clearLayers();
    state.markers = {};
    (fc.features || []).forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates;
      state.sensors[f.id] = f;
      var m = L.circleMarker([c[1], c[0]], { radius: p.state === 'alarm' ? 7 : 5, color: '#222', weight: 1,
        fillColor: COLORS[p.state] || '#999', fillOpacity: 0.9, className: 'mon-sensor mon-state-' + p.state });
      m.bindTooltip(esc(p.name) + ' — ' + (STATE_ZH[p.state] || p.state) +
        (p.last_value !== null && p.last_value !== undefined ? ' ' + p.last_value + ' ' + esc(p.unit) : ''));
      m.on('click', function () { showSeries(f.id); });
      state.markers[f.id] = m;
      sensorLayer.addLayer(m);
    });
    state.sensorsLoaded = true;
  }
  function loadSensors() {
    return getJSON('/monitoring/sensors').then(drawSensors).catch(function () { /* monitoring unavailable */ });
  }
  mon.loadSensors = loadSensors;
  /* An alarm event turns its sensor red at once; the whole layer (900+ sensors) is re-read at most once per
   * SENSOR_RELOAD_MS however many events arrive (a storm of alarms used to re-read and redraw it per event). */
  var SENSOR_RELOAD_MS = 2000, reloadTimer = null;
  var RANK = { no_data: 0, normal: 0, stale: 1, warning: 1, alarm: 2 };
  function markAlarming(a) {   // as the service states it (api/monitoring.py _state); never lowers a state
    var m = state.markers[a.sensor_id], f = state.sensors[a.sensor_id];
    var to = a.rule === 'stale' ? 'stale' : (a.level >= 2 ? 'alarm' : 'warning');
    if (!m || !f || a.status === 'closed' || RANK[to] <= RANK[f.properties.state]) { return; }
    f.properties.state = to;
    m.setStyle({ fillColor: COLORS[to] }); m.setRadius(to === 'alarm' ? 7 : 5);
    var el = m.getElement && m.getElement();
    if (el) { el.setAttribute('class', el.getAttribute('class').replace(/\bmon-state-\S+/, 'mon-state-' + to)); }
  }
  function sensorsChanged(a) {
    markAlarming(a);
    if (reloadTimer === null) { reloadTimer = setTimeout(function () { reloadTimer = null; loadSensors(); }, SENSOR_RELOAD_MS); }
  }

  /* ---- alarms ---------------------------------------------------------------------------- */
  function alarmLabel(a) {
    var s = state.sensors[a.sensor_id];
    var name = s ? s.properties.name : ('#' + a.sensor_id);
    return (a.level_zh || ('L' + a.level)) + ' · ' + name + ' · ' + (a.rule_zh || a.rule) + (a.message ? ' — ' + a.message : '');
  }
  function renderAlarms() {
    var list = document.getElementById('mon-alarms');
    if (!list) { return; }
    var open = Object.keys(state.alarms).map(function (k) { return state.alarms[k]; })
      .filter(function (a) { return a.status !== 'closed'; }).sort(function (a, b) { return b.id - a.id; });
    list.innerHTML = '';
    open.slice(0, 30).forEach(function (a) {
      var li = document.createElement('li');
      li.className = 'mon-alarm mon-level-' + a.level + (a.status === 'acknowledged' ? ' mon-acked' : '');
      li.dataset.alarm = a.id;
      li.textContent = alarmLabel(a) + ' ';
      var b = document.createElement('button');
      b.type = 'button'; b.className = 'mon-open-package'; b.textContent = '决策包 Decision package';
      b.addEventListener('click', function () { openPackage(a.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!open.length) { list.innerHTML = '<li class="muted">无 none</li>'; }
  }
  function toast(a) {
    var div = document.createElement('div');
    div.className = 'mon-toast mon-level-' + a.level;
    div.dataset.alarm = a.id;
    div.innerHTML = '<b>新报警 New alarm</b><br>' + esc(alarmLabel(a)) + '<br>';
    var b = document.createElement('button');
    b.type = 'button'; b.className = 'mon-open-package'; b.textContent = '决策包 Decision package';
    b.addEventListener('click', function () { openPackage(a.id); div.remove(); });
    var x = document.createElement('button');
    x.type = 'button'; x.textContent = '×'; x.className = 'mon-close';
    x.addEventListener('click', function () { div.remove(); });
    div.appendChild(b); div.appendChild(x);
    toasts.insertBefore(div, toasts.firstChild);
    while (toasts.children.length > 4) { toasts.removeChild(toasts.lastChild); }
  }
  function onEvent(ev) {
    var doc = JSON.parse(ev.data);
    state.events.push(doc);
    var a = doc.alarm;
    var isNew = !state.alarms[a.id];
    state.alarms[a.id] = a;
    renderAlarms();
    if (doc.event === 'opened' || (isNew && a.status !== 'closed')) { toast(a); announce(a); }
    sensorsChanged(a);
  }
  function connect() {
    if (!window.EventSource) { return; }
    var es = new EventSource('/monitoring/alarms/stream');
    es.addEventListener('alarm', onEvent);
    es.onopen = function () { state.connected = true; var c = document.getElementById('mon-conn'); if (c) { c.textContent = '● 已连接 live'; c.className = 'mon-conn mon-on'; } };
    es.onerror = function () { state.connected = false; var c = document.getElementById('mon-conn'); if (c) { c.textContent = '○ 重连中 reconnecting'; c.className = 'mon-conn'; } };
    mon.source = es;
  }

  /* ---- decision package ------------------------------------------------------------------- */
  function zoneRows(fc) {
    return ((fc && fc.features) || []).filter(function (f) { return (f.properties || {}).feature_type === 'zone'; })
      .map(function (f) { var p = f.properties, ex = p.exposure || {};
        return '<tr class="mon-zone-' + esc(p.level) + '"><td>' + esc(p.label_zh || p.level) + '</td><td>' + esc(p.kind || '') +
          '</td><td>' + esc(ex.receptor_count) + '</td><td>' + esc(ex.total_population) + '</td></tr>'; }).join('');
  }
  function teamRows(fc) {
    return ((fc && fc.features) || []).filter(function (f) { return (f.properties || {}).kind === 'team'; })
      .map(function (f) { var p = f.properties;
        return '<tr><td>' + esc(p.rank) + '</td><td>' + esc(p.name) + '</td><td>' + esc(p.team_type_zh || p.team_type) +
          '</td><td>' + (p.eta_min != null ? Number(p.eta_min).toFixed(1) : '—') + '</td><td>' +
          (p.meets_standard === true ? '是' : (p.meets_standard === false ? '否' : '—')) + '</td></tr>'; }).join('');
  }
  function openPackage(id) {
    var box = document.getElementById('mon-package');
    document.getElementById('mon-panel').classList.remove('mon-collapsed');
    var legend = document.getElementById('viewer-legend');   // the package needs the right side: fold the legend
    if (legend) { legend.classList.add('rm-folded'); }
    box.innerHTML = '<span class="muted">决策包加载中… loading</span>';
    // the side panel must not keep an unrelated result beside the package (its layers stay in the results list)
    if (viewer.panelNote) { viewer.panelNote('决策包 Decision package #' + id + ' — 见监测面板 in the monitoring panel'); }
    return getJSON('/monitoring/alarms/' + encodeURIComponent(id)).then(function (doc) {
      state.packageDoc = doc;
      packageLayer.clearLayers();
      [doc.exposure, doc.rescue].forEach(function (fc) {
        if (fc && fc.features && fc.features.length) {
          packageLayer.addLayer(RiskMap.resultLayer(fc, { title: '决策包 decision package', rankLabels: true }));
        }
      });
      var a = doc.alarm, src = doc.source || {}, sc = doc.scenario || {}, ex = (doc.exposure && doc.exposure.metadata &&
        doc.exposure.metadata.exposure) || {};
      box.innerHTML = '<div class="mon-sub">决策包 Decision package — 报警 #' + esc(a.id) + '</div>' +
        '<div class="mon-pkg-alarm mon-level-' + esc(a.level) + '">' + esc(alarmLabel(a)) + ' (' + esc(a.status) + ')</div>' +
        '<div>监测对象 source: <b>' + esc((src.properties || {}).name || '') + '</b> (' + esc(src.layer) + ' #' + esc(src.id) + ')</div>' +
        '<div class="muted">情景 scenario: 风向 ' + (sc.wind_dir_deg == null ? '全方位 all directions' : esc(sc.wind_dir_deg) + '°') +
        ', 风速 ' + esc(sc.wind_speed_m_s) + ' m/s, ' + esc(sc.stability) + ' — ' + esc(sc.wind_source || '') + '</div>' +
        '<div>受影响人口 people in zones: <b>' + esc(ex.total_population != null ? ex.total_population : '—') + '</b> (' +
        esc(ex.receptor_count != null ? ex.receptor_count : '—') + ' 受体 receptors)</div>' +
        '<table class="rm-table mon-zones"><tr><th>区 zone</th><th>类型</th><th>受体</th><th>人口</th></tr>' + zoneRows(doc.exposure) + '</table>' +
        '<table class="rm-table mon-teams"><tr><th>#</th><th>救援队伍 team</th><th>类型</th><th>ETA min</th><th>达标</th></tr>' + teamRows(doc.rescue) + '</table>' +
        '<div class="mon-actions"></div>' +
        '<div id="mon-series" class="mon-series"></div>' +
        (doc.notes && doc.notes.length ? '<div class="muted">' + doc.notes.map(esc).join('<br>') + '</div>' : '');
      packageActions(box.querySelector('.mon-actions'), a);
      // framed clear of the panels (the monitoring panel now holds the package)
      try { map.fitBounds(packageLayer.getBounds(), L.extend({ maxZoom: 13 }, viewer.focusPadding ? viewer.focusPadding() : { padding: [30, 30] })); } catch (e) { /* empty */ }
      return showSeries(a.sensor_id);
    }).catch(function (e) { box.textContent = '决策包失败 decision package failed: ' + e.message; });
  }
  mon.openPackage = openPackage;

  /* ---- acknowledge (editor key) and the one-page brief of an alarm ---------------------------- */
  function withKey(extra) {
    var k = document.getElementById('api-key');
    if (k) { RiskMap.apiKey = k.value.trim() || null; }
    return RiskMap.headers ? RiskMap.headers(extra || {}) : (extra || {});
  }
  function say(box, text, bad) {
    var s = box.querySelector('.mon-msg');
    if (!s) { s = document.createElement('div'); s.className = 'mon-msg'; box.appendChild(s); }
    s.textContent = text;
    s.classList.toggle('mon-bad', !!bad);
  }
  var NEED_KEY = '需要编辑权限的密钥：在左侧「API key」中输入 an editor key is needed: type it under API key';
  function acknowledge(a, box) {
    var k = document.getElementById('api-key');
    if (!k || !k.value.trim()) { say(box, NEED_KEY, true); return Promise.resolve(null); }   // a write needs a key
    return fetch('/monitoring/alarms/' + encodeURIComponent(a.id) + '/acknowledge', {
      method: 'POST', headers: withKey({ 'Content-Type': 'application/json', Accept: 'application/json' }), body: '{}'
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (doc) {
        if (r.status === 401 || r.status === 403) {
          throw new Error(NEED_KEY + ' (HTTP ' + r.status + ')');
        }
        if (!r.ok) { throw new Error('HTTP ' + r.status + ': ' + ((doc && doc.description) || '')); }
        return doc.alarm;
      });
    }).then(function (alarm) {
      state.alarms[alarm.id] = alarm;
      renderAlarms();
      var tag = document.querySelector('#mon-package .mon-pkg-alarm');
      if (tag) { tag.textContent = alarmLabel(alarm) + ' (' + alarm.status + ')'; }
      var b = box.querySelector('.mon-ack');
      if (b) { b.disabled = true; }
      say(box, '已确认 acknowledged' + (alarm.acknowledged_by ? ' — ' + alarm.acknowledged_by : ''));
      return alarm;
    }).catch(function (e) { say(box, e.message, true); });
  }
  function brief(a, box) {
    say(box, '生成简报… rendering the brief');
    return fetch('/reports/alarm/' + encodeURIComponent(a.id) + '.pdf', { headers: withKey({}) }).then(function (r) {
      if (!r.ok) { throw new Error('简报失败 brief failed: HTTP ' + r.status); }
      return r.blob();
    }).then(function (blob) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(blob); link.download = 'alarm_' + a.id + '.pdf';
      document.body.appendChild(link); link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      say(box, '简报已下载 brief downloaded');
    }).catch(function (e) { say(box, e.message, true); });
  }
  function packageActions(box, a) {
    if (!box) { return; }
    var ack = document.createElement('button');
    ack.type = 'button'; ack.className = 'mon-ack'; ack.textContent = '确认报警 Acknowledge';
    ack.disabled = a.status !== 'open';
    ack.addEventListener('click', function () { acknowledge(a, box); });
    var br = document.createElement('button');
    br.type = 'button'; br.className = 'mon-brief'; br.textContent = '简报 Brief (PDF)';
    br.addEventListener('click', function () { brief(a, box); });
    box.appendChild(ack); box.appendChild(br);
  }
  mon.acknowledge = function (id) { return acknowledge(state.alarms[id], document.querySelector('#mon-package .mon-actions')); };

  /* ---- a sensor's series as inline SVG ----------------------------------------------------- */
  function svgSeries(doc, w, h) {
    var pts = doc.readings || [];
    if (!pts.length) { return '<span class="muted">无读数 no readings</span>'; }
    var th = doc.thresholds || {}, vals = pts.map(function (p) { return p.value; });
    ['low_low', 'low', 'high', 'high_high'].forEach(function (k) { if (th[k] !== null && th[k] !== undefined) { vals.push(th[k]); } });
    var t0 = pts[0].t, t1 = pts[pts.length - 1].t, vmin = Math.min.apply(null, vals), vmax = Math.max.apply(null, vals);
    if (t1 === t0) { t1 = t0 + 1; }
    if (vmax === vmin) { vmax = vmin + 1; }
    var pad = 4, X = function (t) { return pad + (t - t0) / (t1 - t0) * (w - 2 * pad); },
      Y = function (v) { return h - pad - (v - vmin) / (vmax - vmin) * (h - 2 * pad); };
    var line = pts.map(function (p, i) { return (i ? 'L' : 'M') + X(p.t).toFixed(1) + ' ' + Y(p.value).toFixed(1); }).join(' ');
    var lines = [['high_high', '#d7301f'], ['high', '#fd8d3c'], ['low', '#fd8d3c'], ['low_low', '#d7301f']].filter(function (x) {
      return th[x[0]] !== null && th[x[0]] !== undefined; }).map(function (x) {
      var y = Y(th[x[0]]).toFixed(1);
      return '<line x1="' + pad + '" x2="' + (w - pad) + '" y1="' + y + '" y2="' + y + '" stroke="' + x[1] + '" stroke-dasharray="4 3"/>'; }).join('');
    return '<svg class="mon-chart" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="series">' +
      '<rect width="' + w + '" height="' + h + '" fill="#fff" stroke="#ccc"/>' + lines +
      '<path d="' + line + '" fill="none" stroke="#08519c" stroke-width="1.5"/></svg>' +
      '<div class="muted">' + esc(doc.name) + ': ' + pts.length + ' 读数 readings, ' + vmin.toPrecision(3) + '–' + vmax.toPrecision(3) + ' ' + esc(doc.unit) + '</div>';
  }
  function showSeries(sensorId) {
    var from = new Date(Date.now() - 3600 * 1000).toISOString();
    return getJSON('/monitoring/sensors/' + encodeURIComponent(sensorId) + '/readings?from=' + encodeURIComponent(from)).then(function (doc) {
      state.series = doc;
      var box = document.getElementById('mon-series');
      if (!box) {
        box = document.createElement('div'); box.id = 'mon-series'; box.className = 'mon-series';
        document.getElementById('mon-package').appendChild(box);
      }
      box.innerHTML = '<div class="mon-sub">近1小时 Last hour</div>' + svgSeries(doc, 300, 110);
    }).catch(function () { /* sensor gone */ });
  }
  mon.showSeries = showSeries;

  /* ---- start ----------------------------------------------------------------------------- */
  getJSON('/monitoring/alarms?status=live').then(function (doc) {
    (doc.alarms || []).forEach(function (a) { state.alarms[a.id] = a; });
  }).catch(function () { /* none */ }).then(function () {
    return loadSensors();
  }).then(function () {
    renderAlarms();
    connect();
    mon.ready = true;
    document.body.dataset.monitoring = '1';
  });
  setInterval(loadSensors, 15000);
}());
