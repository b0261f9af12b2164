/* Measure: geodesic distance and area on the map. */
import { $ } from './dom.js';
import { geodesicDistance, geodesicArea, fmtDistance, fmtArea } from './geodesy.js';
import { map, state } from './state.js';

export var MeasureControl = L.Control.extend({
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

export var measureLayer = L.featureGroup().addTo(map);
export var measureBox = L.control({ position: 'topright' });
measureBox.onAdd = function () {
  var d = L.DomUtil.create('div', 'rm-panel rm-measure-out');
  d.id = 'measure-out';
  d.style.display = 'none';
  L.DomEvent.disableClickPropagation(d);
  return d;
};
measureBox.addTo(map);

export function startMeasure(mode) {
  stopMeasure();
  state.measuring = { mode: mode, points: [] };
  map.doubleClickZoom.disable();
  map.getContainer().classList.add('measuring');
  renderMeasure();
}
export function stopMeasure() {
  state.measuring = null;
  measureLayer.clearLayers();
  map.doubleClickZoom.enable();
  map.getContainer().classList.remove('measuring');
  $('measure-out').style.display = 'none';
}

export function measureClick(ll) {
  state.measuring.points.push(ll);
  renderMeasure();
}

export function measureValues(m) {
  var pts = m.points, d = 0;
  for (var i = 1; i < pts.length; i++) { d += geodesicDistance(pts[i - 1], pts[i]); }
  var out = { distance_m: d, points: pts.length };
  if (m.mode === 'area' && pts.length >= 3) {
    out.area_m2 = geodesicArea(pts);
    out.perimeter_m = d + geodesicDistance(pts[pts.length - 1], pts[0]);
  }
  return out;
}

export function renderMeasure() {
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
