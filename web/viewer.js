/* The risk map viewer: the commander's and the planner's whole job in one page.
 *
 * Talks only to this service: /viewer/config.json, /maps/aggregate, /collections/.../items, the
 * /analysis endpoints and /reports (PDF). Clicking anywhere offers "incident here" (nearest rescue);
 * clicking a hazard source, tailings dam or goaf area offers exposure and rescue; a park its siting
 * check. Every result is listed in the side panel (never over the map), exportable (GeoJSON, CSV,
 * PDF) and restorable from the URL. Labels come from the service's catalogue (config.labels).
 *
 * This is the entry module: it wires the page to the modules in js/ (one job each) and publishes
 * the page's handle, window.viewer (state.js). */
import { attributeTable } from './js/attributes.js';
import { setupJurisdiction } from './js/audit.js';
import { setupBatch } from './js/batch.js';
import { setupBasemaps } from './js/basemaps.js';
import { parseCoords } from './js/coords.js';
import { $, esc, status } from './js/dom.js';
import { exposure } from './js/exposure.js';
import { exportBrief, exportCsv, exportGeojson, exportPdf } from './js/exports.js';
import { geodesicArea, geodesicDistance } from './js/geodesy.js';
import { download, getJSON } from './js/http.js';
import { goTo, pointPopup } from './js/incident.js';
import { zhEn } from './js/labels.js';
import { focusPadding, isCompact, setSheet, setupLayout } from './js/layout.js';
import { setupLayers } from './js/layers.js';
import { setupPrint } from './js/print.js';
import { refreshLegend, setupLegend } from './js/legend.js';
import { MeasureControl, startMeasure, stopMeasure } from './js/measure.js';
import { copyLink, parseHash, updateHash } from './js/permalink.js';
import './js/popups.js';
import './js/readout.js';
import { clearResult, panelView, resultsList } from './js/results.js';
import { nearestRescue, runRescue } from './js/rescue.js';
import { risk } from './js/risk.js';
import { setScenario, skyNote, stabilityFromSky, windFrom } from './js/scenario.js';
import { search } from './js/search.js';
import { setupInventory } from './js/inventory.js';
import { setupDraw, siting, sitingPark, sitingWithInventory, uploadProposal } from './js/siting.js';
import { map, state, viewer } from './js/state.js';
import { flushTiles } from './js/tiled.js';
import { setTheme, setupTheme } from './js/theme.js';
import { setupWhatIf, whatIf } from './js/whatif.js';

Object.assign(viewer, {
  zhEn: zhEn, parseCoords: parseCoords, geodesicDistance: geodesicDistance, geodesicArea: geodesicArea,
  attributeTable: attributeTable, nearestRescue: nearestRescue, pointPopup: pointPopup, goTo: goTo,
  windFrom: windFrom, stabilityFromSky: stabilityFromSky, exposure: exposure, sitingPark: sitingPark, siting: siting,
  uploadProposal: uploadProposal, startMeasure: startMeasure, stopMeasure: stopMeasure, risk: risk, search: search,
  exportPdf: exportPdf, exportBrief: exportBrief, whatIf: whatIf, updateHash: updateHash, resultsList: resultsList,
  panelNote: function (text) { panelView(); status(text); }, focusPadding: focusPadding, setSheet: setSheet, isCompact: isCompact
});
setupLayout();
setupTheme();
viewer.setTheme = setTheme;

/* A shared link's analysis, run again with the view kept. */
function restore(h) {
  if (h.v) {
    var v = h.v.split('/').map(parseFloat);
    if (v.length === 3 && v.every(function (x) { return !isNaN(x); })) { map.setView([v[1], v[2]], v[0]); }
  }
  if (h.base && viewer.useBasemap) { viewer.useBasemap(h.base); }
  if (!h.a) { return Promise.resolve(); }
  var a;
  try { a = JSON.parse(decodeURIComponent(h.a)); } catch (e) { status('链接中的分析无法读取 link analysis unreadable', true); return Promise.resolve(); }
  if (a.type === 'rescue') {
    if (a.incident) { $('incident').value = a.incident; }
    $('rescue-k').value = a.k || 5; $('rescue-by').value = a.by || 'time';
    return runRescue(a, true);
  }
  if (a.type === 'exposure') { setScenario(a.params); return exposure(a.layer, a.id, a.params, true); }
  if (a.type === 'siting_park') { return sitingPark(a.id, true); }
  if (a.type === 'risk') { return risk(a, true); }
  if (a.type === 'whatif') { setScenario(a.params); return whatIf(a, true); }
  if (a.type === 'siting') { $('siting-kind').value = a.kind || 'park'; return sitingWithInventory(a.feature, true); }
  return Promise.resolve();
}

