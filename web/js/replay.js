/* The last 24 h of alarms and readings replayed with a time slider (issue 18, item 7), in the monitoring panel.
 * Reads /monitoring/alarms?status=all (every alarm, with opened_at / closed_at), /monitoring/sensors (positions)
 * and /monitoring/readings/replay (each sensor's last reading per 5-minute bin, with its set points). At the
 * slider's time t a sensor is drawn in the colour of the highest alarm level open at t (opened_at ≤ t < closed_at,
 * or still open); a sensor not in alarm takes the colour of its reading at t against its set points (the last
 * reading at or before t: ≥ high / ≤ low amber, ≥ high-high / ≤ low-low red, else green), grey when it had not
 * reported yet; its tooltip gives that reading. The live sensor layer is hidden while replaying.
 * Limitation: an alarm's level is its current one; an alarm that escalated from 1 to 2 replays at 2
 * from its opening. */
var mon = window.monitoring, viewer = window.viewer;
var HOURS = 24, STEP_MIN = 5;
var COLORS = { 2: '#d7301f', 1: '#fd8d3c', 0: '#1a9850', none: '#bdbdbd' };
var replay = { on: false, alarms: [], sensors: [], markers: {}, readings: {}, t0: 0, t1: 0, frames: [], layer: null, timer: null };
if (mon) { mon.replay = replay; }
replay.showAt = function (t) { return showAt(t); };

function ms(v) {
  if (v === null || v === undefined || v === '') { return null; }
  if (typeof v === 'number') { return v < 1e12 ? v * 1000 : v; }
  var t = Date.parse(v);
  return isNaN(t) ? null : t;
}

function beijing(t) {
  var d = new Date(t + 8 * 3600 * 1000);
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return (d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) + ' ' + p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ' 北京时间';
}

function headers() {
  return window.RiskMap && RiskMap.headers ? RiskMap.headers({ Accept: 'application/json' }) : { Accept: 'application/json' };
}
function getJSON(url) {
  return fetch(url, { headers: headers() }).then(function (r) {
    if (!r.ok) { throw new Error('HTTP ' + r.status); }
    return r.json();
  });
}

/* Readings: each sensor's values forward-filled over the bins once at load (a Float64Array, NaN before its
 * first reading), so a frame is one array lookup per sensor. */
function binAt(t) {
  var r = replay.readingsDoc;
  if (!r || !r.bins) { return -1; }
  return Math.min(r.bins - 1, Math.floor((t / 1000 - r.t0) / r.step_s));
}

function fillReadings(doc) {
  var out = {};
  (doc.sensors || []).forEach(function (s) {
    var a = new Float64Array(doc.bins).fill(NaN), j = 0, last = NaN;
    for (var k = 0; k < doc.bins; k++) {
      while (j < s.k.length && s.k[j] <= k) { last = s.values[j]; j++; }
      a[k] = last;
    }
    out[s.sensor_id] = { v: a, th: s.thresholds || {}, unit: s.unit || '' };
  });
  return out;
}

function readingAt(id, k) {
  var r = replay.readings[id];
  if (!r || k < 0) { return null; }
  var v = r.v[k];
  return isNaN(v) ? null : v;
}

function readingBand(id, k) {
  var v = readingAt(id, k);
  if (v === null) { return 'none'; }
  var th = replay.readings[id].th;
  var over = function (x, lim, up) { return lim !== null && lim !== undefined && (up ? x >= lim : x <= lim); };
  if (over(v, th.high_high, true) || over(v, th.low_low, false)) { return 2; }
  if (over(v, th.high, true) || over(v, th.low, false)) { return 1; }
  return 0;
}

function tooltipAt(s) {
  var v = readingAt(s.id, binAt(replay.t)), r = replay.readings[s.id];
  var text = s.name + '\n';
  text += v === null ? '此时无读数 no reading yet' : '读数 reading ' + (Math.round(v * 100) / 100) + ' ' + (r ? r.unit : '');
  return text.replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; })
    .replace('\n', '<br>');
}

