/* Jurisdictions and the audit trail in the viewer (issue 20).
 *
 * - The badge (a map control, #jurisdiction-badge) shows the caller's scope as GET /identity answers it: the
 *   admin area's name and GB/T 2260 code, and the role; it follows the API key box.
 * - Each feature popup gets "编辑 Edit" and "历史 History". Editing needs an editor key whose jurisdiction holds
 *   the feature (its admin_code starts with the caller's code, as the service decides): otherwise the controls
 *   are greyed and a Chinese line says why. The service enforces the same rule (403/404); greying only saves
 *   a person a refused request.
 * - History lists the feature's recorded writes (GET …/items/{id}/history: who, when, what changed); each
 *   version but the current one can be restored (POST …/items/{id}/restore?version=&state=), after which the
 *   layer is reloaded so the map shows the restored feature. */
import { $, esc, status } from './dom.js';
import { getJSON } from './http.js';
import { map, state, viewer } from './state.js';

var ROLE_ZH = { admin: '管理员', editor: '编辑', viewer: '只读', sensor: '传感器' };
var LEVEL_ZH = { 2: '省级', 4: '市级', 6: '县级' };
var ACTION_ZH = { create: '新建', replace: '修改', delete: '删除', restore: '恢复', load: '导入', sync: '同步',
                  recompute: '重算', acknowledge: '确认', upload: '上传' };
var EDITORS = ['editor', 'admin'];

function itemUrl(layer, id) { return '/collections/' + encodeURIComponent(layer) + '/items/' + encodeURIComponent(id); }

/* Whether a jurisdiction (a code prefix, '' = the whole service) holds a feature with this admin code. */
export function covers(jurisdiction, code) {
  return !jurisdiction || (code !== null && code !== undefined && String(code).indexOf(jurisdiction) === 0);
}

function scopeName(me) {
  if (!me.jurisdiction) { return '全部辖区'; }
  return (me.name || '辖区') + '（' + me.jurisdiction + '）';
}

/* Why the caller may not edit this feature (a Chinese sentence), or null when it may. */
export function editBlock(f) {
  var me = state.identity;
  if (!me || !me.role) { return '只读：未输入 API key，不能编辑（在「API key」中输入编辑密钥）'; }
  if (EDITORS.indexOf(me.role) < 0) {
    return '只读：当前角色「' + (ROLE_ZH[me.role] || me.role) + '」无编辑权限，需要编辑（editor）密钥';
  }
  var code = f.properties ? f.properties.admin_code : null;
  if (!covers(me.jurisdiction, code)) {
    return '只读：该要素属于 ' + (code ? '行政区 ' + code : '辖区外区域') + '，不在您的辖区 ' + scopeName(me) + ' 内，不能编辑';
  }
  return null;
}

function renderBadge(me, err) {
  var el = $('jurisdiction-badge');
  if (!el) { return; }
  var text, cls = 'jur-badge';
  if (err) { text = '密钥无效 key refused'; cls += ' jur-bad'; }
  else if (!me.role) { text = '匿名 · 只读'; cls += ' jur-anon'; }
  else {
    text = '辖区 ' + scopeName(me) + (me.jurisdiction ? ' · ' + (LEVEL_ZH[me.jurisdiction.length] || '') : '') +
      ' · ' + (ROLE_ZH[me.role] || me.role);
    if (me.can_edit) { cls += ' jur-edit'; }
  }
  el.className = cls;
  el.textContent = text;
  el.title = err ? err.message : (me.subject + ' · ' + (me.jurisdiction || '全部 whole service') + ' · ' + (me.role || 'anonymous'));
  el.dataset.jurisdiction = me ? me.jurisdiction : '';
  el.dataset.role = me && me.role ? me.role : '';
}

export function loadIdentity() {
  return getJSON('/identity').then(function (me) { state.identity = me; renderBadge(me); return me; })
    .catch(function (e) { state.identity = null; renderBadge(null, e); return null; });
}

/* Reload a catalogue layer's features in view (after an edit or a restore, or another key). */
export function refreshLayer(name) {
  var layer = state.layers[name];
  if (layer && layer._update) { layer._stale = false; layer._update(); }
}

export function setupJurisdiction() {
  var Badge = L.Control.extend({
    options: { position: 'topright' },
    onAdd: function () {
      var el = L.DomUtil.create('div', 'jur-badge');
      el.id = 'jurisdiction-badge';
      el.setAttribute('role', 'status');
      L.DomEvent.disableClickPropagation(el);
      return el;
    }
  });
  map.addControl(new Badge());
  $('api-key').addEventListener('change', function () {
    loadIdentity().then(function () { map.closePopup(); Object.keys(state.layers).forEach(refreshLayer); });
  });
  viewer.loadIdentity = loadIdentity;
  return loadIdentity();
}

