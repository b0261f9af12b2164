/* Layout on phones and tablets: below 1024 px the map fills the screen and the side panel becomes a
 * bottom sheet with three heights (peek: its handle and title; half; full), moved by tapping or
 * swiping its handle. Everything that frames the map (fit to a result, zoom to a feature, popups'
 * auto-pan) asks focusPadding() so the feature in focus is never left under the sheet or the
 * monitoring panel. On a desktop the panel sits beside the map and nothing changes.
 * Touch: a long press on the map opens "incident here" (incident.js), as a right click does. */
import { $ } from './dom.js';
import { map } from './state.js';

var COMPACT = '(max-width: 1023px)';
var ORDER = ['peek', 'half', 'full'];
var media = window.matchMedia ? window.matchMedia(COMPACT) : { matches: false, addEventListener: function () {} };

export function isCompact() { return media.matches; }

export function sheetState() { return document.body.dataset.sheet || 'peek'; }

/* Visible height of the sheet over the map, in px (0 on a desktop). */
export function sheetHeight() {
  var attr = document.getElementById('attr-sheet');     // the full-width attribute table, when open
  var a = attr && !attr.hidden ? Math.max(0, window.innerHeight - attr.getBoundingClientRect().top) : 0;
  if (!isCompact()) { return a; }
  var side = $('side'), r = side.getBoundingClientRect();
  return Math.max(a, window.innerHeight - r.top, 0);
}

function monitoringBox() {
  var p = document.getElementById('mon-panel');
  if (!p || !p.offsetParent) { return null; }
  return p.getBoundingClientRect();
}

/* Padding for fitBounds / panInside: the sheet at the bottom, the monitoring panel at the top right
 * (when it takes more than a narrow strip of the map), plus a margin. */
export function focusPadding(margin) {
  var m = margin === undefined ? 30 : margin, mapBox = map.getContainer().getBoundingClientRect();
  var top = m, right = m, bottom = m + sheetHeight();
  var mon = monitoringBox();
  if (mon && mon.height > mapBox.height / 3 && mon.width < mapBox.width * 0.6) {
    right = Math.max(right, mapBox.right - mon.left + m);          // a tall panel at the right: keep left of it
  } else if (mon && mon.width >= mapBox.width * 0.6) {
    top = Math.max(top, mon.bottom - mapBox.top + m);              // a wide one (phone): keep below it
  }                                                                 // a small corner panel: ignored
  return { paddingTopLeft: [m, Math.min(top, mapBox.height * 0.4)],
           paddingBottomRight: [right, Math.min(bottom, mapBox.height * 0.6)] };
}

/* Pan so a point lies in the part of the map not covered by the panels. */
export function panClear(latlng) {
  var p = focusPadding(20);
  map.panInside(latlng, { paddingTopLeft: p.paddingTopLeft, paddingBottomRight: p.paddingBottomRight });
}

function applyPadding() {
  var h = sheetHeight();
  document.documentElement.style.setProperty('--sheet-h', h + 'px');
  var pad = focusPadding(10);
  L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(pad.paddingTopLeft);
  L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(pad.paddingBottomRight);
}

export function setSheet(s) {
  if (ORDER.indexOf(s) < 0) { return; }
  document.body.dataset.sheet = s;
  var t = $('sheet-toggle');
  if (t) { t.setAttribute('aria-expanded', s === 'peek' ? 'false' : 'true'); }
  // after the CSS transition: new padding for popups and fits
  setTimeout(applyPadding, 260);
  applyPadding();
}

/* A result arrived: show it in the sheet (half height), the map above it. */
export function revealResult() {
  var panel = $('panel-result');
  if (!isCompact()) { panel.scrollIntoView({ block: 'start' }); return; }
  if (sheetState() === 'peek') { setSheet('half'); }
  // once the caller has filled the panel: its top just under the handle
  setTimeout(function () { $('side').scrollTop = panel.offsetTop - $('sheet-handle').offsetHeight; }, 0);
}

function step(dir) {
  var i = ORDER.indexOf(sheetState()) + dir;
  setSheet(ORDER[Math.max(0, Math.min(ORDER.length - 1, i))]);
}

function setupHandle() {
  var handle = $('sheet-handle'), y0 = null, moved = false;
  $('sheet-toggle').addEventListener('click', function () {
    if (moved) { moved = false; return; }
    setSheet(sheetState() === 'peek' ? 'half' : 'peek');
  });
  $('sheet-full').addEventListener('click', function () { setSheet(sheetState() === 'full' ? 'half' : 'full'); });
  handle.addEventListener('touchstart', function (e) { y0 = e.touches[0].clientY; moved = false; }, { passive: true });
  handle.addEventListener('touchend', function (e) {
    if (y0 === null) { return; }
    var dy = e.changedTouches[0].clientY - y0;
    y0 = null;
    if (Math.abs(dy) > 40) { moved = true; step(dy < 0 ? 1 : -1); }
  });
}

export function setupLayout() {
  document.body.dataset.sheet = 'peek';
  document.body.classList.toggle('compact', isCompact());
  setupHandle();
  media.addEventListener('change', function () {
    document.body.classList.toggle('compact', isCompact());
    map.invalidateSize();
    applyPadding();
  });
  window.addEventListener('resize', applyPadding);
  // a popup opened from the map must not sit under a sheet pulled up to full height
  map.on('popupopen', function () { if (isCompact() && sheetState() === 'full') { setSheet('half'); } });
  applyPadding();
}