/* Draw the state at time t: reuse one circle marker per sensor, restyle only those that change. */
export function showAt(t) {
  var start = performance.now();
  var level = {};
  replay.alarms.forEach(function (a) {
    if (a.open <= t && (a.close === null || t < a.close)) { level[a.sensor] = Math.max(level[a.sensor] || 0, a.level); }
  });
  var active = 0, reporting = 0, k = binAt(t);
  replay.sensors.forEach(function (s) {
    var lv = level[s.id] || 0, m = replay.markers[s.id], r = readingBand(s.id, k);
    if (lv) { active += 1; }
    if (r !== 'none') { reporting += 1; }
    var key = lv + '/' + r;
    if (m.key !== key) {
      m.key = key;
      m.lv = lv;
      m.setStyle({ fillColor: lv ? COLORS[lv >= 2 ? 2 : lv] : COLORS[r] });
      m.setRadius(lv >= 2 ? 7 : 5);
      // kept when the layer is drawn again: the alarm level at t, and the reading's band at t
      m.options.className = 'mon-replay-sensor mon-replay-' + lv + ' mon-replay-r' + r;
      var el = m.getElement && m.getElement();
      if (el) { el.setAttribute('class', 'leaflet-interactive ' + m.options.className); }
    }
  });
  replay.t = t;
  replay.active = active;
  replay.reporting = reporting;
  var label = document.getElementById('mon-replay-time');
  if (label) {
    label.textContent = beijing(t) + ' — 报警中 ' + active + ' 个 sensors in alarm; 有读数 ' + reporting + ' 个 reporting';
  }
  replay.frames.push(performance.now() - start);
  return active;
}

function sliderTime() {
  var s = document.getElementById('mon-replay-slider');
  return replay.t0 + Number(s.value) * 60000;
}

function stop() {
  if (replay.timer) { clearInterval(replay.timer); replay.timer = null; }
  var b = document.getElementById('mon-replay-play');
  if (b) { b.textContent = '▶ 播放 play'; }
}

function play() {
  var s = document.getElementById('mon-replay-slider');
  if (replay.timer) { stop(); return; }
  if (Number(s.value) >= Number(s.max)) { s.value = 0; }
  document.getElementById('mon-replay-play').textContent = '⏸ 暂停 pause';
  replay.timer = setInterval(function () {
    var v = Math.min(Number(s.max), Number(s.value) + STEP_MIN * 2);
    s.value = v;
    showAt(sliderTime());
    if (v >= Number(s.max)) { stop(); }
  }, 200);
}

function sensorsChecked() {
  var row = viewer.state.rows && viewer.state.rows.sensors;
  return !row || row.box.checked;
}

function exit() {
  stop();
  replay.on = false;
  var map = viewer.map, live = replay.live;
  if (replay.layer) { map.removeLayer(replay.layer); }
  if (live) { viewer.state.replacements.sensors = live; }           // the sensors checkbox drives the live layer again
  if (live && sensorsChecked()) { map.addLayer(live); }
  document.getElementById('mon-replay-box').hidden = true;
  document.getElementById('mon-replay-open').hidden = false;
  document.body.dataset.replay = '0';
}

