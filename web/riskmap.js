/* Risk map drawing helpers, shared by the service's Folium maps and the viewer (no build step).
 *
 * Layers are described by "meta" documents made from the layer catalogue (gis_service/maps/style.py):
 * title, style (colours, radius, icon, cluster) and, per popup attribute, its label, unit and the
 * Chinese display of enumerated/boolean values (AttributeSpec.display on the server).
 * Every value put into HTML goes through esc(); nothing from data is evaluated.
 */
(function (root) {
  'use strict';

  var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }

  function formatJson(v) {
    if (Array.isArray(v)) { return v.map(formatJson).join('; '); }
    if (v !== null && typeof v === 'object') {
      return Object.keys(v).map(function (k) { return k + ': ' + formatJson(v[k]); }).join(', ');
    }
    return String(v);
  }

  /* The browser twin of AttributeSpec.display: "—" for missing, catalogue labels, units. */
  function formatValue(attr, v) {
    if (v === null || v === undefined) { return '—'; }
    var key = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
    if (attr.values && Object.prototype.hasOwnProperty.call(attr.values, key)) { return attr.values[key]; }
    if (attr.type === 'json' || typeof v === 'object') { return formatJson(v); }
    if (attr.type === 'boolean') { return v ? '是' : '否'; }
    var text = (attr.type === 'number' && typeof v === 'number' && Number.isInteger(v)) ? v.toFixed(1) : String(v);
    return attr.unit ? text + ' ' + attr.unit : text;
  }

  function table(rows) {
    return '<table class="rm-table">' + rows.map(function (r) {
      return '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>';
    }).join('') + '</table>';
  }

  /* An inventory ([{substance, cas?, quantity_t, …}]) as a small table people can read — one row per substance
   * (its Chinese and English name when the page knows it: RiskMap.substanceNames), the quantity in t, and the
   * item's other attributes labelled — instead of "substance: chlorine, quantity_t: 17". Null if not one. */
  function inventoryHtml(v) {
    if (!Array.isArray(v) || !v.length || !v.every(function (i) { return i && typeof i === 'object' && 'quantity_t' in i; })) { return null; }
    var names = RiskMap.substanceNames || {};
    var rows = v.map(function (i) {
      var extra = Object.keys(i).filter(function (k) { return ['substance', 'cas', 'quantity_t'].indexOf(k) < 0; })
        .map(function (k) { return fieldLabel(k) + ' ' + genericValue(k, i[k]); });
      var q = typeof i.quantity_t === 'number' ? (Number.isInteger(i.quantity_t) ? String(i.quantity_t) : i.quantity_t.toFixed(2)) : String(i.quantity_t);
      return '<tr><td>' + esc(names[i.substance] || i.substance || i.cas || '—') +
        (i.cas ? '<div class="rm-inv-cas">CAS ' + esc(i.cas) + '</div>' : '') + '</td><td class="rm-inv-q">' + esc(q) +
        '</td><td>' + esc(extra.join('; ') || '—') + '</td></tr>';
    });
    return '<table class="rm-inventory"><tr><th>物质 substance</th><th>存量 t</th><th>其他 other</th></tr>' + rows.join('') + '</table>';
  }

  function popupHtml(meta, props, id) {
    props = props || {};
    var head = props.name !== undefined && props.name !== null ? props.name : meta.title + ' #' + id;
    var html = meta.popup.map(function (a) {
      var inv = a.type === 'json' ? inventoryHtml(props[a.name]) : null;
      if (inv) { return '<tr><th colspan="2">' + esc(a.label) + '</th></tr><tr><td colspan="2">' + inv + '</td></tr>'; }
      return '<tr><th>' + esc(a.label) + '</th><td>' + esc(formatValue(a, props[a.name])) + '</td></tr>';
    }).join('');
    return '<div class="rm-popup"><div class="rm-popup-title">' + esc(head) + '</div>' +
      '<div class="rm-popup-layer">' + esc(meta.title) + (id !== undefined ? ' · id ' + esc(id) : '') + '</div>' +
      '<table class="rm-table">' + html + '</table></div>';
  }

  var UNIT_HINTS = { _mm: ' mm', _m: ' m', _min: ' min', _s: ' s', _km2: ' km²', _km: ' km', _t: ' t', _kpa: ' kPa', _ppm: ' ppm' };
  function genericValue(k, v) {
    if (v === null || v === undefined) { return '—'; }
    if (typeof v === 'boolean') { return v ? '是 yes' : '否 no'; }
    if (typeof v === 'object') { return formatJson(v); }
    if (typeof v === 'number') {
      var t = Math.abs(v) >= 100 ? v.toFixed(0) : (Number.isInteger(v) ? String(v) : v.toFixed(2));
      var lk = k.toLowerCase();
      for (var suffix in UNIT_HINTS) {
        if (lk.slice(-suffix.length) === suffix) { return t + UNIT_HINTS[suffix]; }
      }
      return t;
    }
    return String(v);
  }

  /* "中文 English" for a result property when the page has the service's label catalogue. */
  function fieldLabel(k) {
    var l = RiskMap.fieldLabels && RiskMap.fieldLabels[k];
    return l ? l.zh + ' ' + l.en : k;
  }

  /* A popup for any properties (analysis results): every scalar, objects summarised. */
  function genericPopup(title, props) {
    props = props || {};
    var rows = Object.keys(props).filter(function (k) { return k.charAt(0) !== '_'; }).map(function (k) {
      return [fieldLabel(k), genericValue(k, props[k])];
    });
    return '<div class="rm-popup"><div class="rm-popup-title">' + esc(title) + '</div>' + table(rows) + '</div>';
  }

  function pathStyle(s) {
    return { color: s.color, weight: s.weight, opacity: s.opacity, fillColor: s.fillColor,
             fillOpacity: s.fillOpacity, dashArray: s.dashArray || null };
  }

  function iconMarker(s, latlng, extraClass) {
    var html = '<span class="rm-icon-badge" style="background:' + esc(s.fillColor) + ';border-color:' + esc(s.color) +
      '"><i class="fa-solid fa-' + esc(s.icon) + '"></i></span>';
    return L.marker(latlng, { icon: L.divIcon({ className: 'rm-icon ' + (extraClass || ''), html: html,
      iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -12], tooltipAnchor: [12, 0] }) });
  }

  function pointMarker(s, latlng) {
    if (s.icon) { return iconMarker(s, latlng); }
    return L.circleMarker(latlng, { radius: s.radius, color: s.color, weight: 1.5, opacity: s.opacity,
      fillColor: s.fillColor, fillOpacity: Math.max(0.7, s.fillOpacity) });
  }

  function geojsonLayer(meta, data, opts) {
    opts = opts || {};
    var s = meta.style;
    return L.geoJSON(data, {
      interactive: !opts.basemap,
      style: function () { return pathStyle(s); },
      pointToLayer: function (f, latlng) { return pointMarker(s, latlng); },
      onEachFeature: opts.basemap ? undefined : function (f, layer) {
        layer._rmMeta = meta;
        layer.bindPopup(function () {
          var div = document.createElement('div');
          div.innerHTML = popupHtml(meta, f.properties, f.id);
          var actions = RiskMap.popupActions && RiskMap.popupActions(meta, f);   // e.g. the viewer's analyses
          if (actions) { div.appendChild(actions); }
          return div;
        }, { maxWidth: 360 });
        if (f.properties && f.properties.name) { layer.bindTooltip(esc(f.properties.name), { sticky: true }); }
      }
    });
  }

  /* Cluster bubbles in the layer's own colours (so two clustered layers stay distinguishable). */
  function clusterIcon(s) {
    return function (cluster) {
      var n = cluster.getChildCount(), size = n < 10 ? 26 : (n < 100 ? 32 : 40);
      return L.divIcon({ className: 'rm-cluster', iconSize: [size, size],
        html: '<div style="background:' + esc(s.fillColor) + ';border-color:' + esc(s.color) + '">' + n + '</div>' });
    };
  }

  /* GeoJSON from the packed, column-wise form made by gis_service.maps.base.pack. */
  function unpack(p) {
    if (!p || !p.packed) { return p; }
    var names = Object.keys(p.props || {});
    var features = p.ids.map(function (id, i) {
      var g = p.geoms[i], props = {};
      names.forEach(function (k) {
        var col = p.props[k];
        props[k] = Array.isArray(col) ? col[i] : (col.idx[i] < 0 ? null : col.dict[col.idx[i]]);
      });
      return { type: 'Feature', id: id, properties: props,
               geometry: Array.isArray(g) ? { type: 'Point', coordinates: g } : g };
    });
    return { type: 'FeatureCollection', features: features };
  }

  /* A catalogue layer from GeoJSON (or the packed form); clustered when the catalogue says so. */
  function catalogLayer(meta, data, opts) {
    opts = opts || {};
    data = unpack(data);
    var layer = geojsonLayer(meta, data, opts);
    if (meta.style.cluster && !opts.basemap && L.markerClusterGroup) {
      var group = L.markerClusterGroup({ chunkedLoading: true, maxClusterRadius: 45, showCoverageOnHover: false,
        iconCreateFunction: clusterIcon(meta.style) });
      group.addLayer(layer);
      group._rmMeta = meta;
      return group;
    }
    layer._rmMeta = meta;
    return layer;
  }

  /* Grid counts of a large layer (canvas-drawn circles, area ~ count). */
  function aggregateLayer(meta, opts) {
    var s = meta.style, renderer = L.canvas({ padding: 0.2 });
    var max = 1;
    (opts.cells || []).forEach(function (c) { if (c[2] > max) { max = c[2]; } });
    var group = L.featureGroup();
    (opts.cells || []).forEach(function (c) {
      var r = 3 + 14 * Math.sqrt(c[2] / max);
      L.circleMarker([c[1], c[0]], { renderer: renderer, radius: r, color: s.color, weight: 1, opacity: 0.8,
        fillColor: s.fillColor, fillOpacity: 0.45 })
        .bindTooltip(esc(c[2] + ' 个 ' + meta.title_zh + ' (' + c[2] + ' features)'))
        .addTo(group);
    });
    return group;
  }

  /* Whether features follow this page: from numberMatched, or — when the service omitted it (a filtered selection
   * larger than its count cap, GIS_MATCHED_COUNT_CAP) — from the page's "next" link. */
  function hasMore(fc, offset) {
    if (typeof fc.numberMatched === 'number') { return (offset || 0) + fc.features.length < fc.numberMatched; }
    return (fc.links || []).some(function (l) { return l.rel === 'next'; });
  }

  /* numberMatched for people: the count, or "more than shown" when the service did not count them all. */
  function matchedText(fc, offset) {
    if (typeof fc.numberMatched === 'number') { return String(fc.numberMatched); }
    return '> ' + ((offset || 0) + fc.features.length) + '（未全数 not all counted）';
  }

  var STAMP = /"timeStamp":\s*"[^"]*"/;   // an items answer's time of answering (OGC API Features)

  function clampedBbox(b) {
    var w = Math.max(-180, b.getWest()), s = Math.max(-90, b.getSouth());
    var e = Math.min(180, b.getEast()), n = Math.min(90, b.getNorth());
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(',');
  }

  function setStatus(map, key, text) {
    if (!map._rmStatus) {
      var ctl = L.control({ position: 'bottomleft' });
      ctl.onAdd = function () { var d = L.DomUtil.create('div', 'rm-status'); d._lines = {}; return d; };
      ctl.addTo(map);
      map._rmStatus = ctl.getContainer();
    }
    var box = map._rmStatus;
    if (text) { box._lines[key] = text; } else { delete box._lines[key]; }
    box.textContent = Object.keys(box._lines).map(function (k) { return box._lines[k]; }).join('\n');
    box.style.display = box.textContent ? '' : 'none';
  }

  /* A large layer: grid counts at low zoom; features fetched by bbox from the OGC items API once the
   * view holds at most opts.limit of them (estimated from the grid, confirmed by numberMatched). */
  var LiveLayer = L.LayerGroup.extend({
    initialize: function (meta, opts) {
      L.LayerGroup.prototype.initialize.call(this);
      this._rmMeta = meta;
      this.opts = opts;
      this._agg = aggregateLayer(meta, opts);
      this._seq = 0;
      this.state = 'init';
    },
    onAdd: function (map) {
      L.LayerGroup.prototype.onAdd.call(this, map);
      map.on('moveend', this._update, this);
      map.on('popupclose', this._afterPopup, this);
      this._update();
    },
    onRemove: function (map) {
      map.off('moveend', this._update, this);
      map.off('popupclose', this._afterPopup, this);
      setStatus(map, this._rmMeta.name, null);
      L.LayerGroup.prototype.onRemove.call(this, map);
    },
    _show: function (layer, state, note) {
      if (this._current === layer && this.state === state && this.hasLayer(layer)) {   // the grid counts again: keep them
        if (this._map) { setStatus(this._map, this._rmMeta.name, note); }
        return;
      }
      this.clearLayers();
      this.addLayer(layer);
      this._current = layer;
      this.state = state;
      if (this._map) { setStatus(this._map, this._rmMeta.name, note); }
      this.fire('rm:update', { state: state });
    },
    estimate: function (bounds) {
      var n = 0, half = (this.opts.cell || 0) / 2;
      (this.opts.cells || []).forEach(function (c) {
        if (bounds.intersects(L.latLngBounds([c[1] - half, c[0] - half], [c[1] + half, c[0] + half]))) { n += c[2]; }
      });
      return n;
    },
    /* A popup open on one of this layer's features holds the layer: redrawing it would close the popup (a
     * popup's own auto-pan moves the map); the update runs when the popup closes. */
    _popupHeld: function () {
      var map = this._map, p = map && map._popup, src = p && map.hasLayer(p) && p._source, held = false;
      if (!src) { return false; }
      this.eachLayer(function (g) { if (g === src || (g.hasLayer && g.hasLayer(src))) { held = true; } });
      return held;
    },
    _afterPopup: function () {
      if (this._stale) { this._stale = false; this._update(); }
    },
    _update: function () {
      var map = this._map, meta = this._rmMeta, self = this;
      if (!map) { return; }
      if (this._popupHeld()) { this._stale = true; return; }
      var bounds = map.getBounds(), est = this.estimate(bounds);
      var aggNote = meta.title_zh + '：视图内约 ' + est + ' 个，' + (this.opts.live ? '放大后加载要素' : '导出文件仅含格网计数');
      if (!this.opts.live || est > this.opts.limit) { this._show(this._agg, 'aggregate', aggNote); return; }
      var seq = ++this._seq;
      // opts.whole (the viewer): a layer of at most `limit` features in all is asked for whole, not by bbox — the
      // same answer after every move, so panning never rebuilds its markers (a bbox answer changed with each pan
      // and rebuilt them all: 100–400 ms frames on a national map); an edit still changes it and redraws
      var whole = this.opts.whole && typeof this.opts.total === 'number' && this.opts.total <= this.opts.limit;
      var url = (RiskMap.apiBase || '') + '/collections/' + encodeURIComponent(meta.name) + '/items?' +
        (whole ? '' : 'bbox=' + clampedBbox(bounds) + '&') + 'limit=' + this.opts.limit +
        (this.opts.properties ? '&properties=' + encodeURIComponent(this.opts.properties.join(',')) : '');
      fetch(url, { headers: RiskMap.headers({ Accept: 'application/geo+json' }) })
        .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
        .then(function (text) {
          if (seq !== self._seq || !self._map) { return; }
          if (self._popupHeld()) { self._stale = true; return; }   // a popup opened while this was loading
          // the same answer as the one drawn (a small layer wholly in view while panning): keep the drawn
          // markers instead of rebuilding them on every move; an edit changes the answer and redraws
          // (compared without the answer's timeStamp, which changes every second)
          var same = text.replace(STAMP, '');
          if (same === self._lastText && self.state === 'features') { return; }
          var fc = JSON.parse(text);
          if (hasMore(fc)) { self._lastText = null; self._show(self._agg, 'aggregate', aggNote); return; }
          self._lastText = same;
          self._show(catalogLayer(meta, fc, { basemap: self.opts.basemap }), 'features', meta.title_zh + '：已加载 ' + fc.features.length + ' 个要素');
        })
        .catch(function (err) {
          if (seq !== self._seq) { return; }
          self._lastText = null;
          self._show(self._agg, 'aggregate', meta.title_zh + '：加载失败（' + err.message + '），显示格网计数');
        });
    }
  });

  function liveLayer(meta, opts) { return new LiveLayer(meta, opts); }

  /* The style of a catalogue layer's features in a vector tile at zoom z (k: the layer's opacity): points shrink
   * below city zoom so a national layer stays readable; thin lines at low zoom. */
  function tileStyle(meta, z, k) {
    var s = meta.style;
    k = k === undefined ? 1 : k;
    if (meta.family === 'point') {
      var r = z < 7 ? 1.5 : (z < 10 ? 2.5 : (z < 13 ? 4 : s.radius || 5));
      return { radius: r, fill: true, fillColor: s.fillColor, fillOpacity: Math.max(0.7, s.fillOpacity) * k,
               stroke: z >= 7, color: s.color, weight: 1, opacity: s.opacity * k };
    }
    return { color: s.color, weight: z < 8 ? Math.min(1, s.weight) : s.weight, opacity: s.opacity * k,
             fill: meta.family === 'polygon', fillColor: s.fillColor, fillOpacity: s.fillOpacity * k };
  }

  /* Leaflet.VectorGrid 1.3 was written for Leaflet 1.0–1.7. Leaflet 1.9 (ours) dropped L.DomEvent.fakeStop (which
   * VectorGrid's click handler calls) and ignores DOM events whose target is a renderer's canvas
   * (_leaflet_disable_events), so a canvas renderer must hand every click to the map itself — as Leaflet 1.9's own
   * L.Canvas does: the feature hit, or the map when none (keeps "incident here" working on empty parts of a tile). */
  function patchVectorGrid() {
    if (!L.Canvas.Tile || L.Canvas.Tile.prototype._rmPatched) { return; }
    L.Canvas.Tile.include({
      _rmPatched: true,
      _onClick: function (e) {
        if (!this._map) { return; }
        var point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset()), hit = null, layer;
        for (var id in this._layers) {
          layer = this._layers[id];
          if (layer.options.interactive && layer._containsPoint(point) && !this._map._draggableMoved(layer)) { hit = layer; }
        }
        this._fireEvent(hit ? [hit] : false, e);
      },
      // a tile's point symbolizer is a CircleMarker without a lat/lng (it lives in tile pixels), which Leaflet 1.9
      // reads for every event it fires on a marker-sized target: give it the event's position
      _fireEvent: function (layers, e, type) {
        if (layers && this._map) {
          var ll = this._map.mouseEventToLatLng(e);
          layers.forEach(function (l) { if (l.getLatLng) { l._latlng = ll; } });
        }
        this._map._fireDOMEvent(e, type || e.type, layers);
      }
    });
  }

  /* A large catalogue layer drawn from the service's vector tiles (OGC API – Tiles, Mapbox Vector Tiles,
   * /collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}) at every zoom: the tile builder thins and simplifies
   * by zoom and caps the features per tile, so a national layer never loads whole. A click fetches the feature's
   * full record (a tile carries only its popup attributes) for the catalogue popup. */
  var TiledCatalogLayer = null;   // made on first use: Leaflet.VectorGrid may load after this script
  function tiledClass() {
    if (!L.VectorGrid) { throw new Error('Leaflet.VectorGrid is not loaded'); }
    patchVectorGrid();
    return TiledCatalogLayer || (TiledCatalogLayer = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords, tileBounds) {
        this.options.fetchOptions = { headers: RiskMap.headers({ Accept: 'application/vnd.mapbox-vector-tile' }) };
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords, tileBounds).then(function (tile) {
          Object.keys(tile.layers).forEach(function (name) {   // VectorGrid keeps only the properties: keep the id too
            tile.layers[name].features.forEach(function (f) { f.properties.__id = f.id; });
          });
          return tile;
        });
      }
    }));
  }

  function tiledLayer(meta, opts) {
    var Grid = tiledClass();
    var styles = {};
    styles[meta.name] = function (props, z) { return tileStyle(meta, z); };
    var url = (RiskMap.apiBase || '') + '/collections/' + encodeURIComponent(meta.name) + '/tiles/WebMercatorQuad/{z}/{y}/{x}';
    var g = new Grid(url, { vectorTileLayerStyles: styles, interactive: true, maxZoom: 19, rendererFactory: L.canvas.tile,
      tolerance: L.Browser.mobile ? 10 : 3, pane: opts && opts.pane || 'overlayPane' });
    g._rmMeta = meta;
    g.on('add', function () { setStatus(g._map, meta.name, meta.title_zh + '：按矢量瓦片绘制 drawn from vector tiles'); });
    g.on('remove', function () { if (g._map) { setStatus(g._map, meta.name, null); } });   // fired before _map is cleared
    g.on('click', function (e) {
      L.DomEvent.stopPropagation(e);
      var id = e.layer && e.layer.properties && e.layer.properties.__id, map = g._map;
      if (id === undefined || id === null || !map) { return; }
      // VectorGrid's SVG tiles fire clicks without a position: take it from the pointer
      var at = e.latlng || (e.originalEvent && map.mouseEventToLatLng(e.originalEvent));
      var box = document.createElement('div');
      box.className = 'rm-popup rm-tiled-popup';
      box.textContent = meta.title + ' #' + id + ' …';
      var popup = L.popup({ maxWidth: 360 }).setLatLng(at).setContent(box).openOn(map);
      fetch((RiskMap.apiBase || '') + '/collections/' + encodeURIComponent(meta.name) + '/items/' + encodeURIComponent(id),
            { headers: RiskMap.headers({ Accept: 'application/geo+json' }) })
        .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
        .then(function (f) { box.className = ''; box.innerHTML = popupHtml(meta, f.properties, f.id); popup.update(); })
        .catch(function (err) { box.textContent = meta.title + ' #' + id + ': ' + err.message; });
    });
    return g;
  }

  /* ---- analysis results -------------------------------------------------------------------- */

  var LEVELS = { red: '#d7191c', orange: '#fd8d3c', yellow: '#fecc5c' };
  var ROLE_STYLES = {
    incident: { color: '#67000d', fillColor: '#ef3b2c', icon: 'triangle-exclamation', weight: 2, opacity: 1, fillOpacity: 1, radius: 9 },
    source: { color: '#67000d', fillColor: '#ef3b2c', icon: 'industry', weight: 2, opacity: 1, fillOpacity: 0.4, radius: 9 },
    team: { color: '#08519c', fillColor: '#3182bd', icon: 'plus', weight: 2, opacity: 1, fillOpacity: 0.9, radius: 8 },
    route: { color: '#2171b5', weight: 4, opacity: 0.85, fillOpacity: 0, fillColor: '#2171b5', radius: 4 },
    isochrone: { color: '#41ab5d', weight: 1, opacity: 0.8, fillColor: '#a1d99b', fillOpacity: 0.18, radius: 4 },
    receptor: { color: '#006d2c', fillColor: '#41ab5d', weight: 1, opacity: 1, fillOpacity: 0.8, radius: 5 },
    proposal: { color: '#252525', fillColor: '#969696', weight: 3, opacity: 1, fillOpacity: 0.15, radius: 6, dashArray: '6 4' },
    conflict: { color: '#a50f15', fillColor: '#fb6a4a', weight: 2, opacity: 1, fillOpacity: 0.45, radius: 7 },
    other: { color: '#54278f', fillColor: '#9e9ac8', weight: 2, opacity: 0.9, fillOpacity: 0.3, radius: 6 }
  };

  function roleOf(f, opts) {
    var p = f.properties || {};
    var cands = [opts.role, p.role, p.feature_type, p.kind];
    for (var i = 0; i < cands.length; i++) {
      if (cands[i] && (ROLE_STYLES[cands[i]] || cands[i] === 'zone')) { return cands[i]; }
    }
    if (p.level && LEVELS[p.level]) { return 'zone'; }
    if (p.eta_min !== undefined || p.team_type !== undefined) {
      return f.geometry && /Line/.test(f.geometry.type) ? 'route' : 'team';
    }
    return 'other';
  }

  function resultStyle(f, opts) {
    var role = roleOf(f, opts), p = f.properties || {};
    if (role === 'zone') {
      var c = LEVELS[p.level];
      if (!c) { return L.extend({}, ROLE_STYLES.other, { dashArray: '4 4', fillOpacity: 0.12 }, opts.style || {}); }
      return L.extend({ color: c, fillColor: c, weight: 1.5, opacity: 1, fillOpacity: 0.3, radius: 6 }, opts.style || {});
    }
    var s = L.extend({}, ROLE_STYLES[role]);
    var lvl = p.innermost_level || p.level;
    if (role === 'receptor' && (lvl || p.inside)) {
      s = L.extend(s, { color: '#000', fillColor: LEVELS[lvl] || '#d7191c', weight: 2, radius: 7, fillOpacity: 0.95 });
    }
    return L.extend(s, opts.style || {});
  }

  function resultLabel(f, opts) {
    var p = f.properties || {};
    if (opts.label) { return opts.label(p, f); }
    var parts = [];
    var name = p[opts.labelKey || 'name'];
    if (name !== undefined && name !== null) { parts.push(String(name)); }
    if (typeof p.eta_min === 'number') { parts.push(p.eta_min.toFixed(1) + ' min'); }
    if (typeof p.distance_m === 'number' && opts.showDistance !== false) { parts.push((p.distance_m / 1000).toFixed(1) + ' km'); }
    if (p.level && !name) { parts.push(String(p.label_zh || p.level)); }
    if (opts.rankLabels && typeof p.rank === 'number' && parts.length) { parts[0] = p.rank + '. ' + parts[0]; }
    return parts.join(' · ');
  }

  /* Any GeoJSON result: zones by level (red/orange/yellow), teams/routes with ETA labels, receptors
   * inside zones highlighted, proposals dashed, conflicts red. Popups list every property. */
  function resultLayer(data, opts) {
    opts = opts || {};
    var title = opts.title || '';
    var layer = L.geoJSON(data, {
      style: function (f) { return pathStyle(resultStyle(f, opts)); },
      pointToLayer: function (f, latlng) {
        var s = resultStyle(f, opts);
        if (s.icon) { return iconMarker(s, latlng, 'rm-role-' + roleOf(f, opts)).setZIndexOffset(1000); }   // above the layers
        return L.circleMarker(latlng, { radius: s.radius, color: s.color, weight: s.weight, fillColor: s.fillColor,
          fillOpacity: s.fillOpacity, opacity: s.opacity });
      },
      onEachFeature: function (f, l) {
        var label = resultLabel(f, opts);
        l.bindPopup(function () { return genericPopup(label || title || roleOf(f, opts), f.properties); }, { maxWidth: 380 });
        if (label) { l.bindTooltip(esc(label), { permanent: !!opts.permanentLabels, direction: 'right', className: 'rm-label' }); }
      }
    });
    if (opts.cluster && L.markerClusterGroup) {
      var g = L.markerClusterGroup({ maxClusterRadius: 40 });
      g.addLayer(layer);
      return g;
    }
    return layer;
  }

  /* ---- controls ---------------------------------------------------------------------------- */

  function swatch(e) {
    var st = 'background:' + esc(e.fillColor || e.color) + ';border-color:' + esc(e.color);
    var cls = 'rm-swatch rm-swatch-' + esc(e.family || 'polygon');
    if (e.icon) {
      return '<span class="rm-icon-badge rm-icon-small" style="' + st + '"><i class="fa-solid fa-' + esc(e.icon) + '"></i></span>';
    }
    return '<span class="' + cls + '" style="' + st + '"></span>';
  }

  function legend(map, entries, title) {
    var ctl = L.control({ position: 'bottomright' });
    ctl.onAdd = function () {
      var div = L.DomUtil.create('div', 'rm-legend');
      div.innerHTML = '<div class="rm-legend-title">' + esc(title) + '</div>' + entries.map(function (e) {
        return '<div class="rm-legend-row">' + swatch(e) + '<span>' + esc(e.label) + '</span></div>';
      }).join('');
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  function tableHtml(t) {
    var head = t.columns ? '<tr>' + t.columns.map(function (c) { return '<th>' + esc(c) + '</th>'; }).join('') + '</tr>' : '';
    var body = (t.rows || []).map(function (r) {
      var cells = Array.isArray(r) ? r : r.cells;
      return '<tr' + (r.cls ? ' class="rm-row-' + esc(r.cls) + '"' : '') + '>' +
        cells.map(function (c) { return '<td>' + esc(c === null || c === undefined ? '—' : c) + '</td>'; }).join('') + '</tr>';
    }).join('');
    return (t.title ? '<div class="rm-panel-sub">' + esc(t.title) + '</div>' : '') +
      '<table class="rm-table rm-table-grid">' + head + body + '</table>';
  }

  function panelHtml(content) {
    var html = '<div class="rm-panel-title">' + esc(content.title || '') + '</div>';
    (content.alerts || []).forEach(function (n) { html += '<div class="rm-alert">' + esc(n) + '</div>'; });
    if (content.verdict) {
      html += '<div class="rm-verdict rm-verdict-' + esc(content.verdict_class || content.verdict) + '">' + esc(content.verdict) + '</div>';
    }
    (content.tables || []).forEach(function (t) { html += tableHtml(t); });
    var notes = content.notes || [];
    if (notes.length) {
      html += '<details class="rm-notes"' + (notes.length <= 2 ? ' open' : '') + '><summary>说明与假设 Notes (' + notes.length +
        ')</summary>' + notes.map(function (n) { return '<div class="rm-note">' + esc(n) + '</div>'; }).join('') + '</details>';
    }
    return html;
  }

  /* Fit the view to a result, keeping it clear of the result panel (top right) when one is open. */
  function refit(map) {
    if (!map._rmFit) { return; }
    var el = map._rmPanelEl, open = el && !el.classList.contains('rm-collapsed');
    var w = open ? Math.min(el.offsetWidth + 16, map.getSize().x * 0.6) : 12;
    map.fitBounds(map._rmFit, { paddingTopLeft: [12, 12], paddingBottomRight: [w, 12] });
  }
  function fit(map, bounds) {
    map._rmFit = L.latLngBounds(bounds);
    refit(map);
    // fonts and late controls change the panel's size: fit once more when the page has loaded
    if (document.readyState !== 'complete') { window.addEventListener('load', function () { refit(map); }); }
  }

  /* A result panel that collapses to its title (click it) so it never has to cover the answer. */
  function panel(map, content, position) {
    var ctl = L.control({ position: position || 'topright' });
    ctl.onAdd = function () {
      var div = L.DomUtil.create('div', 'rm-panel' + (content.wide ? ' rm-panel-wide' : ''));
      div.innerHTML = panelHtml(content);
      var title = div.querySelector('.rm-panel-title');
      var toggle = L.DomUtil.create('button', 'rm-panel-toggle');
      toggle.type = 'button';
      toggle.title = '收起/展开 collapse/expand';
      toggle.textContent = '−';
      title.insertBefore(toggle, title.firstChild);
      title.addEventListener('click', function () {
        var collapsed = div.classList.toggle('rm-collapsed');
        toggle.textContent = collapsed ? '+' : '−';
      });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    ctl.addTo(map);
    if ((position || 'topright') === 'topright') {
      var div = ctl.getContainer();
      if (div.offsetWidth > map.getSize().x * 0.45) { div.classList.add('rm-collapsed'); div.querySelector('.rm-panel-toggle').textContent = '+'; }
      map._rmPanelEl = div;
      refit(map);
    }
    return ctl;
  }

  /* ---- quantitative risk: IR contours and the F-N chart ------------------------------------ */

  /* IR contours (GET /analysis/risk/individual…) as nested polygons, the lowest level (largest) first so the
   * inner ones stay clickable. levels: [{level, color}] from the server (maps/style.py IR_LEVEL_COLOURS). */
  function irLayer(fc, levels) {
    var colour = {};
    (levels || []).forEach(function (l) { colour[String(l.level)] = l.color; });
    var feats = (fc.features || []).slice().sort(function (a, b) { return a.properties.level_per_year - b.properties.level_per_year; });
    return L.geoJSON({ type: 'FeatureCollection', features: feats }, {
      style: function (f) {
        var c = colour[String(f.properties.level_per_year)] || '#999';
        return { color: c, fillColor: c, weight: 1.5, opacity: 1, fillOpacity: 0.45, dashArray: f.properties.reference_only ? '4 3' : null };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(esc(p.label_zh + ' · ' + p.label_en), { sticky: true });
        layer.bindPopup(genericPopup(p.label_zh, { level_per_year: p.level_per_year, area_m2: p.area_m2,
                                                    reference_only: p.reference_only }));
      }
    });
  }

  var FN_N = [1, 1e4], FN_F = [1e-9, 1e-1];
  function logPos(v, lo, hi, size) { return (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * size; }
  function sup(e) { return String(e).replace(/[-0-9]/g, function (c) { return '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'.charAt('-0123456789'.indexOf(c)); }); }

  /* The F-N curve (GET /analysis/risk/societal…) as an SVG string: the step curve, the criterion lines
   * F = c / N^k and the region in the title. Numbers only come from the document; labels are escaped. */
  function fnChart(fn, width, height) {
    width = width || 360; height = height || 300;
    var ml = 52, mb = 40, mt = 26, mr = 10, w = width - ml - mr, h = height - mt - mb;
    function xy(n, f) {
      n = Math.min(Math.max(n, FN_N[0]), FN_N[1]); f = Math.min(Math.max(f, FN_F[0]), FN_F[1]);
      return [ml + logPos(n, FN_N[0], FN_N[1], w), mt + h - logPos(f, FN_F[0], FN_F[1], h)];
    }
    function pts(list) { return list.map(function (p) { return p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join(' '); }
    var out = ['<svg xmlns="http://www.w3.org/2000/svg" width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + ' ' + height +
      '" role="img" aria-label="F-N curve" font-family="sans-serif" font-size="10">',
      '<rect x="' + ml + '" y="' + mt + '" width="' + w + '" height="' + h + '" fill="#fff" stroke="#333"/>'];
    var e, p;
    for (e = 0; e <= 4; e++) {
      p = xy(Math.pow(10, e), 1);
      out.push('<line x1="' + p[0].toFixed(1) + '" y1="' + mt + '" x2="' + p[0].toFixed(1) + '" y2="' + (mt + h) + '" stroke="#ddd"/>' +
               '<text x="' + p[0].toFixed(1) + '" y="' + (mt + h + 13) + '" text-anchor="middle">10' + sup(e) + '</text>');
    }
    for (e = -9; e <= -1; e++) {
      p = xy(1, Math.pow(10, e));
      out.push('<line x1="' + ml + '" y1="' + p[1].toFixed(1) + '" x2="' + (ml + w) + '" y2="' + p[1].toFixed(1) + '" stroke="#eee"/>' +
               '<text x="' + (ml - 4) + '" y="' + (p[1] + 3).toFixed(1) + '" text-anchor="end">10' + sup(e) + '</text>');
    }
    var assessment = fn.assessment || {}, lines = assessment.lines || {};
    [['upper', '#d7301f', '不可接受线 upper'], ['lower', '#1a9850', '可接受线 lower']].forEach(function (d) {
      var ln = lines[d[0]];
      if (!ln) { return; }
      var line = [1, 10, 100, 1000, 1e4].map(function (n) { return xy(n, ln.c_per_year / Math.pow(n, ln.k)); });
      out.push('<polyline class="fn-line-' + d[0] + '" points="' + pts(line) + '" fill="none" stroke="' + d[1] + '" stroke-dasharray="5,3"/>' +
               '<text x="' + (line[1][0] + 4).toFixed(1) + '" y="' + (line[1][1] - 4).toFixed(1) + '" fill="' + d[1] + '">' + esc(d[2]) + '</text>');
    });
    var curve = fn.fn_curve || [];
    if (curve.length) {
      var step = [], prevN = 1;
      curve.forEach(function (q) { step.push(xy(prevN, q.f_per_year), xy(q.n, q.f_per_year)); prevN = q.n; });  // F(N) is a step function
      step.push(xy(prevN, FN_F[0]));
      out.push('<polyline class="fn-curve" points="' + pts(step) + '" fill="none" stroke="#08306b" stroke-width="2"/>');
    } else {
      out.push('<text x="' + (ml + w / 2) + '" y="' + (mt + h / 2) + '" text-anchor="middle">无 N ≥ 1 的事件 no event with N ≥ 1</text>');
    }
    out.push('<text x="' + ml + '" y="' + (mt - 8) + '" font-weight="bold">F-N 社会风险曲线 ' + esc(assessment.region_zh || '') + '</text>',
             '<text x="' + (ml + w / 2) + '" y="' + (height - 6) + '" text-anchor="middle">死亡人数 N</text>',
             '<text x="12" y="' + (mt + h / 2) + '" transform="rotate(-90 12 ' + (mt + h / 2) + ')" text-anchor="middle">累计频率 F (/年)</text></svg>');
    return out.join('');
  }

  /* The F-N chart as a map control (bottom-left), for the Folium risk map. */
  function fnControl(map, fn) {
    var ctl = L.control({ position: 'bottomleft' });
    ctl.onAdd = function () {
      var div = L.DomUtil.create('div', 'risk-fn-chart');
      div.innerHTML = fnChart(fn);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  var RiskMap = {
    apiBase: '',
    apiKey: null,
    headers: function (extra) {
      var h = L.extend({}, extra || {});
      if (RiskMap.apiKey) { h['X-API-Key'] = RiskMap.apiKey; }
      return h;
    },
    esc: esc, unpack: unpack, hasMore: hasMore, matchedText: matchedText, formatValue: formatValue, popupHtml: popupHtml, genericPopup: genericPopup, genericValue: genericValue,
    catalogLayer: catalogLayer, liveLayer: liveLayer, tiledLayer: tiledLayer, tileStyle: tileStyle, patchVectorGrid: patchVectorGrid, aggregateLayer: aggregateLayer, resultLayer: resultLayer,
    legend: legend, panel: panel, fit: fit, refit: refit, panelHtml: panelHtml, tableHtml: tableHtml, setStatus: setStatus,
    irLayer: irLayer, fnChart: fnChart, fnControl: fnControl,
    LEVELS: LEVELS, ROLE_STYLES: ROLE_STYLES
  };
  root.RiskMap = RiskMap;
}(window));
