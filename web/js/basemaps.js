/* Basemaps: the offline basemap from the project's own layers, the province mask, and the tile basemaps the
 * server offers (its own MBTiles/PMTiles file, Tianditu, XYZ), each with its credit and 审图号. */
import { $, esc, status } from './dom.js';
import { getJSON } from './http.js';
import { updateHash } from './permalink.js';
import { map, viewer, state } from './state.js';
import { isTiled, showTiled, whenTilesDrawn } from './tiled.js';

/* Above this many admin areas (a national set: 3,300) the basemap draws them from the vector tiles and labels
 * only the provinces; a province's ~80 areas keep their SVG outlines, every county's name and the province mask. */
var ADMIN_DETAIL_LIMIT = 500;

/* Offline basemap from the project's own layers: county outlines with their names, roads, the
 * province mask. Drawn in its own pane below the risk layers. */
function adminStyle(lvl) {
  return { color: lvl === 'province' ? '#444' : '#8c8c8c', weight: lvl === 'province' ? 2 : (lvl === 'prefecture' ? 1.2 : 0.7),
           fillColor: '#f6f3ec', fillOpacity: lvl === 'province' ? 0.6 : 0, dashArray: lvl === 'county' ? '3 3' : null };
}

var ADMIN_TILE_STYLES = {}, NONE = [];
function adminTileStyle(props, z) {   // the same look from the tiles (canvas; outlines of each tile's share only)
  var lvl = props.level;
  if (lvl === 'county' && z < 7) { return NONE; }   // 2,800 county outlines are a grey smear at national zoom
  if (!ADMIN_TILE_STYLES[lvl]) {
    ADMIN_TILE_STYLES[lvl] = L.extend(adminStyle(lvl), { fill: lvl === 'province', stroke: true, opacity: 1, interactive: false });
  }
  return ADMIN_TILE_STYLES[lvl];
}

/* Roads of a national network by zoom: the trunk network first, local links from the city zoom on. */
var ROAD_MIN_ZOOM = { motorway: 0, trunk: 0, primary: 0, secondary: 8, tertiary: 10 };
var ROAD_TILE_STYLE = { color: '#c9a35d', weight: 1, opacity: 0.8, fill: false, interactive: false };
function roadTileStyle(props, z) {
  var min = ROAD_MIN_ZOOM[props.road_class];
  return z >= (min === undefined ? 11 : min) ? ROAD_TILE_STYLE : NONE;
}

/* Labels of the provinces of a national set, at their bounding boxes' centres (no outline drawn here). */
function provinceLabels(fc, group) {
  fc.features.forEach(function (f) {
    if (f.properties.level !== 'province' || !f.properties.name) { return; }
    var c = L.geoJSON(f).getBounds().getCenter();
    L.tooltip({ permanent: true, direction: 'center', interactive: false, className: 'rm-place-label rm-place-province' })
      .setLatLng(c).setContent(esc(f.properties.name)).addTo(group);
  });
}

export function offlineBasemap(config) {
  map.createPane('basemap');
  map.getPane('basemap').style.zIndex = 250;
  var group = L.layerGroup();
  var admin = state.metas.admin_areas, roads = state.metas.roads;
  var loaded = false;
  // a national road network (800,000 segments) and a national set of admin areas (3,300): from the vector
  // tiles (tiled.js) — drawn per tile on canvas, kept while panning — instead of 10 MB of SVG and 3,000 labels
  var tiledRoads = roads && isTiled(roads), tiledAdmin = admin && (admin.count || 0) > ADMIN_DETAIL_LIMIT;
  function tiledParts(on) {
    if (tiledRoads) { showTiled('roads', 'basemap', on, roadTileStyle); }
    if (tiledAdmin) { showTiled('admin_areas', 'basemap', on, adminTileStyle); }
  }
  group.on('remove', function () { tiledParts(false); });
  group.on('add', function () {
    tiledParts(true);
    if (loaded) { return; }
    loaded = true;
    if (admin) {
      // national: the labels' 7 MB of outlines only once the first tiles are drawn (the map comes first)
      (tiledAdmin ? whenTilesDrawn() : Promise.resolve()).then(function () {
        return getJSON('/viewer/basemap/admin_areas');
      }).then(function (packed) {
        var fc = RiskMap.unpack(packed), province = null, provinces = 0;
        if (tiledAdmin) { provinceLabels(fc, group); return; }
        L.geoJSON(fc, { pane: 'basemap', interactive: false,
          style: function (f) { return adminStyle(f.properties.level); },
          onEachFeature: function (f, l) {
            if (f.properties.level === 'province') { province = f; provinces += 1; }
            if (f.properties.level !== 'province' && f.properties.name) {
              l.bindTooltip(esc(f.properties.name), { permanent: true, direction: 'center', className: 'rm-place-label rm-place-' + f.properties.level });
            }
          } }).addTo(group);
        if (province && provinces === 1) { provinceMask(province); }   // one province's deployment: grey the rest
      }).catch(function (e) { status('底图 basemap: ' + e.message, true); });
    }
    if (roads && !tiledRoads) {
      getJSON('/viewer/basemap/roads').then(function (packed) {
        L.geoJSON(RiskMap.unpack(packed), { pane: 'basemap', interactive: false, style: function () { return { color: '#c9a35d', weight: 1, opacity: 0.8 }; } }).addTo(group);
      }).catch(function () { /* roads are optional context */ });
    }
  });
  return group;
}

