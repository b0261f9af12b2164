/* DOM helpers: element by id, HTML escaping, the status line. */

export var esc = RiskMap.esc;
export var $ = function (id) { return document.getElementById(id); };

export function status(text, isError) {
  var el = $('status');
  el.textContent = text || '';
  el.className = isError ? 'error' : '';
}

export function fail(what, e) { status(what + ' — ' + e.message, true); }