/* The open popup re-measured after its content grew (not update(): that would rebuild the content). */
function popupChanged(body) {
  var content = body && body.closest ? body.closest('.leaflet-popup-content') : null;
  if (content) { content.classList.add('audit-open'); }     // the attribute table folds away for the form/history
  var p = map._popup;
  if (p && p._container) { p._updateLayout(); p._updatePosition(); if (p._adjustPan) { p._adjustPan(); } }
}

function button(label, cls, fn, why) {
  var b = document.createElement('button');
  b.type = 'button'; b.className = cls; b.innerHTML = label;
  if (why) { b.disabled = true; b.title = why; }
  b.addEventListener('click', function (ev) { L.DomEvent.stopPropagation(ev); fn(b); });
  return b;
}

/* The popup's edit and history controls for a catalogue feature. */
export function auditControls(meta, f) {
  var box = document.createElement('div');
  box.className = 'audit-box';
  if (!f || !f.properties || f.id === undefined) { return box; }
  var why = editBlock(f);
  box.dataset.editable = why ? '0' : '1';
  var row = document.createElement('div');
  row.className = 'actions';
  var body = document.createElement('div');
  body.className = 'audit-body';
  row.appendChild(button('<i class="fa-solid fa-pen"></i> 编辑 Edit', 'btn-edit', function () { editForm(meta, f, body); }, why));
  row.appendChild(button('<i class="fa-solid fa-clock-rotate-left"></i> 历史 History', 'btn-history',
    function () { history(meta, f, body); }));
  box.appendChild(row);
  if (why) {
    var p = document.createElement('p');
    p.className = 'audit-why';
    p.textContent = why;
    box.appendChild(p);
  }
  box.appendChild(body);
  return box;
}

function editable(meta) {
  return meta.popup.filter(function (a) { return a.name !== 'admin_code' && a.name !== 'id'; });
}

function editForm(meta, f, body) {
  body.innerHTML = '';
  var form = document.createElement('form');
  form.className = 'audit-edit';
  form.innerHTML = editable(meta).map(function (a) {
    var v = f.properties[a.name];
    var text = v === null || v === undefined ? '' : (typeof v === 'object' ? JSON.stringify(v) : String(v));
    var input = a.type === 'json' ? '<textarea name="' + esc(a.name) + '" rows="3">' + esc(text) + '</textarea>'
      : '<input name="' + esc(a.name) + '" value="' + esc(text) + '">';
    return '<label>' + esc(a.label) + input + '</label>';
  }).join('') + '<div class="actions"><button type="submit" class="btn-save">保存 Save</button></div>';
  form.addEventListener('submit', function (ev) { ev.preventDefault(); save(meta, f, form); });
  body.appendChild(form);
  popupChanged(body);
}

function formValue(a, text, old) {
  if (text === '') { return null; }
  if (a.type === 'json') { return JSON.parse(text); }
  if (typeof old === 'number' || a.type === 'number' || a.type === 'integer') {
    var n = Number(text);
    if (isNaN(n)) { throw new Error(a.label + '：不是数字'); }
    return n;
  }
  if (typeof old === 'boolean') { return text === 'true' || text === '是'; }
  return text;
}

function save(meta, f, form) {
  var changes = {};
  try {
    editable(meta).forEach(function (a) {
      var el = form.elements[a.name];
      if (el) { changes[a.name] = formValue(a, el.value.trim(), f.properties[a.name]); }
    });
  } catch (e) { status('输入有误 invalid input: ' + e.message, true); return; }
  var url = itemUrl(meta.name, f.id);
  getJSON(url).then(function (full) {
    Object.keys(changes).forEach(function (k) { full.properties[k] = changes[k]; });
    return getJSON(url, { method: 'PUT', body: JSON.stringify(full),
                          headers: { 'Content-Type': 'application/geo+json' } });
  }).then(function () {
    status('已保存 saved: ' + meta.title + ' #' + f.id);
    map.closePopup();
    refreshLayer(meta.name);
  }).catch(function (e) { status('保存失败 save failed — ' + e.message, true); });
}

function diff(meta, before, after) {
  var labels = {};
  meta.popup.forEach(function (a) { labels[a.name] = a.label; });
  var b = (before && before.properties) || {}, a = (after && after.properties) || {};
  return Object.keys(L.extend({}, b, a)).filter(function (k) {
    return k !== 'admin_code' && JSON.stringify(b[k]) !== JSON.stringify(a[k]);
  }).slice(0, 4).map(function (k) {
    function show(v) { var t = v === undefined || v === null ? '—' : (typeof v === 'object' ? JSON.stringify(v) : String(v)); return t.length > 40 ? t.slice(0, 39) + '…' : t; }
    return (labels[k] || k) + '：' + show(b[k]) + ' → ' + show(a[k]);
  });
}

