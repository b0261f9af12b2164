/* The coordinate readout under the mouse. */
import { fmtLatLng } from './coords.js';
import { $ } from './dom.js';
import { map } from './state.js';

export var readout = L.control({ position: 'bottomleft' });
readout.onAdd = function () { var d = L.DomUtil.create('div', 'rm-status rm-coords'); d.id = 'coords'; d.textContent = '—'; return d; };
readout.addTo(map);
map.on('mousemove', function (e) { $('coords').textContent = fmtLatLng(e.latlng); });
