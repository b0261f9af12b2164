/* Place search: admin areas and named features (no road segments). */
import { $, status } from './dom.js';
import { getJSON } from './http.js';
import { actionButtons } from './popups.js';
import { focusPadding } from './layout.js';
import { focusGroup, map, state } from './state.js';

export var SEARCH_LIMIT = 10;

export function search(ev) {
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
