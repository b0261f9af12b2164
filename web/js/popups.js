/* Feature popups: the analyses each feature offers, and its edit and history controls (audit.js). */
import { auditControls } from './audit.js';
import { exposure } from './exposure.js';
import { rescueForFeature } from './rescue.js';
import { risk } from './risk.js';
import { sitingPark, siting } from './siting.js';
import { map, state } from './state.js';

export function actionButtons(layerName, id) {
  var box = document.createElement('div');
  box.className = 'actions';
  function button(label, fn, cls) {
    var b = document.createElement('button');
    b.type = 'button'; b.innerHTML = label; b.className = cls;
    b.addEventListener('click', function (ev) { L.DomEvent.stopPropagation(ev); map.closePopup(); fn(); });
    box.appendChild(b);
  }
  if ((state.config.exposure_layers || []).indexOf(layerName) >= 0) {
    button('<i class="fa-solid fa-biohazard"></i> 暴露分析 Exposure', function () { exposure(layerName, id); }, 'btn-exposure');
  }
  if ((state.config.rescue_layers || []).indexOf(layerName) >= 0) {
    button('<i class="fa-solid fa-truck-medical"></i> 最近救援 Rescue', function () { rescueForFeature(layerName, id); }, 'btn-rescue');
  }
  if ((state.config.risk_layers || []).indexOf(layerName) >= 0) {
    button('<i class="fa-solid fa-chart-line"></i> 定量风险 QRA', function () { risk({ type: 'risk', layer: layerName, id: id }); }, 'btn-risk');
  }
  if (layerName === 'chemical_parks') {
    button('<i class="fa-solid fa-clipboard-check"></i> 选址检查 Siting', function () { sitingPark(id); }, 'btn-siting');
    button('<i class="fa-solid fa-chart-line"></i> 园区定量风险 QRA', function () { risk({ type: 'risk', park_id: id }); }, 'btn-risk');
  }
  return box;
}

RiskMap.popupActions = function (meta, f) {
  var wrap = document.createElement('div');
  wrap.appendChild(actionButtons(meta.name, f.id));
  if (f.properties) { wrap.appendChild(auditControls(meta, f)); }   // a result's feature (no properties) has none
  return wrap;
};