/* Everything outside the province greyed out (a world polygon with the province as its hole). */
export function provinceMask(province) {
  var world = [[-89, -179], [-89, 179], [89, 179], [89, -179]];
  var g = province.geometry, holes = [];
  var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  polys.forEach(function (p) { holes.push(p[0].map(function (c) { return [c[1], c[0]]; })); });
  state.mask = L.polygon([world].concat(holes), { pane: 'basemap', interactive: false, stroke: false,
    fillColor: '#7a7a7a', fillOpacity: 0.35, className: 'rm-mask' }).addTo(map);
}

/* One offered tile basemap (config.basemaps.offers: the local MBTiles/PMTiles file served by the service,
 * Tianditu with its label layer, an XYZ template) as a Leaflet layer. Tiles outside the file answer 404 and
 * leave their square empty. */
function tileBasemap(offer) {
  var opts = { maxZoom: 19, minNativeZoom: offer.min_zoom, maxNativeZoom: offer.max_zoom,
               className: 'rm-basemap-' + offer.key };
  if (offer.subdomains) { opts.subdomains = offer.subdomains; }
  if (offer.bounds) { opts.bounds = [[offer.bounds[1], offer.bounds[0]], [offer.bounds[3], offer.bounds[2]]]; }
  var base = L.tileLayer(offer.url, opts), warned = false;
  base.on('tileerror', function () {   // a hole in the file (or a tile server down): say what to do, once
    if (warned) { return; }
    warned = true;
    status('底图“' + offer.title + '”此处缺少瓦片（级别 ' + offer.min_zoom + '–' + offer.max_zoom + '），可在“图层”中改选其他底图。'
           + ' The basemap has no tiles here: choose another basemap under Layers.', false);
  });
  if (!offer.labels_url) { return base; }
  return L.layerGroup([base, L.tileLayer(offer.labels_url, L.extend({}, opts, { className: 'rm-basemap-labels' }))]);
}

/* The credit line of the basemap in use (its attribution and 审图号), in the map's attribution corner:
 * escaped here, since Leaflet writes attributions as HTML. */
var shownCredit = null;
function showCredit(text) {
  if (!map.attributionControl) { return; }
  if (shownCredit) { map.attributionControl.removeAttribution(shownCredit); }
  shownCredit = text ? '<span class="rm-credit">' + esc(text) + '</span>' : null;
  if (shownCredit) { map.attributionControl.addAttribution(shownCredit); }
}

export function setupBasemaps(config) {
  var bases = {}, credits = {}, names = {}, box = $('basemaps');
  var list = (config.basemaps && config.basemaps.offers) || [];
  var order = [];
  list.forEach(function (o) {
    var k = o.key === 'own' ? 'offline' : o.key;   // 'offline': the permalink name of the own-layers basemap
    bases[k] = o.url ? tileBasemap(o) : offlineBasemap(config);
    credits[k] = o.attribution;
    names[k] = o.title;
    order.push(k);
  });
  if (!bases.offline) {   // an older server without offers: the own layers and its one XYZ template
    bases.offline = offlineBasemap(config);
    order.push('offline');
    names.offline = '离线底图（本地图层）offline (own layers)';
    if (config.basemap && config.basemap.url) {
      bases.xyz = L.tileLayer(config.basemap.url, { maxZoom: 19 });
      credits.xyz = config.basemap.attribution;
      names.xyz = '在线瓦片 XYZ tiles';
      order.unshift('xyz');
    }
  }
  names.none = '无 none';
  order.push('none');
  var notices = (config.basemaps && config.basemaps.notices) || [];
  box.innerHTML = '<div class="muted">底图 Basemap</div>' + order.map(function (k) {
    return '<label class="basemap-row"><input type="radio" name="basemap" value="' + esc(k) + '"> ' + esc(names[k]) + '</label>';
  }).join('') + notices.map(function (n) { return '<div class="muted basemap-notice">' + esc(n) + '</div>'; }).join('');
  function use(k) {
    if (!bases[k] && k !== 'none') { k = order[0]; }
    Object.keys(bases).forEach(function (n) { if (n !== k && map.hasLayer(bases[n])) { map.removeLayer(bases[n]); } });
    if (bases[k]) { bases[k].addTo(map); }
    showCredit(credits[k]);
    state.basemap = k;
    var r = box.querySelector('input[value="' + k + '"]');
    if (r) { r.checked = true; }
  }
  box.addEventListener('change', function (e) { if (e.target.name === 'basemap') { use(e.target.value); updateHash(); } });
  viewer.useBasemap = use;
  use(order[0]);
}