/* The history as versions: the feature after each write (newest first), and before the oldest write. */
function versions(records) {
  var out = records.map(function (r, i) {
    return { seq: r.seq, state: 'after', feature: r.after, record: r, current: i === 0 };
  });
  var oldest = records[records.length - 1];
  if (oldest && oldest.before) {
    out.push({ seq: oldest.seq, state: 'before', feature: oldest.before, record: null, current: false });
  }
  return out;
}

function history(meta, f, body) {
  body.innerHTML = '<div class="muted">历史加载中 loading history…</div>';
  popupChanged(body);
  getJSON(itemUrl(meta.name, f.id) + '/history?limit=20').then(function (doc) {
    var why = editBlock(f);
    body.innerHTML = '';
    var list = document.createElement('ol');
    list.className = 'audit-history';
    if (!doc.versions.length) { body.innerHTML = '<div class="muted">无修改记录 no recorded writes</div>'; popupChanged(body); return; }
    versions(doc.versions).forEach(function (v) {
      var li = document.createElement('li');
      li.dataset.seq = v.seq; li.dataset.state = v.state;
      var r = v.record;
      var head = r ? '#' + r.seq + ' ' + (ACTION_ZH[r.action] || r.action) + ' · ' + String(r.at).replace('T', ' ').slice(0, 19) +
        ' · ' + r.who + (r.jurisdiction ? '（' + r.jurisdiction + '）' : '') : '原始版本 original（#' + v.seq + ' 之前 before）';
      var name = v.feature && v.feature.properties ? v.feature.properties.name : null;
      li.innerHTML = '<div class="audit-head">' + esc(head) + '</div>' +
        (name ? '<div class="audit-name">名称：' + esc(name) + '</div>' : '') +
        (r ? diff(meta, r.before, r.after).map(function (t) { return '<div class="audit-diff">' + esc(t) + '</div>'; }).join('') : '');
      if (v.current) {
        li.insertAdjacentHTML('beforeend', '<span class="muted">当前版本 current</span>');
      } else if (v.feature) {
        li.appendChild(button('<i class="fa-solid fa-rotate-left"></i> 恢复此版本 restore', 'btn-restore',
          function (b) { restoreVersion(meta, f, v, b); }, why));
      }
      list.appendChild(li);
    });
    body.appendChild(list);
    popupChanged(body);
  }).catch(function (e) { body.innerHTML = '<div class="error">' + esc('历史加载失败 history failed — ' + e.message) + '</div>'; popupChanged(body); });
}

function restoreVersion(meta, f, v, b) {
  b.disabled = true;
  var url = itemUrl(meta.name, f.id) + '/restore?version=' + encodeURIComponent(v.seq) + '&state=' + v.state;
  getJSON(url, { method: 'POST' }).then(function (doc) {
    var name = doc.restored && doc.restored.properties ? doc.restored.properties.name : '';
    status('已恢复 restored: ' + meta.title + ' #' + f.id + (name ? ' ' + name : '') + '（版本 #' + v.seq + '）');
    state.lastRestore = { layer: meta.name, id: f.id, version: v.seq, state: v.state };
    map.closePopup();
    refreshLayer(meta.name);
  }).catch(function (e) { b.disabled = false; status('恢复失败 restore failed — ' + e.message, true); });
}

/* Crossing a border (rescue and exposure answers, metadata.border): a Chinese line on each team or zone of
 * another jurisdiction (shown in its popup as 跨辖区) and the answer's note for the result panel (HTML). */
export function borderNote(doc) {
  var b = (doc.metadata || {}).border;
  if (!b || !b.crosses) { return ''; }
  var names = {};
  (b.other_jurisdictions || []).forEach(function (o) { names[o.code] = (o.name || '行政区') + '（' + o.code + '）'; });
  doc.features.forEach(function (f) {
    var p = f.properties || {};
    if (p.kind === 'team' && p.other_jurisdiction) {
      p.border_zh = '属' + (names[p.admin_code] || p.admin_code) + '，不在事故点所在辖区，调派须经属地应急管理部门协调';
    } else if (p.feature_type === 'zone' && (p.other_jurisdictions || []).length) {
      p.border_zh = '波及' + p.other_jurisdictions.map(function (c) { return names[c] || c; }).join('、');
    }
  });
  return '<div class="rm-alert border-note" data-crosses="1">' + esc(b.note_zh) + '</div>';
}