function start(config) {
  state.config = config;
  RiskMap.fieldLabels = (config.labels || {}).fields;
  RiskMap.substanceNames = {};
  (config.substances || []).forEach(function (s) { RiskMap.substanceNames[s.key] = s.zh + ' ' + s.en; });
  if (config.basemap && config.basemap.notice) {
    var a = document.createElement('div');
    a.className = 'rm-alert';
    a.textContent = config.basemap.notice;
    $('alerts').appendChild(a);
  }
  config.layers.forEach(function (m) { state.metas[m.name] = m; });
  var h = parseHash();
  var e = config.extent || [121.6, 40.8, 131.3, 46.3];
  map.fitBounds([[e[1], e[0]], [e[3], e[2]]]);
  // the map first: the basemap and the layers, their vector tiles requested now; the panels after
  setupBasemaps(config);
  var wanted = h.layers !== undefined ? h.layers.split(',').filter(Boolean) : null;
  setupLegend();
  var layersReady = setupLayers(config, wanted);
  flushTiles();
  var sel = $('search-layer');
  sel.innerHTML = '<option value="">全部（不含道路）all but roads</option>' + config.layers.map(function (m) {
    return '<option value="' + esc(m.name) + '">' + esc(m.title) + '</option>'; }).join('');
  $('incident').innerHTML = (config.incidents || []).map(function (i) {
    return '<option value="' + esc(i.key) + '">' + esc(i.zh + ' ' + i.en) + '</option>'; }).join('');
  if ((config.incidents || []).some(function (i) { return i.key === 'chemical'; })) { $('incident').value = 'chemical'; }
  setupDraw();
  setupInventory(config);
  setupWhatIf();
  setupBatch();
  setupJurisdiction();
  map.addControl(new MeasureControl());
  $('goto-form').addEventListener('submit', goTo);
  $('search-form').addEventListener('submit', search);
  $('clear-result').addEventListener('click', function () { clearResult(); status(''); updateHash(); });
  $('export-geojson').addEventListener('click', exportGeojson);
  $('export-csv').addEventListener('click', exportCsv);
  $('export-pdf').addEventListener('click', exportPdf);
  $('export-brief').addEventListener('click', exportBrief);
  setupPrint();
  $('copy-link').addEventListener('click', copyLink);
  $('proposal-file').addEventListener('change', function (ev) { uploadProposal(ev.target.files[0]); });
  $('siting-run').addEventListener('click', function () {
    if (state.proposal) { siting(state.proposal, true); }
    else { status('先画出或上传方案 first draw or upload a proposal', true); }
  });
  $('proposal-download').addEventListener('click', function () {
    if (state.proposal) { download('proposal.geojson', new Blob([JSON.stringify(state.proposal)], { type: 'application/geo+json' })); }
  });
  $('sc-weather').addEventListener('change', function () {
    var w = $('sc-weather').value;
    if (w === 'worst') { $('sc-wind-speed').value = 1.5; $('sc-stability').value = 'F'; }
    if (w === 'typical') { $('sc-wind-speed').value = 3; $('sc-stability').value = 'D'; }
    skyNote();
  });
  ['sc-stability', 'sc-daynight', 'sc-cloud', 'sc-wind-speed'].forEach(function (id) {
    $(id).addEventListener('change', function () { if (id !== 'sc-stability' || $(id).value) { $('sc-weather').value = 'custom'; } skyNote(); });
  });
  skyNote();
  $('sc-apply').addEventListener('click', function () {
    var a = state.analysis;
    if (a && a.type === 'exposure') { exposure(a.layer, a.id); }
    else { status('先点击一个风险源并选择「暴露分析」 first click a hazard and choose Exposure', true); }
  });
  var hashTimer = null;   // the URL follows the view once the map rests, not on every step of a pan
  map.on('moveend', function () { clearTimeout(hashTimer); hashTimer = setTimeout(updateHash, 400); });
  map.on('movestart', function () { clearTimeout(hashTimer); });   // not in the middle of the next pan's frames
  layersReady.then(function () {
    refreshLegend();
    state.ready = true;
    return restore(h);
  }).then(function () {
    viewer.ready = true;
    document.body.dataset.ready = '1';
    updateHash();
  });
}

getJSON('/viewer/config.json').then(start).catch(function (e) { status('配置加载失败 config failed: ' + e.message, true); });
