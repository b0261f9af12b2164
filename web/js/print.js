/* Print on A4: the map (with its legend and scale), then the result in the panel with its table. Leaflet draws
 * for the size the map has on screen, so the print button first gives the map its printed size (186 × 120 mm,
 * the A4 width inside 12 mm margins), redraws and fits the result, then opens the browser's print dialog; the
 * screen layout comes back after printing. Printing from the browser's menu gets the same via beforeprint. */
import { $ } from './dom.js';
import { focusPadding } from './layout.js';
import { map, resultGroup } from './state.js';

function enter() {
  if (document.body.classList.contains('printing')) { return; }
  var legend = $('viewer-legend');
  document.body.dataset.legendFolded = legend && legend.classList.contains('rm-folded') ? '1' : '';
  if (legend) { legend.classList.remove('rm-folded'); }
  Array.prototype.forEach.call(document.querySelectorAll('#result details'), function (d) { d.open = true; });
  document.body.classList.add('printing');
  map.invalidateSize({ animate: false });
  try {
    var b = resultGroup.getBounds();
    if (b.isValid()) { map.fitBounds(b, L.extend({ animate: false, maxZoom: 15 }, focusPadding(15))); }
  } catch (e) { /* nothing to fit */ }
}

function leave() {
  if (!document.body.classList.contains('printing')) { return; }
  document.body.classList.remove('printing');
  var legend = $('viewer-legend');
  if (legend && document.body.dataset.legendFolded) { legend.classList.add('rm-folded'); }
  map.invalidateSize({ animate: false });
}

export function printView() {
  enter();
  // give Leaflet a frame to draw at the new size before the dialog freezes the page
  return new Promise(function (resolve) {
    setTimeout(function () { window.print(); resolve(); }, 400);
  });
}

export function setupPrint() {
  $('print').addEventListener('click', printView);
  window.addEventListener('beforeprint', enter);
  window.addEventListener('afterprint', leave);
}
