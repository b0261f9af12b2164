/* The risk map viewer: layers, search, nearest rescue (click), exposure (pick), siting (draw).
 * Talks only to this service: /viewer/config.json, /maps/aggregate, /collections/.../items and the
 * /analysis endpoints. Whatever an analysis returns is drawn generically: a FeatureCollection becomes a
 * layer (RiskMap.resultLayer); verdicts, rule outcomes, teams and zones become tables. */
(function () {
  'use strict';
  var esc = RiskMap.esc;
  var $ = function (id) { return document.getElementById(id); };
  var state = { config: null, layers: {}, metas: {}, result: null, incidentMarker: null, busy: 0 };
  var viewer = window.viewer = { state: state };

  var map = L.map('map', { maxZoom: 19, minZoom: 3, zoomControl: true });
  viewer.map = map;
  L.control.scale({ imperial: false }).addTo(map);
  var resultGroup = L.featureGroup().addTo(map);

  function status(text, isError) {
    var el = $('status');
    el.textContent = text || '';
    el.className = isError ? 'error' : '';
  }

  function headers(extra) {
    var key = $('api-key').value.trim();
    RiskMap.apiKey = key || null;
    return RiskMap.headers(extra);
  }

  /* fetch JSON; a non-2xx answer becomes an Error carrying the service's problems list */
  function getJSON(url, options) {
    options = options || {};
    options.headers = headers(L.extend({ Accept: 'application/json, application/geo+json' }, options.headers || {}));
    state.busy += 1;
    return fetch(url, options).then(function (r) {
      return r.text().then(function (text) {
        var doc = null;
        try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
        if (!r.ok) {
          var msg = 'HTTP ' + r.status;
          if (doc && doc.problems && doc.problems.length) {
            msg += ': ' + doc.problems.map(function (p) { return (p.field ? p.field + ': ' : '') + p.problem; }).join('; ');
          } else if (doc && doc.description) { msg += ': ' + doc.description; }
          var err = new Error(msg);
          err.status = r.status;
          throw err;
        }
        return doc;
      });
    }).finally(function () { state.busy -= 1; });
  }

  /* ---- layers ---------------------------------------------------------------------------- */

  function addLayerRow(meta) {
    var row = document.createElement('label');
    row.className = 'layer-row';
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.disabled = true;
    box.dataset.layer = meta.name;
    box.addEventListener('change', function () {
      var layer = state.layers[meta.name];
      if (!layer) { return; }
      if (box.checked) { map.addLayer(layer); } else { map.removeLayer(layer); }
    });
    var sw = document.createElement('span');
    sw.className = 'rm-swatch rm-swatch-' + meta.family;
    sw.style.background = meta.style.fillColor;
    sw.style.borderColor = meta.style.color;
    var text = document.createElement('span');
    text.textContent = meta.title;
    var count = document.createElement('span');
    count.className = 'count';
    row.appendChild(box); row.appendChild(sw); row.appendChild(text); row.appendChild(count);
    $('layers').appendChild(row);
    return { box: box, count: count };
  }

  /* Every layer is a RiskMap.liveLayer: grid counts when dense, features by bbox when few enough. */
  function setupLayers(config) {
    return Promise.all(config.layers.map(function (meta) {
      state.metas[meta.name] = meta;
      var row = addLayerRow(meta);
      return getJSON('/maps/aggregate/' + encodeURIComponent(meta.name)).then(function (agg) {
        var props = meta.popup.map(function (a) { return a.name; });
        if (props.indexOf('name') < 0) { props.unshift('name'); }
        var layer = RiskMap.liveLayer(meta, L.extend({ live: true, limit: 3000, properties: props,
          basemap: meta.style.basemap }, agg));
        state.layers[meta.name] = layer;
        row.count.textContent = agg.total;
        row.box.checked = meta.name !== 'roads';
        row.box.disabled = false;
        if (row.box.checked) { layer.addTo(map); }
      }).catch(function (e) { status(meta.title + ': ' + e.message, true); });
    }));
  }

  /* ---- results --------------------------------------------------------------------------- */

  function clearResult() {
    resultGroup.clearLayers();
    $('result').innerHTML = '';
    state.result = null;
  }

  function notesOf(meta) {
    var out = [];
    ['reason', 'warnings', 'assumptions', 'population_note', 'method', 'limitations', 'verdict_rule'].forEach(function (k) {
      var v = meta && meta[k];
      if (typeof v === 'string' && v) { out.push(v); }
      if (Array.isArray(v)) { v.forEach(function (x) { out.push(typeof x === 'string' ? x : JSON.stringify(x)); }); }
    });
    return out;
  }

  function measure(m) {
    if (!m || m.value === null || m.value === undefined) { return '—'; }
    return m.value + (m.unit ? ' ' + m.unit : '');
  }

  var OUTCOME = { pass: 'pass', warn: 'warn', fail: 'fail' };

  function tablesFor(doc, features) {
    var meta = doc.metadata || doc;
    var tables = [];
    if (Array.isArray(meta.rules)) {
      tables.push({ title: '规则 Rules', columns: ['规则 rule', '说明', '结果', '测得', '阈值'],
        rows: meta.rules.map(function (r) {
          var d = r.description || {};
          return { cells: [r.id, d.zh || d.en || '', r.outcome, measure(r.measured), measure(r.threshold)],
                   cls: OUTCOME[r.outcome] || '' };
        }) });
    }
    var teams = features.filter(function (f) { return (f.properties || {}).kind === 'team'; });
    if (teams.length) {
      tables.push({ title: '救援队伍 Teams', columns: ['#', '名称', '类型', 'km', 'ETA min', '达标'],
        rows: teams.map(function (f) {
          var p = f.properties;
          return { cells: [p.rank, p.name, p.team_type_zh || p.team_type, p.distance_m != null ? (p.distance_m / 1000).toFixed(1) : '—',
            p.eta_min != null ? Number(p.eta_min).toFixed(1) : '—', p.meets_standard === true ? '是' : (p.meets_standard === false ? '否' : '—')],
            cls: p.meets_standard === false ? 'fail' : (p.meets_standard === true ? 'pass' : '') };
        }) });
    }
    var zones = features.filter(function (f) { var p = f.properties || {}; return p.level && (p.feature_type === 'zone' || p.role === 'zone'); });
    if (zones.length) {
      tables.push({ title: '影响区 Zones', columns: ['区', '类型', '距离 m', '受体', '人口'],
        rows: zones.map(function (f) {
          var p = f.properties, ex = p.exposure || {};
          return { cells: [p.label_zh || p.level, p.kind, p.distance_m != null ? Math.round(p.distance_m) : '—',
            ex.receptor_count, ex.total_population], cls: p.level === 'red' ? 'fail' : 'warn' };
        }) });
    }
    if (meta.exposure && typeof meta.exposure === 'object') {
      tables.push({ title: '合计 Total', rows: Object.keys(meta.exposure).filter(function (k) {
        return typeof meta.exposure[k] !== 'object'; }).map(function (k) { return [k, meta.exposure[k]]; }) });
    }
    return tables;
  }

  /* Draw any analysis answer and describe it in the side panel. */
  function showResult(title, doc, opts) {
    opts = opts || {};
    clearResult();
    state.result = doc;
    var features = [];
    if (doc && doc.type === 'FeatureCollection') { features = doc.features || []; }
    else if (doc && doc.type === 'Feature') { features = [doc]; }
    if (features.length) {
      var layer = RiskMap.resultLayer({ type: 'FeatureCollection', features: features },
        L.extend({ title: title, permanentLabels: opts.kind === 'rescue', rankLabels: true }, opts.layer || {}));
      resultGroup.addLayer(layer);
      if (!opts.keepView) {
        try { map.fitBounds(resultGroup.getBounds(), { padding: [30, 30], maxZoom: 14 }); } catch (e) { /* empty bounds */ }
      }
    }
    var meta = (doc && doc.metadata) || doc || {};
    var content = { title: title, tables: tablesFor(doc || {}, features), notes: notesOf(meta) };
    if (meta.verdict) {
      var vl = meta.verdict_label || {};
      content.verdict = ((vl.zh || meta.verdict) + ' ' + (vl.en || '')).trim();
      content.verdict_class = meta.verdict;
    }
    var div = document.createElement('div');
    div.className = 'result-body';
    div.dataset.kind = opts.kind || 'result';
    div.innerHTML = RiskMap.panelHtml(content);
    if (opts.mapLink) {
      var a = document.createElement('a');
      a.href = opts.mapLink; a.target = '_blank'; a.textContent = '打开/下载地图 Open map (HTML)';
      div.appendChild(a);
    }
    $('result').appendChild(div);
    status(features.length + ' 个要素 features');
  }

  function fail(what, e) { status(what + ' — ' + e.message, true); }

  /* ---- rescue: click the map ------------------------------------------------------------ */

  function clickMode() {
    var el = document.querySelector('input[name="click-mode"]:checked');
    return el ? el.value : 'none';
  }

  function nearestRescue(lat, lng) {
    var incident = $('incident').value, k = $('rescue-k').value || 5, by = $('rescue-by').value;
    var q = 'lon=' + lng.toFixed(6) + '&lat=' + lat.toFixed(6) + '&incident=' + encodeURIComponent(incident) +
      '&k=' + encodeURIComponent(k) + '&by=' + encodeURIComponent(by);
    status('查询最近救援队伍… nearest rescue teams');
    return getJSON(state.config.endpoints.rescue + '?' + q).then(function (doc) {
      showResult('最近救援队伍 Nearest rescue teams', doc, { kind: 'rescue', keepView: false, mapLink: '/maps/rescue?' + q });
      var inc = L.marker([lat, lng], { icon: L.divIcon({ className: 'rm-icon', iconSize: [24, 24], iconAnchor: [12, 12],
        html: '<span class="rm-icon-badge" style="background:#ef3b2c;border-color:#67000d"><i class="fa-solid fa-triangle-exclamation"></i></span>' }) });
      inc.bindTooltip('事故点 incident');
      resultGroup.addLayer(inc);
    }).catch(function (e) { fail('救援查询失败 rescue query failed', e); });
  }
  viewer.nearestRescue = nearestRescue;

  map.on('click', function (e) {
    if (clickMode() === 'rescue' && !state.drawing) { nearestRescue(e.latlng.lat, e.latlng.lng); }
  });

  /* ---- exposure: pick a feature ---------------------------------------------------------- */

  function exposure(layer, id) {
    var url = state.config.endpoints.exposure.replace('{layer}', encodeURIComponent(layer)).replace('{id}', encodeURIComponent(id));
    status('暴露分析… exposure');
    return getJSON(url + '?receptors=true').then(function (doc) {
      showResult('暴露分析 Exposure — ' + layer + ' #' + id, doc, { kind: 'exposure',
        mapLink: '/maps/exposure/' + encodeURIComponent(layer) + '/' + encodeURIComponent(id) });
    }).catch(function (e) { fail('暴露分析失败 exposure failed', e); });
  }
  viewer.exposure = exposure;

  function rescueForFeature(layer, id) {
    status('查询最近救援队伍… nearest rescue teams');
    var url = state.config.endpoints.rescue + '/' + encodeURIComponent(layer) + '/' + encodeURIComponent(id) +
      '?k=' + encodeURIComponent($('rescue-k').value || 5) + '&by=' + encodeURIComponent($('rescue-by').value);
    return getJSON(url).then(function (doc) { showResult('最近救援队伍 Nearest rescue teams', doc, { kind: 'rescue' }); })
      .catch(function (e) { fail('救援查询失败 rescue query failed', e); });
  }

  function actionButtons(layerName, id) {
    var box = document.createElement('div');
    box.className = 'actions';
    function button(label, fn, cls) {
      var b = document.createElement('button');
      b.type = 'button'; b.textContent = label; b.className = cls;
      b.addEventListener('click', function (ev) { L.DomEvent.stopPropagation(ev); map.closePopup(); fn(); });
      box.appendChild(b);
    }
    if ((state.config.exposure_layers || []).indexOf(layerName) >= 0) {
      button('暴露分析 Exposure', function () { exposure(layerName, id); }, 'btn-exposure');
    }
    if ((state.config.rescue_layers || []).indexOf(layerName) >= 0) {
      button('最近救援 Rescue', function () { rescueForFeature(layerName, id); }, 'btn-rescue');
    }
    return box;
  }

  map.on('popupopen', function (e) {
    var src = e.popup._source;
    if (!src || !src.feature || !src._rmMeta) { return; }
    var el = e.popup.getElement().querySelector('.leaflet-popup-content');
    if (el && !el.querySelector('.actions')) {
      el.appendChild(actionButtons(src._rmMeta.name, src.feature.id));
      e.popup.update();
    }
  });

  /* ---- search ---------------------------------------------------------------------------- */

  function search(ev) {
    if (ev) { ev.preventDefault(); }
    var text = $('search-text').value.trim(), which = $('search-layer').value;
    var list = $('search-results');
    list.innerHTML = '';
    if (!text) { return Promise.resolve(); }
    var names = which ? [which] : state.config.layers.map(function (m) { return m.name; });
    status('搜索… searching');
    return Promise.all(names.map(function (name) {
      return getJSON('/collections/' + encodeURIComponent(name) + '/items?q=' + encodeURIComponent(text) + '&limit=10')
        .then(function (fc) { return { name: name, fc: fc }; })
        .catch(function () { return { name: name, fc: { features: [] } }; });
    })).then(function (answers) {
      var n = 0;
      answers.forEach(function (a) {
        a.fc.features.forEach(function (f) {
          n += 1;
          var li = document.createElement('li');
          li.textContent = (f.properties.name || '#' + f.id) + ' — ' + state.metas[a.name].title_zh;
          li.dataset.layer = a.name; li.dataset.id = f.id;
          li.addEventListener('click', function () { showFeature(a.name, f); });
          list.appendChild(li);
        });
      });
      status(n ? n + ' 个结果 results' : '没有结果 no match');
    });
  }
  viewer.search = search;

  function showFeature(layerName, f) {
    var meta = state.metas[layerName];
    clearResult();
    var layer = RiskMap.catalogLayer(meta, { type: 'FeatureCollection', features: [f] });
    resultGroup.addLayer(layer);
    var bounds = resultGroup.getBounds();
    map.fitBounds(bounds, { maxZoom: 14, padding: [40, 40] });
    var html = RiskMap.popupHtml(meta, f.properties, f.id);
    var content = document.createElement('div');
    content.innerHTML = html;
    content.appendChild(actionButtons(layerName, f.id));
    L.popup({ maxWidth: 360 }).setLatLng(bounds.getCenter()).setContent(content).openOn(map);
    var card = document.createElement('div');
    card.innerHTML = html;
    card.appendChild(actionButtons(layerName, f.id));
    $('result').appendChild(card);
  }

  /* ---- siting: draw a polygon ------------------------------------------------------------ */

  function siting(feature) {
    status('选址检查… siting check');
    var kind = $('siting-kind').value;
    return getJSON(state.config.endpoints.siting + '?f=geojson&kind=' + encodeURIComponent(kind), {
      method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: JSON.stringify(feature)
    }).then(function (doc) {
      showResult('选址检查 Siting check', doc, { kind: 'siting' });
    }).catch(function (e) { fail('选址检查失败 siting check failed', e); });
  }
  viewer.siting = siting;

  function setupDraw() {
    if (!L.Control.Draw) { return; }
    var drawn = L.featureGroup().addTo(map);
    map.addControl(new L.Control.Draw({
      position: 'topleft',
      draw: { polygon: { allowIntersection: false, showArea: false }, rectangle: { showArea: false },
              polyline: false, circle: false, marker: false, circlemarker: false },
      edit: false
    }));
    map.on('draw:drawstart', function () { state.drawing = true; });
    map.on('draw:drawstop', function () { setTimeout(function () { state.drawing = false; }, 0); });
    map.on('draw:created', function (e) {
      drawn.clearLayers();
      var f = e.layer.toGeoJSON();
      f.properties = { name: '草图方案 sketch', kind: $('siting-kind').value };
      siting(f).then(function () { resultGroup.addLayer(e.layer); });
    });
  }

  /* ---- start ----------------------------------------------------------------------------- */

  function start(config) {
    state.config = config;
    if (config.basemap && config.basemap.url) {
      L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 19 }).addTo(map);
    }
    if (config.basemap && config.basemap.notice) {
      var a = document.createElement('div');
      a.className = 'rm-alert';
      a.textContent = config.basemap.notice;
      $('alerts').appendChild(a);
    }
    var e = config.extent || [121.6, 40.8, 131.3, 46.3];
    map.fitBounds([[e[1], e[0]], [e[3], e[2]]]);
    var sel = $('search-layer');
    sel.innerHTML = '<option value="">全部图层 all layers</option>' + config.layers.map(function (m) {
      return '<option value="' + esc(m.name) + '">' + esc(m.title) + '</option>'; }).join('');
    $('incident').innerHTML = (config.incidents || []).map(function (i) {
      return '<option value="' + esc(i.key) + '">' + esc(i.zh + ' ' + i.en) + '</option>'; }).join('');
    setupDraw();
    $('search-form').addEventListener('submit', search);
    $('clear-result').addEventListener('click', function () { clearResult(); status(''); });
    setupLayers(config).then(function () {
      viewer.ready = true;
      document.body.dataset.ready = '1';
    });
  }

  getJSON('/viewer/config.json').then(start).catch(function (e) { status('配置加载失败 config failed: ' + e.message, true); });
}());
