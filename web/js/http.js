/* Talking to the service: JSON and binary fetches with the API key, problems as Errors, downloads. */
import { $ } from './dom.js';
import { state } from './state.js';

export function headers(extra) {
  var key = $('api-key').value.trim();
  RiskMap.apiKey = key || null;
  return RiskMap.headers(extra);
}

export function problemText(r, doc) {
  var msg = 'HTTP ' + r.status;
  if (doc && doc.problems && doc.problems.length) {
    msg += ': ' + doc.problems.map(function (p) { return (p.field ? p.field + ': ' : '') + p.problem; }).join('; ');
  } else if (doc && doc.description) { msg += ': ' + doc.description; }
  return msg;
}

/* fetch JSON; a non-2xx answer becomes an Error carrying the service's problems list */
export function getJSON(url, options) {
  options = options || {};
  options.headers = headers(L.extend({ Accept: 'application/json, application/geo+json' }, options.headers || {}));
  state.busy += 1;
  return fetch(url, options).then(function (r) {
    return r.text().then(function (text) {
      var doc = null;
      try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
      if (!r.ok) { var err = new Error(problemText(r, doc)); err.status = r.status; throw err; }
      return doc;
    });
  }).finally(function () { state.busy -= 1; });
}

export function getBlob(url, options) {
  options = options || {};
  options.headers = headers(options.headers || {});
  return fetch(url, options).then(function (r) {
    if (r.ok) { return r.blob(); }
    return r.text().then(function (t) {
      var doc = null;
      try { doc = JSON.parse(t); } catch (e) { doc = null; }
      throw new Error(problemText(r, doc));
    });
  });
}

export function download(name, blob) {
  var a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
