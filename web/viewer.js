/* The risk map viewer: the commander's and the planner's whole job in one page.
 *
 * Talks only to this service: /viewer/config.json, /maps/aggregate, /collections/.../items, the
 * /analysis endpoints and /reports (PDF). Clicking anywhere offers "incident here" (nearest rescue);
 * clicking a hazard source, tailings dam or goaf area offers exposure and rescue; a park its siting
 * check. Every result is listed in the side panel (never over the map), exportable (GeoJSON, CSV,
 * PDF) and restorable from the URL. Labels come from the service's catalogue (config.labels). */
(function () {
  'use strict';
  var esc = RiskMap.esc;
  var $ = function (id) { return document.getElementById(id); };
  var state = { config: null, layers: {}, metas: {}, result: null, analysis: null, table: null, busy: 0,
                drawing: false, measuring: null, proposal: null };
  var viewer = window.viewer = { state: state };

  var map = L.map('map', { maxZoom: 19, minZoom: 3, zoomControl: true });
  viewer.map = map;
  L.control.scale({ imperial: false, metric: true }).addTo(map);
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

  function problemText(r, doc) {
    var msg = 'HTTP ' + r.status;
    if (doc && doc.problems && doc.problems.length) {
      msg += ': ' + doc.problems.map(function (p) { return (p.field ? p.field + ': ' : '') + p.problem; }).join('; ');
    } else if (doc && doc.description) { msg += ': ' + doc.description; }
    return msg;
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
        if (!r.ok) { var err = new Error(problemText(r, doc)); err.status = r.status; throw err; }
        return doc;
      });
    }).finally(function () { state.busy -= 1; });
  }

  function getBlob(url, options) {
    options = options || {};
    options.headers = headers(options.headers || {});
    return fetch(url, options).then(function (r) {
      if (r.ok) { return r.blob(); }
      return r.text().then(function (t) {
        var doc = null;
        try { doc = JSON.parse(t); } catch (e) { doc = null; }
        throw new Error(problemText(r, doc));
      });
    });
  }

  function download(name, blob) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  /* ---- labels (catalogue from the service, English beside) -------------------------------- */

  function zhEn(table, key) {
    var t = (state.config.labels || {})[table] || {};
    var k = key === null || key === undefined ? 'null' : String(key);
    var v = t[k];
    return v ? v.zh + ' ' + v.en : (key === null || key === undefined ? '—' : String(key));
  }
  function field(key) { return zhEn('fields', key); }
  viewer.zhEn = zhEn;

  /* ---- coordinates: readout, parsing (decimal degrees and D°M′S″), geodesy ------------------ */

  function dms(v, pos, neg) {
    var h = v >= 0 ? pos : neg, a = Math.abs(v), d = Math.floor(a), mf = (a - d) * 60, m = Math.floor(mf);
    var s = (mf - m) * 60;
    if (s >= 59.95) { s = 0; m += 1; }
    if (m >= 60) { m = 0; d += 1; }
    return d + '°' + String(m).padStart(2, '0') + '′' + s.toFixed(1).padStart(4, '0') + '″' + h;
  }
  function fmtLatLng(ll) {
    return ll.lat.toFixed(5) + ', ' + ll.lng.toFixed(5) + '  (' + dms(ll.lat, 'N', 'S') + ' ' + dms(ll.lng, 'E', 'W') + ')';
  }

  /* Coordinates as typed by people: "43.85, 126.55", "126.55 43.85" (a value above 90 is the
   * longitude), "43°51′00″N 126°33′00″E", "N43 51.5 E126 33", "北纬43度51分 东经126度33分". */
  var HEMI = { '北纬': 'N', '南纬': 'S', '东经': 'E', '西经': 'W', '北': 'N', '南': 'S', '东': 'E', '西': 'W' };

  function parseOne(s) {
    var h = (s.match(/[NSEW]/) || [null])[0];
    var nums = s.match(/-?\d+(?:\.\d+)?/g) || [];
    if (!nums.length || nums.length > 3) { return null; }
    if (nums.length > 1 && nums.slice(0, -1).some(function (n) { return n.indexOf('.') >= 0; })) { return null; }
    var d = parseFloat(nums[0]), m = nums.length > 1 ? parseFloat(nums[1]) : 0, sec = nums.length > 2 ? parseFloat(nums[2]) : 0;
    if (m >= 60 || sec >= 60 || m < 0 || sec < 0) { return null; }
    var v = Math.abs(d) + m / 60 + sec / 3600;
    if (d < 0 || h === 'S' || h === 'W') { v = -v; }
    return { v: v, h: h };
  }

  function parseCoords(text) {
    var t = String(text || '').trim().toUpperCase().replace(/北纬|南纬|东经|西经|北|南|东|西/g, function (m) { return HEMI[m]; });
    if (!t) { return null; }
    var groups;
    if (/[,;，；]/.test(t)) { groups = t.split(/[,;，；]/); }
    else if (/[NSEW]/.test(t)) { groups = /^[NSEW]/.test(t) ? t.split(/(?=[NSEW])/) : t.split(/(?<=[NSEW])/); }
    else {
      var nums = t.match(/-?\d+(?:\.\d+)?/g) || [];
      if (nums.length % 2 || !nums.length || nums.length > 6) { return null; }
      var half = nums.length / 2;
      groups = [nums.slice(0, half).join(' '), nums.slice(half).join(' ')];
    }
    groups = groups.filter(function (g) { return /\d/.test(g); });
    if (groups.length !== 2) { return null; }
    var parts = groups.map(parseOne);
    if (!parts[0] || !parts[1]) { return null; }
    var lat, lng;
    if (parts[0].h === 'E' || parts[0].h === 'W' || parts[1].h === 'N' || parts[1].h === 'S') {
      lng = parts[0].v; lat = parts[1].v;
    } else if (!parts[0].h && !parts[1].h && Math.abs(parts[0].v) > 90) {
      lng = parts[0].v; lat = parts[1].v;
    } else { lat = parts[0].v; lng = parts[1].v; }
    if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) { return null; }
    return L.latLng(lat, lng);
  }
  viewer.parseCoords = parseCoords;

  /* Geodesic distance on WGS84: Vincenty (1975) inverse formula (Survey Review 23(176):88-93). */
  var WGS = { a: 6378137, f: 1 / 298.257223563 };
  WGS.b = WGS.a * (1 - WGS.f);
  function geodesicDistance(p, q) {
    var a = WGS.a, b = WGS.b, f = WGS.f, rad = Math.PI / 180;
    var L1 = (q.lng - p.lng) * rad, U1 = Math.atan((1 - f) * Math.tan(p.lat * rad)), U2 = Math.atan((1 - f) * Math.tan(q.lat * rad));
    var sU1 = Math.sin(U1), cU1 = Math.cos(U1), sU2 = Math.sin(U2), cU2 = Math.cos(U2);
    var lam = L1, lamP, iter = 0, sSig, cSig, sig, cosSqA, cos2SM, sinLam, cosLam;
    do {
      sinLam = Math.sin(lam); cosLam = Math.cos(lam);
      sSig = Math.sqrt(Math.pow(cU2 * sinLam, 2) + Math.pow(cU1 * sU2 - sU1 * cU2 * cosLam, 2));
      if (sSig === 0) { return 0; }
      cSig = sU1 * sU2 + cU1 * cU2 * cosLam;
      sig = Math.atan2(sSig, cSig);
      var sinA = cU1 * cU2 * sinLam / sSig;
      cosSqA = 1 - sinA * sinA;
      cos2SM = cosSqA !== 0 ? cSig - 2 * sU1 * sU2 / cosSqA : 0;
      var C = f / 16 * cosSqA * (4 + f * (4 - 3 * cosSqA));
      lamP = lam;
      lam = L1 + (1 - C) * f * sinA * (sig + C * sSig * (cos2SM + C * cSig * (-1 + 2 * cos2SM * cos2SM)));
    } while (Math.abs(lam - lamP) > 1e-12 && ++iter < 200);
    var uSq = cosSqA * (a * a - b * b) / (b * b);
    var A = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
    var B = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
    var dSig = B * sSig * (cos2SM + B / 4 * (cSig * (-1 + 2 * cos2SM * cos2SM) -
      B / 6 * cos2SM * (-3 + 4 * sSig * sSig) * (-3 + 4 * cos2SM * cos2SM)));
    return b * A * (sig - dSig);
  }

  /* Geodesic polygon area: latitudes mapped to authalic latitudes (equal-area map of the WGS84
   * ellipsoid onto the sphere of radius R_q; Snyder 1987, Map Projections, eqs. 3-11, 3-12), then the
   * spherical polygon area of Chamberlain & Duquette (2007, JPL Publication 07-03). */
  function authalic(latRad) {
    var e2 = WGS.f * (2 - WGS.f), e = Math.sqrt(e2);
    function q(s) { return (1 - e2) * (s / (1 - e2 * s * s) - Math.log((1 - e * s) / (1 + e * s)) / (2 * e)); }
    return Math.asin(q(Math.sin(latRad)) / q(1));
  }
  function geodesicArea(pts) {
    var e2 = WGS.f * (2 - WGS.f), e = Math.sqrt(e2), rad = Math.PI / 180;
    var qp = 1 - (1 - e2) / (2 * e) * Math.log((1 - e) / (1 + e));
    var R = WGS.a * Math.sqrt(qp / 2), sum = 0;
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i], q = pts[(i + 1) % pts.length];
      sum += (q.lng - p.lng) * rad * (2 + Math.sin(authalic(p.lat * rad)) + Math.sin(authalic(q.lat * rad)));
    }
    return Math.abs(sum * R * R / 2);
  }
  viewer.geodesicDistance = geodesicDistance;
  viewer.geodesicArea = geodesicArea;

  function fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(3) + ' km' : m.toFixed(1) + ' m'; }
  function fmtArea(a) { return a >= 1e6 ? (a / 1e6).toFixed(4) + ' km²' : a.toFixed(0) + ' m²'; }

  var readout = L.control({ position: 'bottomleft' });
  readout.onAdd = function () { var d = L.DomUtil.create('div', 'rm-status rm-coords'); d.id = 'coords'; d.textContent = '—'; return d; };
  readout.addTo(map);
  map.on('mousemove', function (e) { $('coords').textContent = fmtLatLng(e.latlng); });

  /* ---- layers, basemaps, opacity, province mask ------------------------------------------- */

  function addLayerRow(meta) {
    var row = document.createElement('div');
    row.className = 'layer-row';
    var label = document.createElement('label');
    var box = document.createElement('input');
    box.type = 'checkbox'; box.disabled = true; box.dataset.layer = meta.name;
    box.addEventListener('change', function () {
      if (box.checked) { ensureLayer(meta).then(function (layer) { if (box.checked) { map.addLayer(layer); } }); }
      else if (state.layers[meta.name]) { map.removeLayer(state.layers[meta.name]); }
      updateHash();
    });
    var sw = document.createElement('span');
    sw.className = 'rm-swatch rm-swatch-' + meta.family;
    sw.style.background = meta.style.fillColor; sw.style.borderColor = meta.style.color;
    var text = document.createElement('span'); text.textContent = meta.title;
    label.appendChild(box); label.appendChild(sw); label.appendChild(text);
    var count = document.createElement('span'); count.className = 'count';
    var op = document.createElement('input');
    op.type = 'range'; op.min = '0.1'; op.max = '1'; op.step = '0.1'; op.value = '1'; op.className = 'opacity';
    op.title = '透明度 opacity'; op.dataset.opacity = meta.name;
    op.addEventListener('input', function () { setOpacity(meta.name, parseFloat(op.value)); });
    var tbl = document.createElement('button');
    tbl.type = 'button'; tbl.className = 'btn-table'; tbl.title = '属性表 attribute table'; tbl.dataset.table = meta.name;
    tbl.innerHTML = '<i class="fa-solid fa-table"></i>';
    tbl.addEventListener('click', function () { attributeTable(meta.name); });
    row.appendChild(label); row.appendChild(count); row.appendChild(op); row.appendChild(tbl);
    $('layers').appendChild(row);
    return { box: box, count: count };
  }

  function setOpacity(name, v) {
    var layer = state.layers[name];
    if (!layer) { return; }
    state.opacity = state.opacity || {};
    state.opacity[name] = v;
    function apply(l) {
      if (l.setStyle && l.options && l.options.fillOpacity !== undefined) {
        if (l._rmBase === undefined) { l._rmBase = { o: l.options.opacity, f: l.options.fillOpacity }; }
        l.setStyle({ opacity: l._rmBase.o * v, fillOpacity: l._rmBase.f * v });
      } else if (l.setOpacity) { l.setOpacity(v); }
      if (l.eachLayer) { l.eachLayer(apply); }
    }
    apply(layer);
  }

  /* A layer's grid counts are fetched when it is first shown: the first load only asks for what
   * the view needs (the layers checked at the start). */
  function ensureLayer(meta) {
    if (state.layers[meta.name]) { return Promise.resolve(state.layers[meta.name]); }
    return getJSON('/maps/aggregate/' + encodeURIComponent(meta.name)).then(function (agg) {
      var props = meta.popup.map(function (a) { return a.name; });
      if (props.indexOf('name') < 0) { props.unshift('name'); }
      var layer = RiskMap.liveLayer(meta, L.extend({ live: true, limit: LIVE_LIMIT, properties: props,
        basemap: meta.style.basemap }, agg));
      layer.on('rm:update', function () { if (state.opacity && state.opacity[meta.name]) { setOpacity(meta.name, state.opacity[meta.name]); } });
      state.layers[meta.name] = layer;
      state.rows[meta.name].count.textContent = agg.total;
      return layer;
    });
  }

  var INITIAL_OFF = { roads: true, admin_areas: true };   // the offline basemap draws both
  var LIVE_LIMIT = 1000;   // features per layer in view before grid counts are shown instead

  function setupLayers(config, wanted) {
    state.rows = {};
    config.layers.forEach(function (meta) { state.metas[meta.name] = meta; state.rows[meta.name] = addLayerRow(meta); });
    return Promise.all(config.layers.map(function (meta) {
      var row = state.rows[meta.name];
      row.box.disabled = false;
      var on = wanted ? wanted.indexOf(meta.name) >= 0 : !INITIAL_OFF[meta.name];
      row.box.checked = on;
      if (!on) { return null; }
      return ensureLayer(meta).then(function (layer) { layer.addTo(map); })
        .catch(function (e) { status(meta.title + ': ' + e.message, true); });
    }));
  }

  /* Offline basemap from the project's own layers: county outlines with their names, roads, the
   * province mask. Drawn in its own pane below the risk layers. */
  function offlineBasemap(config) {
    map.createPane('basemap');
    map.getPane('basemap').style.zIndex = 250;
    var group = L.layerGroup();
    var admin = state.metas.admin_areas, roads = state.metas.roads;
    var loaded = false;
    group.on('add', function () {
      if (loaded) { return; }
      loaded = true;
      if (admin) {
        getJSON('/viewer/basemap/admin_areas').then(function (packed) {
          var province = null;
          L.geoJSON(RiskMap.unpack(packed), { pane: 'basemap', interactive: false,
            style: function (f) {
              var lvl = f.properties.level;
              return { color: lvl === 'province' ? '#444' : '#8c8c8c', weight: lvl === 'province' ? 2 : (lvl === 'prefecture' ? 1.2 : 0.7),
                       fillColor: '#f6f3ec', fillOpacity: lvl === 'province' ? 0.6 : 0, dashArray: lvl === 'county' ? '3 3' : null };
            },
            onEachFeature: function (f, l) {
              if (f.properties.level === 'province') { province = f; }
              if (f.properties.level !== 'province' && f.properties.name) {
                l.bindTooltip(esc(f.properties.name), { permanent: true, direction: 'center', className: 'rm-place-label rm-place-' + f.properties.level });
              }
            } }).addTo(group);
          if (province) { provinceMask(province); }
        }).catch(function (e) { status('底图 basemap: ' + e.message, true); });
      }
      if (roads) {
        getJSON('/viewer/basemap/roads').then(function (packed) {
          L.geoJSON(RiskMap.unpack(packed), { pane: 'basemap', interactive: false, style: function () { return { color: '#c9a35d', weight: 1, opacity: 0.8 }; } }).addTo(group);
        }).catch(function () { /* roads are optional context */ });
      }
    });
    return group;
  }

  /* Everything outside the province greyed out (a world polygon with the province as its hole). */
  function provinceMask(province) {
    var world = [[-89, -179], [-89, 179], [89, 179], [89, -179]];
    var g = province.geometry, holes = [];
    var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    polys.forEach(function (p) { holes.push(p[0].map(function (c) { return [c[1], c[0]]; })); });
    state.mask = L.polygon([world].concat(holes), { pane: 'basemap', interactive: false, stroke: false,
      fillColor: '#7a7a7a', fillOpacity: 0.35, className: 'rm-mask' }).addTo(map);
  }

  function setupBasemaps(config) {
    var bases = {}, box = $('basemaps');
    bases.offline = offlineBasemap(config);
    if (config.basemap && config.basemap.url) {
      bases.xyz = L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 19 });
    }
    var names = { offline: '离线底图（本地图层）offline (own layers)', xyz: '在线瓦片 XYZ tiles', none: '无 none' };
    var order = ['offline'].concat(bases.xyz ? ['xyz'] : []).concat(['none']);
    box.innerHTML = '<div class="muted">底图 Basemap</div>' + order.map(function (k) {
      return '<label class="basemap-row"><input type="radio" name="basemap" value="' + k + '"> ' + esc(names[k]) + '</label>';
    }).join('');
    function use(k) {
      Object.keys(bases).forEach(function (n) { if (n !== k && map.hasLayer(bases[n])) { map.removeLayer(bases[n]); } });
      if (bases[k]) { bases[k].addTo(map); }
      state.basemap = k;
      var r = box.querySelector('input[value="' + k + '"]');
      if (r) { r.checked = true; }
    }
    box.addEventListener('change', function (e) { if (e.target.name === 'basemap') { use(e.target.value); updateHash(); } });
    viewer.useBasemap = use;
    use(bases.xyz ? 'xyz' : 'offline');
  }

  /* ---- attribute table per layer -------------------------------------------------------- */

  function attributeTable(name, filter) {
    var meta = state.metas[name];
    var cols = meta.popup.filter(function (a) { return a.type !== 'json'; });
    var q = filter ? '&q=' + encodeURIComponent(filter) : '';
    status('属性表 attribute table…');
    return getJSON('/collections/' + encodeURIComponent(name) + '/items?limit=200' + q + '&properties=' +
      encodeURIComponent(cols.map(function (a) { return a.name; }).join(','))).then(function (fc) {
      clearResult();
      var div = document.createElement('div');
      div.className = 'result-body'; div.dataset.kind = 'attributes';
      div.innerHTML = '<div class="rm-panel-title">' + esc(meta.title) + ' — 属性表 attribute table</div>' +
        '<form class="attr-filter"><input type="search" placeholder="名称包含 name contains" value="' + esc(filter || '') + '"><button>筛选 filter</button></form>' +
        '<div class="muted">显示 ' + fc.features.length + ' / 共 ' + fc.numberMatched + ' shown' +
        (fc.numberMatched > fc.features.length ? '（仅前 200 条，请筛选 first 200 only: filter）' : '') + '</div>';
      var rows = fc.features.map(function (f) {
        return { f: f, cells: [f.id].concat(cols.map(function (a) { return RiskMap.formatValue(a, f.properties[a.name]); })) };
      });
      var t = sortableTable(['id'].concat(cols.map(function (a) { return a.label; })), rows, function (r) { zoomToFeature(name, r.f); });
      div.appendChild(t);
      div.querySelector('form').addEventListener('submit', function (ev) { ev.preventDefault(); attributeTable(name, ev.target.querySelector('input').value.trim()); });
      $('result').appendChild(div);
      state.table = { columns: ['id'].concat(cols.map(function (a) { return a.name; })), rows: rows.map(function (r) { return r.cells; }) };
      state.result = fc;
      exportButtons(true, false);
      status(fc.numberMatched + ' 个要素 features');
    }).catch(function (e) { fail('属性表失败 table failed', e); });
  }
  viewer.attributeTable = attributeTable;

  function zoomToFeature(layerName, f) {
    var g = L.geoJSON(f);
    var b = g.getBounds();
    if (f.geometry && f.geometry.type === 'Point') { map.setView(b.getCenter(), Math.max(map.getZoom(), 14)); }
    else { map.fitBounds(b, { maxZoom: 15, padding: [30, 30] }); }
    var hl = L.geoJSON(f, { style: function () { return { color: '#00e5ff', weight: 4, fillOpacity: 0.1 }; },
      pointToLayer: function (x, ll) { return L.circleMarker(ll, { radius: 11, color: '#00bcd4', weight: 3, fill: false }); } });
    resultGroup.addLayer(hl);
    setTimeout(function () { resultGroup.removeLayer(hl); }, 2500);
  }

  /* A table whose column headers sort it and whose rows zoom to their feature. */
  function sortableTable(columns, rows, onRow) {
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

  /* ---- results --------------------------------------------------------------------------- */

  function clearResult() {
    resultGroup.clearLayers();
    $('result').innerHTML = '';
    state.result = null; state.table = null; state.analysis = null; state.pdf = null;
    exportButtons(false, false);
  }

  function exportButtons(data, pdf) {
    $('export-geojson').disabled = !data; $('export-csv').disabled = !data; $('export-pdf').disabled = !pdf;
  }

  function strings(v) {
    if (typeof v === 'string' && v) { return [v]; }
    if (Array.isArray(v)) { return v.map(function (x) { return typeof x === 'string' ? x : JSON.stringify(x); }); }
    return [];
  }

  function notesHtml(title, list, open) {
    if (!list.length) { return ''; }
    return '<details class="rm-notes"' + (open ? ' open' : '') + '><summary>' + esc(title) + ' (' + list.length + ')</summary>' +
      list.map(function (n) { return '<div class="rm-note">' + esc(n) + '</div>'; }).join('') + '</details>';
  }

  function measure(m) {
    if (!m || m.value === null || m.value === undefined) { return '—'; }
    var v = typeof m.value === 'number' ? (Math.abs(m.value) >= 100 ? m.value.toFixed(0) : +m.value.toFixed(2)) : m.value;
    return v + (m.unit ? ' ' + m.unit : '');
  }

  function km(m) { return m === null || m === undefined ? '—' : (m / 1000).toFixed(1); }

  function drawFeatures(doc, title, opts) {
    var features = doc && doc.type === 'FeatureCollection' ? doc.features || [] : [];
    if (!features.length) { return; }
    var layer = RiskMap.resultLayer({ type: 'FeatureCollection', features: features }, L.extend({ title: title }, opts || {}));
    resultGroup.addLayer(layer);
  }

  function fitResult(keepView, maxZoom) {
    if (keepView) { return; }
    try { map.fitBounds(resultGroup.getBounds(), { padding: [30, 30], maxZoom: maxZoom || 14 }); } catch (e) { /* empty */ }
  }

  function resultBox(kind, title) {
    var div = document.createElement('div');
    div.className = 'result-body';
    div.dataset.kind = kind;
    div.innerHTML = '<div class="rm-panel-title">' + esc(title) + '</div>';
    $('result').appendChild(div);
    $('panel-result').scrollIntoView({ block: 'start' });
    return div;
  }

  function fail(what, e) { status(what + ' — ' + e.message, true); }

  /* ---- rescue ---------------------------------------------------------------------------- */

  function rescueQuery(a) {
    return 'k=' + encodeURIComponent(a.k) + '&by=' + encodeURIComponent(a.by) +
      (a.incident ? '&incident=' + encodeURIComponent(a.incident) : '');
  }

  function runRescue(a, keepView) {
    var url = a.layer ? state.config.endpoints.rescue + '/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '?' + rescueQuery(a)
      : state.config.endpoints.rescue + '?lon=' + a.lon.toFixed(6) + '&lat=' + a.lat.toFixed(6) + '&' + rescueQuery(a);
    status('查询最近救援队伍… nearest rescue teams');
    return getJSON(url).then(function (doc) {
      clearResult();
      state.result = doc; state.analysis = a;
      showRescue(doc, a);
      fitResult(keepView);
      updateHash();
    }).catch(function (e) { fail('救援查询失败 rescue query failed', e); });
  }

  function nearestRescue(lat, lng, keepView) {
    return runRescue({ type: 'rescue', lon: lng, lat: lat, incident: $('incident').value, k: +$('rescue-k').value || 5,
                       by: $('rescue-by').value }, keepView);
  }
  viewer.nearestRescue = nearestRescue;

  function rescueForFeature(layer, id) {
    return runRescue({ type: 'rescue', layer: layer, id: id, k: +$('rescue-k').value || 5, by: $('rescue-by').value });
  }

  function showRescue(doc, a) {
    var meta = doc.metadata || {};
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
        esc(met + '/' + teams.length + ' 支队伍达标 teams meet the arrival standard') + '</div>' +
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
    exportButtons(true, !!state.pdf);
    status(teams.length + ' 支队伍 teams');
  }

  /* ---- "incident here": a click anywhere (not a double-click) ----------------------------- */

  var clickTimer = null;
  function pointPopup(latlng) {
    var div = document.createElement('div');
    div.className = 'rm-popup point-popup';
    div.innerHTML = '<div class="rm-popup-title">' + esc(fmtLatLng(latlng)) + '</div>';
    var b = document.createElement('button');
    b.type = 'button'; b.className = 'btn-incident';
    b.innerHTML = '<i class="fa-solid fa-triangle-exclamation"></i> 此处事故 Incident here → 救援 rescue';
    b.addEventListener('click', function () { map.closePopup(); nearestRescue(latlng.lat, latlng.lng); });
    div.appendChild(b);
    L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(div).openOn(map);
  }
  viewer.pointPopup = pointPopup;

  map.on('click', function (e) {
    if (state.drawing) { return; }
    if (state.measuring) { measureClick(e.latlng); return; }
    var t = e.originalEvent && e.originalEvent.target;
    if (t && t.classList && t.classList.contains('leaflet-interactive')) { return; }   // a feature's own popup
    clearTimeout(clickTimer);
    clickTimer = setTimeout(function () { pointPopup(e.latlng); }, 280);
  });
  map.on('dblclick', function () { clearTimeout(clickTimer); });

  function goTo(ev) {
    if (ev) { ev.preventDefault(); }
    var ll = parseCoords($('goto-text').value);
    if (!ll) { status('无法识别坐标 cannot read the coordinates: 纬度, 经度 lat, lon (43.85, 126.55 or 43°51′N 126°33′E)', true); return null; }
    map.setView(ll, Math.max(map.getZoom(), 12));
    if (state.gotoMarker) { map.removeLayer(state.gotoMarker); }
    state.gotoMarker = L.circleMarker(ll, { radius: 7, color: '#000', weight: 2, fillColor: '#ffeb3b', fillOpacity: 1, interactive: false }).addTo(map);
    pointPopup(ll);
    status('已定位 located: ' + fmtLatLng(ll));
    return ll;
  }
  viewer.goTo = goTo;

  /* ---- exposure ---------------------------------------------------------------------------- */

  var COMPASS = { N: 0, NNE: 22.5, NE: 45, ENE: 67.5, E: 90, ESE: 112.5, SE: 135, SSE: 157.5, S: 180, SSW: 202.5, SW: 225,
    WSW: 247.5, W: 270, WNW: 292.5, NW: 315, NNW: 337.5, '北': 0, '东北': 45, '东': 90, '东南': 135, '南': 180, '西南': 225, '西': 270, '西北': 315,
    '北东北': 22.5, '东东北': 67.5, '东东南': 112.5, '南东南': 157.5, '南西南': 202.5, '西西南': 247.5, '西西北': 292.5, '北西北': 337.5 };

  function windFrom(text) {
    var t = String(text || '').trim().replace(/风$/, '').toUpperCase();
    if (!t) { return null; }
    if (Object.prototype.hasOwnProperty.call(COMPASS, t)) { return COMPASS[t]; }
    var v = parseFloat(t);
    if (isNaN(v) || !/^-?\d+(\.\d+)?°?$/.test(t) || v < 0 || v > 360) { return NaN; }
    return v;
  }
  viewer.windFrom = windFrom;

  /* Pasquill stability class from day/night, cloud cover and wind speed: Turner (1970), Workbook of
   * Atmospheric Dispersion Estimates, Table 1 (after Pasquill 1961). Insolation by day from the cloud
   * cover (0–2 oktas strong, 3–5 moderate, 6–7 slight) [M]; 8 oktas is overcast, class D day or night;
   * a two-class cell (e.g. A–B) takes the more stable class (longer toxic zones) [M]. */
  var DAY = [['A', 'B', 'B'], ['B', 'B', 'C'], ['B', 'C', 'C'], ['C', 'D', 'D'], ['C', 'D', 'D']];
  var NIGHT = [['F', 'F'], ['E', 'F'], ['D', 'E'], ['D', 'D'], ['D', 'D']];
  function stabilityFromSky(day, oktas, speed) {
    if (oktas >= 8) { return 'D'; }
    var row = speed < 2 ? 0 : speed < 3 ? 1 : speed < 5 ? 2 : speed < 6 ? 3 : 4;
    if (day) { return DAY[row][oktas <= 2 ? 0 : oktas <= 5 ? 1 : 2]; }
    return NIGHT[row][oktas >= 4 ? 0 : 1];
  }
  viewer.stabilityFromSky = stabilityFromSky;

  function scenarioParams() {
    var p = {}, wind = windFrom($('sc-wind-from').value);
    if (wind !== null && isNaN(wind)) { throw new Error('风向 wind from: 0–360° 或方位 N/NE/… 北/东北/…'); }
    if (wind !== null) { p.wind_dir_deg = wind; }
    var preset = $('sc-weather').value;
    if ((state.config.scenario || {}).weather && preset !== 'custom') {
      p.weather = preset;                          // the service's own worst / typical weather
    } else {
      var speed = parseFloat($('sc-wind-speed').value);
      if (!isNaN(speed)) { p.wind_speed_m_s = speed; }
      p.stability = $('sc-stability').value || stabilityFromSky($('sc-daynight').value === 'day', +$('sc-cloud').value || 0, speed || 1.5);
    }
    if ($('sc-kind').value) { p.kinds = $('sc-kind').value; }
    var rate = parseFloat($('sc-rate').value);
    if (!isNaN(rate) && rate > 0) { p.release_rate_g_s = rate; }
    return p;
  }

  function setScenario(p) {
    p = p || {};
    $('sc-wind-from').value = p.wind_dir_deg !== undefined ? p.wind_dir_deg : '';
    if (p.wind_speed_m_s !== undefined) { $('sc-wind-speed').value = p.wind_speed_m_s; }
    if (p.stability) { $('sc-stability').value = p.stability; }
    $('sc-weather').value = p.weather || (p.stability || p.wind_speed_m_s ? 'custom' : $('sc-weather').value);
    $('sc-kind').value = p.kinds || '';
    $('sc-rate').value = p.release_rate_g_s || '';
  }

  function skyNote() {
    var cls = stabilityFromSky($('sc-daynight').value === 'day', +$('sc-cloud').value || 0, parseFloat($('sc-wind-speed').value) || 1.5);
    $('sc-class-note').textContent = '昼夜+云量+风速 → 稳定度 ' + cls + '（Turner 1970 表1）' +
      ($('sc-stability').value ? '；当前使用手选 ' + $('sc-stability').value : '；当前使用 ' + cls);
  }

  function query(params) {
    return Object.keys(params).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
  }

  function exposure(layer, id, params, keepView) {
    try { params = params || scenarioParams(); } catch (e) { status(e.message, true); return Promise.resolve(); }
    var url = state.config.endpoints.exposure.replace('{layer}', encodeURIComponent(layer)).replace('{id}', encodeURIComponent(id));
    status('暴露分析… exposure');
    var qs = query(params);
    return getJSON(url + '?receptors=true' + (qs ? '&' + qs : '')).then(function (doc) {
      clearResult();
      state.result = doc; state.analysis = { type: 'exposure', layer: layer, id: id, params: params };
      showExposure(doc, layer, id, params);
      fitResult(keepView);
      updateHash();
    }).catch(function (e) { fail('暴露分析失败 exposure failed', e); });
  }
  viewer.exposure = exposure;

  var LEVEL_RANK = { red: 0, orange: 1, yellow: 2 };

  function showExposure(doc, layer, id, params) {
    var meta = doc.metadata || {};
    var zones = doc.features.filter(function (f) { return f.properties.feature_type === 'zone'; });
    var receptors = doc.features.filter(function (f) { return f.properties.feature_type === 'receptor'; });
    zones.sort(function (a, b) { return (LEVEL_RANK[b.properties.level] || 0) - (LEVEL_RANK[a.properties.level] || 0); });
    drawFeatures({ type: 'FeatureCollection', features: zones }, '影响区 zone', { role: 'zone', labelKey: 'label_zh' });
    drawFeatures({ type: 'FeatureCollection', features: receptors }, '受体 receptor', { role: 'receptor', showDistance: false });
    var src = meta.source || {};
    if (src.anchor_lonlat) {
      resultGroup.addLayer(RiskMap.resultLayer({ type: 'Feature', properties: { name: src.name }, geometry: { type: 'Point', coordinates: src.anchor_lonlat } }, { role: 'source' }));
    }
    var total = meta.exposure || {};
    var box = resultBox('exposure', '暴露分析 Exposure — ' + (src.name || layer + ' #' + id));
    var pr = meta.parameters || {};
    box.insertAdjacentHTML('beforeend',
      '<div class="rm-verdict rm-verdict-' + (total.receptor_count ? 'fail' : 'pass') + '">' +
      esc('暴露受体 ' + (total.receptor_count || 0) + ' 个 · 人口 ' + (total.total_population || 0) + ' — exposed ' + (total.receptor_count || 0) + ', population ' + (total.total_population || 0)) + '</div>' +
      '<div class="muted">' + esc('情景 scenario: 风从 wind from ' + (pr.wind_dir_deg != null ? pr.wind_dir_deg + '°' : '— (全向 all directions)') +
        ' · ' + (pr.wind_speed_m_s != null ? pr.wind_speed_m_s + ' m/s' : '') + ' · 稳定度 stability ' + (pr.stability || '—') +
        (pr.weather ? ' · ' + pr.weather : '') + (pr.release_rate_g_s ? ' · ' + pr.release_rate_g_s + ' g/s' : '')) + '</div>');
    // zones: model, threshold and the substance that drives each
    var zcols = [field('level'), field('threshold'), field('substance'), field('distance_m'), field('receptor_count'), field('population')];
    var zrows = zones.map(function (f) {
      var p = f.properties, ex = p.exposure || {};
      var flags = [];
      if (p.truncated) { flags.push('截断 truncated'); }
      if (p.near_field) { flags.push('近场 near field'); }
      return { f: f, cls: p.level === 'red' ? 'fail' : 'warn',
        cells: [(p.label_zh || zhEn('levels', p.level)),
          (p.threshold != null ? p.threshold + ' ' + (p.threshold_unit || '') : '—') + (flags.length ? ' ⚠ ' + flags.join(', ') : ''),
          p.substance || '—', p.distance_m != null ? Math.round(p.distance_m) : '—', ex.receptor_count, ex.total_population] };
    });
    box.insertAdjacentHTML('beforeend', '<div class="rm-panel-sub">影响区 Zones（模型、阈值、主导物质 model, threshold, driving substance）</div>');
    box.appendChild(sortableTable(zcols, zrows, function (r) { map.fitBounds(L.geoJSON(r.f).getBounds(), { padding: [20, 20] }); }));
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
    exportButtons(true, true);
    status(zones.length + ' 个影响区 zones · ' + receptors.length + ' 个受体 receptors');
  }

  /* ---- siting ------------------------------------------------------------------------------- */

  function showSiting(doc) {
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

  function sitingPark(id, keepView) {
    status('选址检查… siting check');
    return getJSON(state.config.endpoints.siting + '/' + encodeURIComponent(id) + '?f=geojson').then(function (doc) {
      clearResult();
      state.result = doc; state.analysis = { type: 'siting_park', id: id };
      showSiting(doc);
      state.pdf = { url: '/reports/siting/' + encodeURIComponent(id) + '.pdf', name: 'siting_park_' + id + '.pdf' };
      fitResult(keepView);
      updateHash();
    }).catch(function (e) { fail('选址检查失败 siting check failed', e); });
  }
  viewer.sitingPark = sitingPark;

  function siting(feature, keepView) {
    status('选址检查… siting check');
    var kind = $('siting-kind').value;
    feature.properties = L.extend({ name: '草图方案 sketch' }, feature.properties || {}, { kind: kind });
    state.proposal = feature;
    $('proposal-download').disabled = false;
    return getJSON(state.config.endpoints.siting + '?f=geojson&kind=' + encodeURIComponent(kind), {
      method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: JSON.stringify(feature)
    }).then(function (doc) {
      clearResult();
      state.result = doc; state.analysis = { type: 'siting', kind: kind, feature: feature };
      showSiting(doc);
      state.pdf = { url: '/reports/siting?kind=' + encodeURIComponent(kind), name: 'siting_proposal.pdf', body: JSON.stringify(feature) };
      fitResult(keepView);
      updateHash();
    }).catch(function (e) { fail('选址检查失败 siting check failed', e); });
  }
  viewer.siting = siting;

  function uploadProposal(file) {
    if (!file) { return Promise.resolve(); }
    var form = new FormData();
    form.append('file', file, file.name);
    status('读取方案… reading the proposal');
    return getJSON('/viewer/proposal', { method: 'POST', body: form }).then(function (feature) {
      return siting(feature);
    }).catch(function (e) { fail('方案上传失败 upload failed', e); });
  }
  viewer.uploadProposal = uploadProposal;

  function setupDraw() {
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
    map.on('draw:drawstart', function () { state.drawing = true; clearTimeout(clickTimer); });
    map.on('draw:drawstop', function () { setTimeout(function () { state.drawing = false; }, 0); });
    map.on('draw:created', function (e) {
      var f = e.layer.toGeoJSON();
      f.properties = { name: '草图方案 sketch' };
      siting(f, true);
    });
  }

  /* ---- measure: geodesic distance and area ------------------------------------------------ */

  var MeasureControl = L.Control.extend({
    options: { position: 'topleft' },
    onAdd: function () {
      var div = L.DomUtil.create('div', 'leaflet-bar rm-measure');
      div.innerHTML = '<a href="#" role="button" class="measure-distance" title="测距离（大地线）Measure distance (geodesic)"><i class="fa-solid fa-ruler"></i></a>' +
        '<a href="#" role="button" class="measure-area" title="测面积 Measure area"><i class="fa-solid fa-draw-polygon"></i></a>';
      L.DomEvent.disableClickPropagation(div);
      div.querySelector('.measure-distance').addEventListener('click', function (ev) { ev.preventDefault(); startMeasure('distance'); });
      div.querySelector('.measure-area').addEventListener('click', function (ev) { ev.preventDefault(); startMeasure('area'); });
      return div;
    }
  });

  var measureLayer = L.featureGroup().addTo(map);
  var measureBox = L.control({ position: 'topright' });
  measureBox.onAdd = function () {
    var d = L.DomUtil.create('div', 'rm-panel rm-measure-out');
    d.id = 'measure-out';
    d.style.display = 'none';
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  measureBox.addTo(map);

  function startMeasure(mode) {
    stopMeasure();
    state.measuring = { mode: mode, points: [] };
    map.doubleClickZoom.disable();
    map.getContainer().classList.add('measuring');
    renderMeasure();
  }
  function stopMeasure() {
    state.measuring = null;
    measureLayer.clearLayers();
    map.doubleClickZoom.enable();
    map.getContainer().classList.remove('measuring');
    $('measure-out').style.display = 'none';
  }
  viewer.startMeasure = startMeasure;
  viewer.stopMeasure = stopMeasure;

  function measureClick(ll) {
    state.measuring.points.push(ll);
    renderMeasure();
  }

  function measureValues(m) {
    var pts = m.points, d = 0;
    for (var i = 1; i < pts.length; i++) { d += geodesicDistance(pts[i - 1], pts[i]); }
    var out = { distance_m: d, points: pts.length };
    if (m.mode === 'area' && pts.length >= 3) {
      out.area_m2 = geodesicArea(pts);
      out.perimeter_m = d + geodesicDistance(pts[pts.length - 1], pts[0]);
    }
    return out;
  }

  function renderMeasure() {
    var m = state.measuring, box = $('measure-out');
    measureLayer.clearLayers();
    if (!m) { return; }
    var pts = m.points;
    pts.forEach(function (p) { L.circleMarker(p, { radius: 4, color: '#000', weight: 1, fillColor: '#fff', fillOpacity: 1, interactive: false }).addTo(measureLayer); });
    if (pts.length >= 2) {
      (m.mode === 'area' && pts.length >= 3 ? L.polygon(pts, { color: '#6a1b9a', weight: 2, fillOpacity: 0.15, interactive: false })
        : L.polyline(pts, { color: '#6a1b9a', weight: 3, dashArray: '6 4', interactive: false })).addTo(measureLayer);
    }
    var v = measureValues(m);
    m.values = v;
    var text = m.mode === 'area'
      ? (v.area_m2 !== undefined ? '面积 area: ' + fmtArea(v.area_m2) + '<br>周长 perimeter: ' + fmtDistance(v.perimeter_m) : '单击至少三个点 click at least three points')
      : (pts.length >= 2 ? '距离 distance: ' + fmtDistance(v.distance_m) : '单击添加点 click to add points');
    box.innerHTML = '<b>' + (m.mode === 'area' ? '测面积 Area' : '测距离 Distance') + '</b>（WGS84 大地线 geodesic）<br><span class="measure-value">' + text +
      '</span><br><button type="button" class="measure-undo">撤销 undo</button> <button type="button" class="measure-stop">结束 done</button>';
    box.style.display = '';
    box.querySelector('.measure-stop').addEventListener('click', stopMeasure);
    box.querySelector('.measure-undo').addEventListener('click', function () { m.points.pop(); renderMeasure(); });
  }

  /* ---- quantitative risk (GB 36894): IR contours, protection targets, F-N ---------------------- */

  /* Stored hazard sources are in service: GB 36894's "existing installation" column (在役) applies to them, as in
   * the siting check of a stored park. A proposal's new installation is judged by the siting check instead. */
  function riskUrl(a, pdf) {
    var q = 'installation=existing';
    if (pdf) {
      return a.park_id ? '/reports/risk.pdf?park_id=' + encodeURIComponent(a.park_id) + '&' + q
        : '/reports/risk/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '.pdf?' + q;
    }
    var base = state.config.endpoints.risk;
    return (a.park_id ? base + '?park_id=' + encodeURIComponent(a.park_id) + '&'
      : base + '/' + encodeURIComponent(a.layer) + '/' + encodeURIComponent(a.id) + '?') + q + '&societal=true';
  }

  function risk(a, keepView) {
    status('定量风险计算… quantitative risk');
    return getJSON(riskUrl(a)).then(function (doc) {
      clearResult();
      state.result = doc; state.analysis = a;
      showRisk(doc, a);
      state.pdf = { url: riskUrl(a, true), name: a.park_id ? 'risk_park_' + a.park_id + '.pdf' : 'risk_' + a.layer + '_' + a.id + '.pdf' };
      exportButtons(true, true);
      fitResult(keepView, 16);   // one installation's contours span a few hundred metres
      updateHash();
    }).catch(function (e) { fail('定量风险计算失败 quantitative risk failed', e); });
  }
  viewer.risk = risk;

  function sci(v, d) { return v === null || v === undefined ? '—' : Number(v).toExponential(d === undefined ? 2 : d); }

  function showRisk(doc, a) {
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
      var ct = sortableTable(['IR /年', '等值线 contour', '面积 km²'], crows, function (r) { map.fitBounds(L.geoJSON(r.f).getBounds(), { padding: [20, 20] }); });
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

  /* ---- feature popups: the analyses each feature offers ----------------------------------- */

  function actionButtons(layerName, id) {
    var box = document.createElement('div');
    box.className = 'actions';
    function button(label, fn, cls) {
      var b = document.createElement('button');
      b.type = 'button'; b.innerHTML = label; b.className = cls;
      b.addEventListener('click', function (ev) { L.DomEvent.stopPropagation(ev); map.closePopup(); fn(); });
      box.appendChild(b);
    }
    if ((state.config.exposure_layers || []).indexOf(layerName) >= 0) {
      button('<i class="fa-solid fa-biohazard"></i> 暴露分析 Exposure', function () { exposure(layerName, id); }, 'btn-exposure');
    }
    if ((state.config.rescue_layers || []).indexOf(layerName) >= 0) {
      button('<i class="fa-solid fa-truck-medical"></i> 最近救援 Rescue', function () { rescueForFeature(layerName, id); }, 'btn-rescue');
    }
    if ((state.config.risk_layers || []).indexOf(layerName) >= 0) {
      button('<i class="fa-solid fa-chart-line"></i> 定量风险 QRA', function () { risk({ type: 'risk', layer: layerName, id: id }); }, 'btn-risk');
    }
    if (layerName === 'chemical_parks') {
      button('<i class="fa-solid fa-clipboard-check"></i> 选址检查 Siting', function () { sitingPark(id); }, 'btn-siting');
      button('<i class="fa-solid fa-chart-line"></i> 园区定量风险 QRA', function () { risk({ type: 'risk', park_id: id }); }, 'btn-risk');
    }
    return box;
  }

  RiskMap.popupActions = function (meta, f) { return actionButtons(meta.name, f.id); };
  map.on('popupopen', function () { clearTimeout(clickTimer); });

  /* ---- place search: admin areas and named features (no road segments) -------------------- */

  var SEARCH_LIMIT = 10;

  function search(ev) {
    if (ev) { ev.preventDefault(); }
    var text = $('search-text').value.trim(), which = $('search-layer').value;
    var list = $('search-results');
    list.innerHTML = ''; $('search-note').textContent = '';
    if (!text) { return Promise.resolve(); }
    var names = which ? [which] : state.config.layers.map(function (m) { return m.name; }).filter(function (n) { return n !== 'roads'; });
    status('搜索… searching');
    return Promise.all(names.map(function (name) {
      return getJSON('/collections/' + encodeURIComponent(name) + '/items?q=' + encodeURIComponent(text) + '&limit=' + SEARCH_LIMIT)
        .then(function (fc) { return { name: name, fc: fc }; })
        .catch(function () { return { name: name, fc: { features: [], numberMatched: 0 } }; });
    })).then(function (answers) {
      var n = 0, notes = [], seen = {};
      answers.forEach(function (a) { a.fc.features.forEach(function (f) { var k = f.properties.name; seen[k] = (seen[k] || 0) + 1; }); });
      answers.forEach(function (a) {
        var meta = state.metas[a.name];
        if (a.fc.numberMatched > a.fc.features.length) {
          notes.push(meta.title_zh + '：显示前 ' + a.fc.features.length + ' / 共 ' + a.fc.numberMatched + '（请细化 refine）');
        }
        a.fc.features.forEach(function (f) {
          n += 1;
          var p = f.properties, li = document.createElement('li');
          var where = [meta.title_zh];
          if (seen[p.name] > 1) { where.push(p.county || p.level || ('#' + f.id)); }
          else if (p.county) { where.push(p.county); }
          li.textContent = (p.name || '#' + f.id) + ' — ' + where.join(' · ');
          li.dataset.layer = a.name; li.dataset.id = f.id;
          li.addEventListener('click', function () { showFeature(a.name, f); });
          list.appendChild(li);
        });
      });
      $('search-note').textContent = notes.join('\n');
      status(n ? n + ' 个结果 results' : '没有结果 no match');
    });
  }
  viewer.search = search;

  function showFeature(layerName, f) {
    var meta = state.metas[layerName];
    var layer = RiskMap.catalogLayer(meta, { type: 'FeatureCollection', features: [f] });
    resultGroup.addLayer(layer);
    var b = L.geoJSON(f).getBounds();
    map.fitBounds(b, { maxZoom: 14, padding: [40, 40] });
    var content = document.createElement('div');
    content.innerHTML = RiskMap.popupHtml(meta, f.properties, f.id);
    content.appendChild(actionButtons(layerName, f.id));
    L.popup({ maxWidth: 360 }).setLatLng(f.geometry.type === 'Point' ? b.getCenter() : b.getCenter()).setContent(content).openOn(map);
  }

  /* ---- exports, report, print, shareable link -------------------------------------------- */

  function csvCell(v) {
    var s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function exportCsv() {
    if (!state.table) { return; }
    var lines = [state.table.columns.map(csvCell).join(',')].concat(state.table.rows.map(function (r) { return r.map(csvCell).join(','); }));
    download('result.csv', new Blob(['\ufeff' + lines.join('\r\n')], { type: 'text/csv;charset=utf-8' }));
  }
  function exportGeojson() {
    if (!state.result) { return; }
    download('result.geojson', new Blob([JSON.stringify(state.result)], { type: 'application/geo+json' }));
  }
  function exportPdf() {
    if (!state.pdf) { return Promise.resolve(); }
    status('生成报告… rendering the PDF report');
    var opts = state.pdf.body ? { method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: state.pdf.body } : {};
    return getBlob(state.pdf.url, opts).then(function (blob) { download(state.pdf.name, blob); status('报告已下载 report downloaded'); })
      .catch(function (e) { fail('报告失败 report failed', e); });
  }
  viewer.exportPdf = exportPdf;

  function hashState() {
    var c = map.getCenter(), parts = ['v=' + map.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5)];
    var on = Object.keys(state.rows || {}).filter(function (n) { return state.rows[n].box.checked; });
    parts.push('layers=' + on.join(','));
    if (state.basemap) { parts.push('base=' + state.basemap); }
    var a = state.analysis;
    if (a) {
      var s = L.extend({}, a);
      if (s.feature) { s.feature = { type: 'Feature', properties: { name: s.feature.properties.name }, geometry: roundGeom(s.feature.geometry) }; }
      parts.push('a=' + encodeURIComponent(JSON.stringify(s)));
    }
    return '#' + parts.join('&');
  }
  function roundGeom(g) {
    function r(c) { return typeof c[0] === 'number' ? [+c[0].toFixed(6), +c[1].toFixed(6)] : c.map(r); }
    return { type: g.type, coordinates: r(g.coordinates) };
  }
  function updateHash() {
    if (!state.ready) { return; }
    history.replaceState(null, '', location.pathname + location.search + hashState());
  }
  viewer.updateHash = updateHash;

  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) { out[kv.slice(0, i)] = kv.slice(i + 1); }
    });
    return out;
  }

  function restore(h) {
    if (h.v) {
      var v = h.v.split('/').map(parseFloat);
      if (v.length === 3 && v.every(function (x) { return !isNaN(x); })) { map.setView([v[1], v[2]], v[0]); }
    }
    if (h.base && viewer.useBasemap) { viewer.useBasemap(h.base); }
    if (!h.a) { return Promise.resolve(); }
    var a;
    try { a = JSON.parse(decodeURIComponent(h.a)); } catch (e) { status('链接中的分析无法读取 link analysis unreadable', true); return Promise.resolve(); }
    if (a.type === 'rescue') {
      if (a.incident) { $('incident').value = a.incident; }
      $('rescue-k').value = a.k || 5; $('rescue-by').value = a.by || 'time';
      return runRescue(a, true);
    }
    if (a.type === 'exposure') { setScenario(a.params); return exposure(a.layer, a.id, a.params, true); }
    if (a.type === 'siting_park') { return sitingPark(a.id, true); }
    if (a.type === 'risk') { return risk(a, true); }
    if (a.type === 'siting') { $('siting-kind').value = a.kind || 'park'; return siting(a.feature, true); }
    return Promise.resolve();
  }

  function copyLink() {
    updateHash();
    var url = location.href;
    var done = function () { status('链接已复制 link copied: ' + url); };
    if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(url).then(done, function () { status(url); }); }
    else { status(url); }
  }

  /* ---- start ----------------------------------------------------------------------------- */

  function start(config) {
    state.config = config;
    RiskMap.fieldLabels = (config.labels || {}).fields;
    if (config.basemap && config.basemap.notice) {
      var a = document.createElement('div');
      a.className = 'rm-alert';
      a.textContent = config.basemap.notice;
      $('alerts').appendChild(a);
    }
    config.layers.forEach(function (m) { state.metas[m.name] = m; });
    var h = parseHash();
    var e = config.extent || [121.6, 40.8, 131.3, 46.3];
    map.fitBounds([[e[1], e[0]], [e[3], e[2]]]);
    var sel = $('search-layer');
    sel.innerHTML = '<option value="">全部（不含道路）all but roads</option>' + config.layers.map(function (m) {
      return '<option value="' + esc(m.name) + '">' + esc(m.title) + '</option>'; }).join('');
    $('incident').innerHTML = (config.incidents || []).map(function (i) {
      return '<option value="' + esc(i.key) + '">' + esc(i.zh + ' ' + i.en) + '</option>'; }).join('');
    if ((config.incidents || []).some(function (i) { return i.key === 'chemical'; })) { $('incident').value = 'chemical'; }
    setupDraw();
    map.addControl(new MeasureControl());
    setupBasemaps(config);
    $('goto-form').addEventListener('submit', goTo);
    $('search-form').addEventListener('submit', search);
    $('clear-result').addEventListener('click', function () { clearResult(); status(''); updateHash(); });
    $('export-geojson').addEventListener('click', exportGeojson);
    $('export-csv').addEventListener('click', exportCsv);
    $('export-pdf').addEventListener('click', exportPdf);
    $('print').addEventListener('click', function () { window.print(); });
    window.addEventListener('beforeprint', function () {
      Array.prototype.forEach.call(document.querySelectorAll('#result details'), function (d) { d.open = true; });
      map.invalidateSize();
    });
    $('copy-link').addEventListener('click', copyLink);
    $('proposal-file').addEventListener('change', function (ev) { uploadProposal(ev.target.files[0]); });
    $('proposal-download').addEventListener('click', function () {
      if (state.proposal) { download('proposal.geojson', new Blob([JSON.stringify(state.proposal)], { type: 'application/geo+json' })); }
    });
    $('sc-weather').addEventListener('change', function () {
      var w = $('sc-weather').value;
      if (w === 'worst') { $('sc-wind-speed').value = 1.5; $('sc-stability').value = 'F'; }
      if (w === 'typical') { $('sc-wind-speed').value = 3; $('sc-stability').value = 'D'; }
      skyNote();
    });
    ['sc-stability', 'sc-daynight', 'sc-cloud', 'sc-wind-speed'].forEach(function (id) {
      $(id).addEventListener('change', function () { if (id !== 'sc-stability' || $(id).value) { $('sc-weather').value = 'custom'; } skyNote(); });
    });
    skyNote();
    $('sc-apply').addEventListener('click', function () {
      var a = state.analysis;
      if (a && a.type === 'exposure') { exposure(a.layer, a.id); }
      else { status('先点击一个风险源并选择「暴露分析」 first click a hazard and choose Exposure', true); }
    });
    map.on('moveend', updateHash);
    var wanted = h.layers !== undefined ? h.layers.split(',').filter(Boolean) : null;
    setupLayers(config, wanted).then(function () {
      state.ready = true;
      return restore(h);
    }).then(function () {
      viewer.ready = true;
      document.body.dataset.ready = '1';
      updateHash();
    });
  }

  getJSON('/viewer/config.json').then(start).catch(function (e) { status('配置加载失败 config failed: ' + e.message, true); });
}());
