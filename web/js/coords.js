/* Coordinates: D°M′S″ formatting and parsing of what people type (pure functions). */

export function dms(v, pos, neg) {
  var h = v >= 0 ? pos : neg, a = Math.abs(v), d = Math.floor(a), mf = (a - d) * 60, m = Math.floor(mf);
  var s = (mf - m) * 60;
  if (s >= 59.95) { s = 0; m += 1; }
  if (m >= 60) { m = 0; d += 1; }
  return d + '°' + String(m).padStart(2, '0') + '′' + s.toFixed(1).padStart(4, '0') + '″' + h;
}
export function fmtLatLng(ll) {
  return ll.lat.toFixed(5) + ', ' + ll.lng.toFixed(5) + '  (' + dms(ll.lat, 'N', 'S') + ' ' + dms(ll.lng, 'E', 'W') + ')';
}

/* Coordinates as typed by people: "43.85, 126.55", "126.55 43.85" (a value above 90 is the
 * longitude), "43°51′00″N 126°33′00″E", "N43 51.5 E126 33", "北纬43度51分 东经126度33分". */
export var HEMI = { '北纬': 'N', '南纬': 'S', '东经': 'E', '西经': 'W', '北': 'N', '南': 'S', '东': 'E', '西': 'W' };

export function parseOne(s) {
  var h = (s.match(/[NSEW]/) || [null])[0];
  var nums = s.match(/-?\d+(?:\.\d+)?/g) || [];
  if (!nums.length || nums.length > 3) { return null; }
  if (nums.length > 1 && nums.slice(0, -1).some(function (n) { return n.indexOf('.') >= 0; })) { return null; }
  var d = parseFloat(nums[0]), m = nums.length > 1 ? parseFloat(nums[1]) : 0, sec = nums.length > 2 ? parseFloat(nums[2]) : 0;
  if (m >= 60 || sec >= 60 || m < 0 || sec < 0) { return null; }
  var v = Math.abs(d) + m / 60 + sec / 3600;
  if (d < 0 || h === 'S' || h === 'W') { v = -v; }
  return { v: v, h: h };
}

export function parseCoords(text) {
  var t = String(text || '').trim().toUpperCase().replace(/北纬|南纬|东经|西经|北|南|东|西/g, function (m) { return HEMI[m]; });
  if (!t) { return null; }
  var groups;
  if (/[,;，；]/.test(t)) { groups = t.split(/[,;，；]/); }
  else if (/[NSEW]/.test(t)) { groups = /^[NSEW]/.test(t) ? t.split(/(?=[NSEW])/) : t.split(/(?<=[NSEW])/); }
  else {
    var nums = t.match(/-?\d+(?:\.\d+)?/g) || [];
    if (nums.length % 2 || !nums.length || nums.length > 6) { return null; }
    var half = nums.length / 2;
    groups = [nums.slice(0, half).join(' '), nums.slice(half).join(' ')];
  }
  groups = groups.filter(function (g) { return /\d/.test(g); });
  if (groups.length !== 2) { return null; }
  var parts = groups.map(parseOne);
  if (!parts[0] || !parts[1]) { return null; }
  var lat, lng;
  if (parts[0].h === 'E' || parts[0].h === 'W' || parts[1].h === 'N' || parts[1].h === 'S') {
    lng = parts[0].v; lat = parts[1].v;
  } else if (!parts[0].h && !parts[1].h && Math.abs(parts[0].v) > 90) {
    lng = parts[0].v; lat = parts[1].v;
  } else { lat = parts[0].v; lng = parts[1].v; }
  if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) { return null; }
  return L.latLng(lat, lng);
}
