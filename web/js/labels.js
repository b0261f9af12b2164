/* Labels from the service's catalogue (config.labels), Chinese with English beside. */
import { state } from './state.js';

export function zhEn(table, key) {
  var t = (state.config.labels || {})[table] || {};
  var k = key === null || key === undefined ? 'null' : String(key);
  var v = t[k];
  return v ? v.zh + ' ' + v.en : (key === null || key === undefined ? '—' : String(key));
}
export function field(key) { return zhEn('fields', key); }
