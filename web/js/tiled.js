/* The big layers from the service's vector tiles (OGC API – Tiles, Mapbox Vector Tiles) instead of GeoJSON.
 *
 * A layer is "big" when its collection's itemCount (config.layers[].count, the same number /collections/{id}
 * reports) is at least config.tiles.threshold (GIS_VIEWER_TILE_THRESHOLD, default 20,000): at that size the
 * GeoJSON path (grid counts until at most 1,000 features are in view, then a bbox page) leaves a national
 * layer as grey grid circles down to city zoom, and the grid counts themselves walk the whole layer. The
 * Jilin sample's layers (≤ 3,000 features each) stay GeoJSON, with their icons, clusters and tooltips.
 *
 * Every big layer shown is one MVT layer of ONE Leaflet.VectorGrid (npm leaflet.vectorgrid, served locally
 * at /static/vendor) fed by the multi-layer tiles /tiles/WebMercatorQuad/{z}/{y}/{x}?collections=a,b: one
 * request per tile, one canvas per tile, so a click hits whichever big layer is drawn on top. The server thins
 * each layer to at most GIS_TILE_MAX_FEATURES per tile and carries only the popup's first attributes below
 * zoom 10, so a click fetches the whole feature by id (/collections/{layer}/items/{id}) for the popup and the
 * analyses it offers. Styles come from the catalogue (meta.style); the opacity slider restyles the layer. */
import { getJSON } from './http.js';
import { actionButtons } from './popups.js';
import { map, state, viewer } from './state.js';

var FAMILY_ORDER = { polygon: 0, line: 1, point: 2 };   // drawn first = underneath
var grid = null;
var shown = {};          // layer name -> {layer: its checkbox is on, basemap: the offline basemap draws it}
var styleCache = {};     // name + zoom -> the Leaflet path options
var basemapStyles = {};  // name -> style(properties, zoom) the offline basemap draws the layer with

export var stats = viewer.tiles = { requested: 0, loaded: 0, failed: 0, firstLoadMs: null, loads: 0 };
viewer.tilesIdle = function () { return !grid || !grid._map || !grid.isLoading(); };   // every tile in view drawn

var drawnWaiters = [];
/* Resolves once the first view's tiles are all drawn (at once when they already are). */
export function whenTilesDrawn() {
  return new Promise(function (resolve) { if (stats.firstLoadMs !== null) { resolve(); } else { drawnWaiters.push(resolve); } });
}

export function isTiled(meta) {
  var t = state.config && state.config.tiles;
  return !!(t && typeof meta.count === 'number' && meta.count >= t.threshold && meta.count > 0);
}

/* Drawing a tile is cut into slices of at most SLICE_MS, each its own task, so the browser paints frames in
 * between: VectorGrid 1.3 makes and draws a tile's every feature (thousands on a national map) in one task, and a
 * tile arriving while the map is panned froze a frame for 100–400 ms. One queue for all tiles, first come first
 * drawn; a tile unloaded before it is drawn (panned away, a redraw) is dropped. Yields by MessageChannel (a
 * setTimeout chain is clamped to 4 ms per hop). */
var SLICE_MS = 8, queue = [], pumping = false, channel = null;
function pump() {
  // Until the first view is drawn nothing moves on screen, so a tile is drawn whole: slicing it then only lets
  // other work in between and delays the first map (measured: bench/bench_viewer_load.py --national).
  var t0 = performance.now(), budget = stats.firstLoadMs === null ? Infinity : SLICE_MS;
  while (queue.length && performance.now() - t0 < budget) {
    if (queue[0](t0 + budget)) { queue.shift(); }   // a job returns true when its tile is done (or dropped)
  }
  if (queue.length) { channel.port2.postMessage(0); } else { pumping = false; }
}
function schedule(job) {
  if (!channel) { channel = new MessageChannel(); channel.port1.onmessage = pump; }
  queue.push(job);
  if (!pumping) { pumping = true; channel.port2.postMessage(0); }
}

