/* What-if at any point (a tanker overturned on a road): pick the point (the map's "incident here" popup, by a
 * click, a tap or a long press), choose substance, quantity and storage → the exposure zones of that release
 * (POST /analysis/exposure, with the Scenario panel's weather and wind) and the nearest capable teams by road
 * (GET /analysis/rescue/nearest), both kept on the map as results; the one-page brief of the pair
 * (GET /reports/brief.pdf?lon=&lat=&substance=&quantity_t=…). */
import { fmtLatLng } from './coords.js';
import { $, status, fail } from './dom.js';
import { getJSON } from './http.js';
import { showExposure } from './exposure.js';
import { substanceOf } from './inventory.js';
import { isCompact, setSheet } from './layout.js';
import { updateHash } from './permalink.js';
import { runRescue } from './rescue.js';
import { exportButtons, fitResult, startResult } from './results.js';
import { query, scenarioParams } from './scenario.js';
import { focusGroup, state } from './state.js';

var pin = null;

function showPin(lat, lon) {
  if (pin) { focusGroup.removeLayer(pin); }
  pin = L.circleMarker([lat, lon], { radius: 8, color: '#67000d', weight: 3, fillColor: '#ef3b2c', fillOpacity: 0.9, interactive: false });
  focusGroup.addLayer(pin);
}

/* The point is chosen: the form opens (on a phone the sheet rises to half height). */
export function openWhatIf(latlng) {
  state.whatifPoint = { lat: latlng.lat, lon: latlng.lng };
  $('wi-point').textContent = fmtLatLng(latlng);
  $('wi-run').disabled = false;
  showPin(latlng.lat, latlng.lng);
  var panel = $('panel-whatif');
  panel.open = true;
  if (isCompact()) { setSheet('half'); }
  setTimeout(function () {                  // focus the first field, unless the person has already moved into the form
    panel.scrollIntoView({ block: 'start' });
    if (!panel.contains(document.activeElement)) { $('wi-substance').focus({ preventScroll: true }); }
  }, 50);
}

function readForm() {
  var p = state.whatifPoint;
  if (!p) { throw new Error('先在地图上选点 first pick a point on the map (click, tap or long-press → 假设泄漏 What-if)'); }
  var name = $('wi-substance').value.trim(), q = parseFloat($('wi-quantity').value);
  var s = substanceOf(name);
  if (!s) { throw new Error('物质未知 unknown substance: 从列表中选择 pick one from the list'); }
  if (!(q > 0)) { throw new Error('数量 quantity: 大于 0 的吨数 tonnes above 0'); }
  return { type: 'whatif', lon: p.lon, lat: p.lat, substance: s.key, quantity_t: q, storage: $('wi-storage').value || null,
           params: scenarioParams() };
}

export function briefUrl(a) {
  var params = L.extend({}, a.params || {});
  var qs = query(params);
  return '/reports/brief.pdf?lon=' + a.lon.toFixed(6) + '&lat=' + a.lat.toFixed(6) + '&incident=chemical&substance=' +
    encodeURIComponent(a.substance) + '&quantity_t=' + encodeURIComponent(a.quantity_t) +
    (a.storage ? '&storage=' + encodeURIComponent(a.storage) : '') + (qs ? '&' + qs : '');
}

/* Run the what-if ``a`` (from the form when not given): exposure, then the nearest rescue, both as results. */
export function whatIf(a, keepView) {
  try { a = a || readForm(); } catch (e) { status(e.message, true); return Promise.resolve(); }
  var scenario = L.extend({}, a.params || {});
  var kind = scenario.kinds || 'auto';
  delete scenario.kinds;
  var body = { point: [a.lon, a.lat], substance: a.substance, quantity_t: a.quantity_t, release_type: kind,
               scenario: scenario, receptor_features: true };
  if (a.storage) { body.storage = a.storage; }
  status('假设泄漏计算… what-if exposure');
  showPin(a.lat, a.lon);
  return getJSON('/analysis/exposure', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (doc) {
      startResult();
      state.result = doc; state.analysis = a;
      var s = substanceOf(a.substance);
      showExposure(doc, 'whatif', null, a.params, '假设泄漏 What-if — ' + (s ? s.zh + ' ' + s.en : a.substance) + ' ' + a.quantity_t + ' t');
      state.brief = { url: briefUrl(a), name: 'brief_whatif.pdf' };
      state.pdf = state.brief;                                  // the what-if's report is its one-page brief
      exportButtons(true, true);
      fitResult(keepView);
      updateHash();
      var inc = (state.config.incidents || []).some(function (i) { return i.key === 'chemical'; }) ? 'chemical' : $('incident').value;
      return runRescue({ type: 'rescue', lon: a.lon, lat: a.lat, incident: inc, k: +$('rescue-k').value || 5, by: $('rescue-by').value }, true);
    }).catch(function (e) { fail('假设泄漏失败 what-if failed', e); });
}

export function setupWhatIf() {
  $('wi-run').addEventListener('click', function () { whatIf(); });
  $('wi-substance').addEventListener('input', function () {
    var s = substanceOf($('wi-substance').value);
    $('wi-cond').textContent = s ? s.zh + ' ' + s.en + (s.qra ? '' : '') : ($('wi-substance').value ? '未知物质 unknown substance' : '');
  });
}
