/* The exposure scenario panel: wind direction, Pasquill stability from the sky, the query string. */
import { $ } from './dom.js';
import { state } from './state.js';

export var COMPASS = { N: 0, NNE: 22.5, NE: 45, ENE: 67.5, E: 90, ESE: 112.5, SE: 135, SSE: 157.5, S: 180, SSW: 202.5, SW: 225,
  WSW: 247.5, W: 270, WNW: 292.5, NW: 315, NNW: 337.5, '北': 0, '东北': 45, '东': 90, '东南': 135, '南': 180, '西南': 225, '西': 270, '西北': 315,
  '北东北': 22.5, '东东北': 67.5, '东东南': 112.5, '南东南': 157.5, '南西南': 202.5, '西西南': 247.5, '西西北': 292.5, '北西北': 337.5 };

export function windFrom(text) {
  var t = String(text || '').trim().replace(/风$/, '').toUpperCase();
  if (!t) { return null; }
  if (Object.prototype.hasOwnProperty.call(COMPASS, t)) { return COMPASS[t]; }
  var v = parseFloat(t);
  if (isNaN(v) || !/^-?\d+(\.\d+)?°?$/.test(t) || v < 0 || v > 360) { return NaN; }
  return v;
}


/* Pasquill stability class from day/night, cloud cover and wind speed: Turner (1970), Workbook of
 * Atmospheric Dispersion Estimates, Table 1 (after Pasquill 1961). Insolation by day from the cloud
 * cover (0–2 oktas strong, 3–5 moderate, 6–7 slight) [M]; 8 oktas is overcast, class D day or night;
 * a two-class cell (e.g. A–B) takes the more stable class (longer toxic zones) [M]. */
export var DAY = [['A', 'B', 'B'], ['B', 'B', 'C'], ['B', 'C', 'C'], ['C', 'D', 'D'], ['C', 'D', 'D']];
export var NIGHT = [['F', 'F'], ['E', 'F'], ['D', 'E'], ['D', 'D'], ['D', 'D']];
export function stabilityFromSky(day, oktas, speed) {
  if (oktas >= 8) { return 'D'; }
  var row = speed < 2 ? 0 : speed < 3 ? 1 : speed < 5 ? 2 : speed < 6 ? 3 : 4;
  if (day) { return DAY[row][oktas <= 2 ? 0 : oktas <= 5 ? 1 : 2]; }
  return NIGHT[row][oktas >= 4 ? 0 : 1];
}

export function scenarioParams() {
  var p = {}, wind = windFrom($('sc-wind-from').value);
  if (wind !== null && isNaN(wind)) { throw new Error('风向 wind from: 0–360° 或方位 N/NE/… 北/东北/…'); }
  if (wind !== null) { p.wind_dir_deg = wind; }
  var preset = $('sc-weather').value;
  if ((state.config.scenario || {}).weather && preset !== 'custom') {
    p.weather = preset;                          // the service's own worst / typical weather
  } else {
    var speed = parseFloat($('sc-wind-speed').value);
    if (!isNaN(speed)) { p.wind_speed_m_s = speed; }
    p.stability = $('sc-stability').value || stabilityFromSky($('sc-daynight').value === 'day', +$('sc-cloud').value || 0, speed || 1.5);
  }
  if ($('sc-kind').value) { p.kinds = $('sc-kind').value; }
  var rate = parseFloat($('sc-rate').value);
  if (!isNaN(rate) && rate > 0) { p.release_rate_g_s = rate; }
  return p;
}

export function setScenario(p) {
  p = p || {};
  $('sc-wind-from').value = p.wind_dir_deg !== undefined ? p.wind_dir_deg : '';
  if (p.wind_speed_m_s !== undefined) { $('sc-wind-speed').value = p.wind_speed_m_s; }
  if (p.stability) { $('sc-stability').value = p.stability; }
  $('sc-weather').value = p.weather || (p.stability || p.wind_speed_m_s ? 'custom' : $('sc-weather').value);
  $('sc-kind').value = p.kinds || '';
  $('sc-rate').value = p.release_rate_g_s || '';
}

export function skyNote() {
  var cls = stabilityFromSky($('sc-daynight').value === 'day', +$('sc-cloud').value || 0, parseFloat($('sc-wind-speed').value) || 1.5);
  $('sc-class-note').textContent = '昼夜+云量+风速 → 稳定度 ' + cls + '（Turner 1970 表1）' +
    ($('sc-stability').value ? '；当前使用手选 ' + $('sc-stability').value : '；当前使用 ' + cls);
}

export function query(params) {
  return Object.keys(params).map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
}