/* VectorGrid's createTile, its per-feature work in slices (above). */
function createTileSliced(coords, done) {
  var grid = this, renderer = this.options.rendererFactory(coords, this.getTileSize(), this.options);
  var container = renderer.getContainer(), key = this._tileCoordsToKey(coords);
  this._getVectorTilePromise(coords).then(function (vectorTile) {
    var names = Object.keys(vectorTile.layers), li = 0, fi = 0;
    schedule(function (deadline) {
      var t = grid._tiles[key];
      if (!t || t.el !== container) { return true; }   // no longer shown
      for (; li < names.length; li++, fi = 0) {
        var name = names[li], layer = vectorTile.layers[name], style = grid.options.vectorTileLayerStyles[name] || L.Path.prototype.options;
        var px = grid.getTileSize().divideBy(layer.extent);
        grid._dataLayerNames[name] = true;
        for (; fi < layer.features.length; fi++) {
          if ((fi & 31) === 0 && performance.now() > deadline) { return false; }
          drawFeature(grid, renderer, layer.features[fi], style, px, coords.z);
        }
      }
      if (grid._map) { renderer.addTo(grid._map); }
      L.Util.requestAnimFrame(done.bind(coords, null, null));
      return true;
    });
  }, function (err) { done(err, container); });
  return container;
}

function drawFeature(grid, renderer, feat, layerStyle, px, z) {
  var styles = typeof layerStyle === 'function' ? layerStyle(feat.properties, z) : layerStyle;
  if (!(styles instanceof Array)) { styles = [styles]; }
  if (!styles.length) { return; }
  var f = grid._createLayer(feat, px);
  for (var j = 0; j < styles.length; j++) {
    f.render(renderer, L.extend({}, L.Path.prototype.options, styles[j]));
    renderer._addPath(f);
  }
  if (grid.options.interactive) { f.makeInteractive(); }
}

/* Each feature remembers its MVT layer and id (VectorGrid keeps only the properties). */
function makeGrid() {
  RiskMap.patchVectorGrid();   // Leaflet 1.9 and VectorGrid's canvas tiles (riskmap.js)
  if (!map.getPane('rm-tiles')) { map.createPane('rm-tiles').style.zIndex = 350; }   // above basemaps, below GeoJSON
  var Grid = L.VectorGrid.Protobuf.extend({
    createTile: createTileSliced,
    _getVectorTilePromise: function (coords) {
      this.options.fetchOptions = { headers: RiskMap.headers({ Accept: 'application/vnd.mapbox-vector-tile' }) };
      stats.requested += 1;
      // 512-pixel tiles showing the service's tile of one zoom less (as Mapbox GL does): a quarter of the
      // requests and of the features to draw for the same view; the MVT extent keeps the detail
      var served = L.extend({}, coords, { z: coords.z - 1 });
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, served).then(function (tile) {
        stats.loaded += 1;
        Object.keys(tile.layers).forEach(function (name) {
          tile.layers[name].features.forEach(function (f) { f.properties.__layer = name; f.properties.__id = f.id; });
        });
        return tile;
      }, function (err) { stats.failed += 1; throw err; });
    }
  });
  var g = new Grid(tileUrl(), {
    pane: 'rm-tiles', interactive: true, rendererFactory: L.canvas.tile, tileSize: 512, minZoom: 1, maxZoom: 19,
    tolerance: L.Browser.mobile ? 10 : 3,   // px around a point that still counts as a hit (a finger is wide)
    vectorTileLayerStyles: layerStyles(), updateWhenZooming: false, keepBuffer: 2
  });
  g.on('click', onClick);
  g.on('load', function () {
    stats.loads += 1;
    if (stats.firstLoadMs === null) {
      stats.firstLoadMs = performance.now();
      drawnWaiters.splice(0).forEach(function (f) { f(); });
    }
  });
  return g;
}

function isShown(n) { return !!(shown[n] && (shown[n].layer || shown[n].basemap)); }

/* Show or hide a big layer for one holder ('layer': its checkbox; 'basemap': the offline basemap's roads). */
export function showTiled(name, holder, on, style) {
  shown[name] = shown[name] || {};
  shown[name][holder] = on;
  if (style) { basemapStyles[name] = style; }
  refresh();
}

function order() {
  return Object.keys(shown).filter(isShown).sort(function (a, b) {
    var fa = FAMILY_ORDER[state.metas[a].family] || 0, fb = FAMILY_ORDER[state.metas[b].family] || 0;
    return fa - fb || names().indexOf(b) - names().indexOf(a);   // the catalogue's first (hazard sources) on top
  });
}