function start() {
  var note = document.getElementById('mon-replay-note');
  note.textContent = '加载中… loading';
  var now = Date.now(), from = now - HOURS * 3600 * 1000;
  var rurl = '/monitoring/readings/replay?from=' + (from / 1000) + '&to=' + (now / 1000) + '&step_min=' + STEP_MIN;
  return Promise.all([getJSON('/monitoring/alarms?status=all&limit=10000'), getJSON('/monitoring/sensors'),
    getJSON(rurl)]).then(function (docs) {
    replay.t1 = now; replay.t0 = from;
    replay.readingsDoc = docs[2];
    replay.readings = fillReadings(docs[2]);
    replay.alarms = (docs[0].alarms || []).map(function (a) {
      return { sensor: a.sensor_id, level: a.level, open: ms(a.opened_at), close: a.status === 'closed' ? ms(a.closed_at) : null };
    }).filter(function (a) { return a.open !== null && a.open <= replay.t1 && (a.close === null || a.close >= replay.t0); });
    var map = viewer.map;
    // SVG circles (the default: each can be told apart in the page, as the tests do); replay.canvas = true draws
    // them on one canvas. bench/bench_replay.py compares the two: no difference in frame time measured
    // (frame p95 ~50 ms unthrottled for both, 899 sensors, 2-core machine at load average 6–9).
    var renderer = replay.canvas ? L.canvas({ padding: 0.2 }) : L.svg();
    if (replay.layer) { map.removeLayer(replay.layer); }
    replay.layer = L.layerGroup();
    replay.layer.clearLayers();
    replay.markers = {};
    replay.sensors = (docs[1].features || []).map(function (f) {
      var c = f.geometry.coordinates;
      var m = L.circleMarker([c[1], c[0]], { renderer: renderer, radius: 5, color: '#222', weight: 1, fillColor: COLORS.none, fillOpacity: 0.9,
        className: 'mon-replay-sensor mon-replay-0 mon-replay-rnone' });
      var s = { id: f.id, name: String(f.properties.name || f.id) };
      m.lv = 0;
      m.key = '0/none';
      m.bindTooltip(function () { return tooltipAt(s); });          // the reading at the slider's time, when shown
      replay.layer.addLayer(m);
      replay.markers[f.id] = m;
      return s;
    });
    var live = viewer.state.replacements && viewer.state.replacements.sensors;
    if (live) {   // while replaying, the sensors layer's checkbox shows and hides the replayed sensors
      map.removeLayer(live);
      replay.live = live;
      viewer.state.replacements.sensors = replay.layer;
    }
    if (sensorsChecked()) { replay.layer.addTo(map); }
    replay.on = true;
    replay.frames = [];
    var s = document.getElementById('mon-replay-slider');
    s.max = HOURS * 60; s.value = HOURS * 60;
    document.getElementById('mon-replay-box').hidden = false;
    document.getElementById('mon-replay-open').hidden = true;
    note.textContent = replay.alarms.length + ' 条报警在近 24 小时内 alarms in the last 24 h; ' + replay.sensors.length + ' 个监测点 sensors, ' +
      Object.keys(replay.readings).length + ' 个有读数 with readings' + (docs[2].truncated ? ' (读数已截断 readings truncated)' : '') +
      '. 颜色 colour: 报警 alarm, 否则读数相对报警值 else the reading against its set points; 灰 grey = 无读数 no reading yet';
    showAt(sliderTime());
    document.body.dataset.replay = '1';
  }).catch(function (e) { note.textContent = '回放失败 replay failed: ' + e.message; });
}

function setup() {
  var panel = document.getElementById('mon-panel');
  if (!panel || !viewer) { return; }
  var box = document.createElement('div');
  box.className = 'mon-replay';
  box.innerHTML = '<button type="button" id="mon-replay-open">回放近24小时 Replay last 24 h</button>' +
    '<div id="mon-replay-box" hidden>' +
    '<input type="range" id="mon-replay-slider" min="0" max="1440" step="' + STEP_MIN + '" value="1440" aria-label="回放时间 replay time">' +
    '<div id="mon-replay-time" class="mon-replay-time"></div>' +
    '<div class="mon-actions"><button type="button" id="mon-replay-play">▶ 播放 play</button>' +
    '<button type="button" id="mon-replay-exit">退出回放 back to live</button></div></div>' +
    '<div id="mon-replay-note" class="muted"></div>';
  var anchor = panel.querySelector('.mon-sub');
  panel.insertBefore(box, anchor);
  box.querySelector('#mon-replay-open').addEventListener('click', start);
  box.querySelector('#mon-replay-slider').addEventListener('input', function () { stop(); showAt(sliderTime()); });
  box.querySelector('#mon-replay-play').addEventListener('click', play);
  box.querySelector('#mon-replay-exit').addEventListener('click', exit);
}
setup();
