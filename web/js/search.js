/* Place search: admin areas and named features (no road segments). */
import { $, status } from './dom.js';
import { getJSON } from './http.js';
import { actionButtons } from './popups.js';
import { focusPadding } from './layout.js';
import { focusGroup, map, state } from './state.js';

export var SEARCH_LIMIT = 10;
var ADMIN_LIMIT = 50;     // admin areas are few: fetch enough to rank them by level
var LEVEL_RANK = { province: 0, prefecture: 1, county: 2 };

/* The rank of a hit (smaller first): admin areas before everything else, by level (province > prefecture/city
 * > county), then an exact name before a name starting with the text before one merely containing it, then the
 * shorter name. So "长春" puts 长春市 (the city) first, not a school named after it. */
export function hitRank(layer, f, text) {
  var p = f.properties || {}, name = String(p.name || '');
  var admin = layer === 'admin_areas';
  var level = admin ? (LEVEL_RANK[p.level] !== undefined ? LEVEL_RANK[p.level] : 3) : 4;
  var t = text.toLowerCase(), n = name.toLowerCase();
  var match = n === t ? 0 : (n.indexOf(t) === 0 ? 1 : 2);
  return [admin ? 0 : 1, level, match, name.length];
}

function compareRank(a, b) {
  for (var i = 0; i < a.rank.length; i++) { if (a.rank[i] !== b.rank[i]) { return a.rank[i] - b.rank[i]; } }
  return 0;
}

export function search(ev) {
  if (ev) { ev.preventDefault(); }
  var text = $('search-text').value.trim(), which = $('search-layer').value;
  var list = $('search-results');
  list.innerHTML = ''; $('search-note').textContent = '';
  if (!text) { return Promise.resolve(); }
  var names = which ? [which] : state.config.layers.map(function (m) { return m.name; }).filter(function (n) { return n !== 'roads'; });
  status('搜索… searching');
  return Promise.all(names.map(function (name) {
    var limit = name === 'admin_areas' ? ADMIN_LIMIT : SEARCH_LIMIT;
    return getJSON('/collections/' + encodeURIComponent(name) + '/items?q=' + encodeURIComponent(text) + '&limit=' + limit)
      .then(function (fc) { return { name: name, fc: fc }; })
      .catch(function () { return { name: name, fc: { features: [], numberMatched: 0 } }; });
  })).then(function (answers) {
    var notes = [], seen = {}, hits = [];
    answers.forEach(function (a) { a.fc.features.forEach(function (f) { var k = f.properties.name; seen[k] = (seen[k] || 0) + 1; }); });
    answers.forEach(function (a) {
      var meta = state.metas[a.name];
      if (RiskMap.hasMore(a.fc)) {
        notes.push(meta.title_zh + '：显示前 ' + a.fc.features.length + ' / 共 ' + RiskMap.matchedText(a.fc) + '（请细化 refine）');
      }
      a.fc.features.forEach(function (f) { hits.push({ layer: a.name, f: f, rank: hitRank(a.name, f, text) }); });
    });
    hits.sort(compareRank);
    hits.forEach(function (h) {
      var meta = state.metas[h.layer], f = h.f;
      var p = f.properties, li = document.createElement('li');
      var where = [meta.title_zh];
      if (h.layer === 'admin_areas' && p.level) { where.push(RiskMap.formatValue(meta.popup.find(function (x) { return x.name === 'level'; }) || {}, p.level)); }
      if (seen[p.name] > 1 && h.layer !== 'admin_areas') { where.push(p.county || ('#' + f.id)); }
      else if (p.county) { where.push(p.county); }
      li.textContent = (p.name || '#' + f.id) + ' — ' + where.join(' · ');
      li.dataset.layer = h.layer; li.dataset.id = f.id;
      li.addEventListener('click', function () { showFeature(h.layer, f); });
      list.appendChild(li);
    });
    $('search-note').textContent = notes.join('\n');
    status(hits.length ? hits.length + ' 个结果 results' : '没有结果 no match');
  });
}

export function showFeature(layerName, f) {
  var meta = state.metas[layerName];
  var layer = RiskMap.catalogLayer(meta, { type: 'FeatureCollection', features: [f] });
  focusGroup.addLayer(layer);
  var b = L.geoJSON(f).getBounds();
  map.fitBounds(b, L.extend({ maxZoom: 14 }, focusPadding(40)));
  var content = document.createElement('div');
  content.innerHTML = RiskMap.popupHtml(meta, f.properties, f.id);
  content.appendChild(actionButtons(layerName, f.id));
  L.popup({ maxWidth: 360 }).setLatLng(f.geometry.type === 'Point' ? b.getCenter() : b.getCenter()).setContent(content).openOn(map);
}