function names() { return state.config.layers.map(function (m) { return m.name; }); }

function tileUrl() {
  return state.config.tiles.url + '?collections=' + encodeURIComponent(order().join(','));
}

function layerStyle(meta) {
  var s = meta.style, basemap = !!s.basemap;
  return function (props, z) {
    var asLayer = shown[meta.name] && shown[meta.name].layer;
    if (!asLayer && basemapStyles[meta.name]) { return basemapStyles[meta.name](props, z); }
    var key = meta.name + '/' + z;
    if (styleCache[key]) { return styleCache[key]; }
    var out = RiskMap.tileStyle(meta, z, (state.opacity && state.opacity[meta.name]) || 1);   // as the maps draw it
    out.interactive = !basemap || !!(shown[meta.name] && shown[meta.name].layer);   // basemap roads: context only
    styleCache[key] = out;
    return out;
  };
}

function layerStyles() {
  var out = {};
  state.config.layers.forEach(function (m) { if (isTiled(m) || basemapStyles[m.name]) { out[m.name] = layerStyle(m); } });
  return out;
}

var pending = null;
function refresh() {   // batched: the first load switches several layers on in one turn, one redraw for all
  if (pending) { return; }
  pending = setTimeout(flushTiles, 0);
}

/* The batched redraw now (the viewer's start: the first tiles are requested before the panels are set up). */
export function flushTiles() {
  if (!pending) { return; }
  clearTimeout(pending);
  pending = null;
  apply();
}

function apply() {
  var any = order().length > 0;
  if (!any) { if (grid && map.hasLayer(grid)) { map.removeLayer(grid); } return; }
  styleCache = {};   // interactivity follows who shows a layer
  if (!grid) { grid = makeGrid(); }
  grid.options.vectorTileLayerStyles = layerStyles();
  grid.setUrl(tileUrl(), true);
  if (map.hasLayer(grid)) { grid.redraw(); } else { grid.addTo(map); }
}

/* A click on a tiled feature: its full record by id, the catalogue popup and the feature's analyses. */
function onClick(e) {
  L.DomEvent.stopPropagation(e);   // not also "incident here" (the map's own click)
  var p = (e.layer && e.layer.properties) || {}, name = p.__layer, id = p.__id, meta = state.metas[name];
  if (!meta || id === undefined || id === null) { return; }
  var box = document.createElement('div');
  box.className = 'rm-popup rm-tiled-popup';
  box.textContent = meta.title + ' #' + id + ' …';
  var compact = viewer.isCompact && viewer.isCompact();   // a phone: the record scrolls inside the popup
  var popup = L.popup({ maxWidth: 360, maxHeight: compact ? Math.round(map.getSize().y * 0.55) : null })
    .setLatLng(e.latlng).setContent(box).openOn(map);
  getJSON('/collections/' + encodeURIComponent(name) + '/items/' + encodeURIComponent(id)).then(function (f) {
    box.className = '';
    box.innerHTML = RiskMap.popupHtml(meta, f.properties, f.id);
    box.dataset.layer = name; box.dataset.id = String(f.id);
    box.appendChild(actionButtons(name, f.id));
    popup.update();
  }).catch(function (err) { box.textContent = meta.title + ' #' + id + ': ' + err.message; });
}

/* The stand-in a tiled layer keeps in state.layers: adding/removing it shows/hides its MVT layer. */
var TiledLayer = L.Layer.extend({
  initialize: function (meta) { this._rmMeta = meta; this.state = 'tiles'; },
  onAdd: function () { showTiled(this._rmMeta.name, 'layer', true); },
  onRemove: function () { showTiled(this._rmMeta.name, 'layer', false); },
  setOpacity: function () {   // state.opacity already holds the value (layers.js)
    var name = this._rmMeta.name;
    Object.keys(styleCache).forEach(function (k) { if (k.indexOf(name + '/') === 0) { delete styleCache[k]; } });
    if (grid && map.hasLayer(grid)) { grid.redraw(); }
  },
  grid: function () { return grid; }
});

export function tiledLayer(meta) { return new TiledLayer(meta); }
