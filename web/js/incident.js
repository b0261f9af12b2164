/* "Incident here": a click anywhere (not a double-click) and the go-to box. */
import { fmtLatLng, parseCoords } from './coords.js';
import { $, esc, status } from './dom.js';
import { measureClick } from './measure.js';
import { nearestRescue } from './rescue.js';
import { map, state } from './state.js';
import { openWhatIf } from './whatif.js';

var clickTimer = null;

/* a pending "incident here" popup is cancelled by a double-click, a feature's popup or the draw tool */
export function cancelPointPopup() { clearTimeout(clickTimer); }

export function pointPopup(latlng) {
  var div = document.createElement('div');
  div.className = 'rm-popup point-popup';
  div.innerHTML = '<div class="rm-popup-title">' + esc(fmtLatLng(latlng)) + '</div>';
  var b = document.createElement('button');
  b.type = 'button'; b.className = 'btn-incident';
  b.innerHTML = '<i class="fa-solid fa-triangle-exclamation"></i> 此处事故 Incident here → 救援 rescue';
  b.addEventListener('click', function () { map.closePopup(); nearestRescue(latlng.lat, latlng.lng); });
  div.appendChild(b);
  var w = document.createElement('button');
  w.type = 'button'; w.className = 'btn-whatif';
  w.innerHTML = '<i class="fa-solid fa-biohazard"></i> 假设泄漏 What-if release here';
  w.addEventListener('click', function () { map.closePopup(); openWhatIf(latlng); });
  div.appendChild(w);
  L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(div).openOn(map);
}

map.on('click', function (e) {
  if (state.drawing) { return; }
  if (state.measuring) { measureClick(e.latlng); return; }
  var t = e.originalEvent && e.originalEvent.target;
  if (t && t.classList && t.classList.contains('leaflet-interactive')) { return; }   // a feature's own popup
  clearTimeout(clickTimer);
  clickTimer = setTimeout(function () { pointPopup(e.latlng); }, 280);
});
map.on('dblclick', cancelPointPopup);
// a right click, or a long press on a touch screen, offers "incident here" at once
map.on('contextmenu', function (e) {
  if (state.drawing || state.measuring) { return; }
  cancelPointPopup();
  pointPopup(e.latlng);
});
longPress(map.getContainer(), function (latlng) { cancelPointPopup(); pointPopup(latlng); });

/* Long press (≥ 550 ms without moving more than 10 px, one finger) on the map: Chromium on Android fires
 * contextmenu for it too, other browsers do not; the click that follows the release is swallowed. */
function longPress(el, fn) {
  var timer = null, start = null, fired = false;
  el.addEventListener('touchstart', function (e) {
    clearTimeout(timer); fired = false;
    if (e.touches.length !== 1 || state.drawing || state.measuring) { start = null; return; }
    var t = e.touches[0];
    if (t.target.closest && t.target.closest('.leaflet-control, .leaflet-popup, .leaflet-interactive')) { start = null; return; }
    start = { x: t.clientX, y: t.clientY };
    timer = setTimeout(function () {
      fired = true;
      var r = el.getBoundingClientRect();
      fn(map.containerPointToLatLng([start.x - r.left, start.y - r.top]));
    }, 550);
  }, { passive: true });
  el.addEventListener('touchmove', function (e) {
    if (!start) { return; }
    var t = e.touches[0];
    if (Math.abs(t.clientX - start.x) > 10 || Math.abs(t.clientY - start.y) > 10) { clearTimeout(timer); start = null; }
  }, { passive: true });
  el.addEventListener('touchend', function () { clearTimeout(timer); start = null; });
  el.addEventListener('click', function (e) { if (fired) { fired = false; e.stopPropagation(); } }, true);
}

export function goTo(ev) {
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

map.on('popupopen', cancelPointPopup);
