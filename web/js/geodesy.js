/* Geodesic distance and area on WGS84 (pure functions). */

/* Geodesic distance on WGS84: Vincenty (1975) inverse formula (Survey Review 23(176):88-93). */
export var WGS = { a: 6378137, f: 1 / 298.257223563 };
WGS.b = WGS.a * (1 - WGS.f);
export function geodesicDistance(p, q) {
  var a = WGS.a, b = WGS.b, f = WGS.f, rad = Math.PI / 180;
  var L1 = (q.lng - p.lng) * rad, U1 = Math.atan((1 - f) * Math.tan(p.lat * rad)), U2 = Math.atan((1 - f) * Math.tan(q.lat * rad));
  var sU1 = Math.sin(U1), cU1 = Math.cos(U1), sU2 = Math.sin(U2), cU2 = Math.cos(U2);
  var lam = L1, lamP, iter = 0, sSig, cSig, sig, cosSqA, cos2SM, sinLam, cosLam;
  do {
    sinLam = Math.sin(lam); cosLam = Math.cos(lam);
    sSig = Math.sqrt(Math.pow(cU2 * sinLam, 2) + Math.pow(cU1 * sU2 - sU1 * cU2 * cosLam, 2));
    if (sSig === 0) { return 0; }
    cSig = sU1 * sU2 + cU1 * cU2 * cosLam;
    sig = Math.atan2(sSig, cSig);
    var sinA = cU1 * cU2 * sinLam / sSig;
    cosSqA = 1 - sinA * sinA;
    cos2SM = cosSqA !== 0 ? cSig - 2 * sU1 * sU2 / cosSqA : 0;
    var C = f / 16 * cosSqA * (4 + f * (4 - 3 * cosSqA));
    lamP = lam;
    lam = L1 + (1 - C) * f * sinA * (sig + C * sSig * (cos2SM + C * cSig * (-1 + 2 * cos2SM * cos2SM)));
  } while (Math.abs(lam - lamP) > 1e-12 && ++iter < 200);
  var uSq = cosSqA * (a * a - b * b) / (b * b);
  var A = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
  var B = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
  var dSig = B * sSig * (cos2SM + B / 4 * (cSig * (-1 + 2 * cos2SM * cos2SM) -
    B / 6 * cos2SM * (-3 + 4 * sSig * sSig) * (-3 + 4 * cos2SM * cos2SM)));
  return b * A * (sig - dSig);
}

/* Geodesic polygon area: latitudes mapped to authalic latitudes (equal-area map of the WGS84
 * ellipsoid onto the sphere of radius R_q; Snyder 1987, Map Projections, eqs. 3-11, 3-12), then the
 * spherical polygon area of Chamberlain & Duquette (2007, JPL Publication 07-03). */
export function authalic(latRad) {
  var e2 = WGS.f * (2 - WGS.f), e = Math.sqrt(e2);
  function q(s) { return (1 - e2) * (s / (1 - e2 * s * s) - Math.log((1 - e * s) / (1 + e * s)) / (2 * e)); }
  return Math.asin(q(Math.sin(latRad)) / q(1));
}
export function geodesicArea(pts) {
  var e2 = WGS.f * (2 - WGS.f), e = Math.sqrt(e2), rad = Math.PI / 180;
  var qp = 1 - (1 - e2) / (2 * e) * Math.log((1 - e) / (1 + e));
  var R = WGS.a * Math.sqrt(qp / 2), sum = 0;
  var ring = densify(pts);
  for (var i = 0; i < ring.length; i++) {
    var p = ring[i], q = ring[(i + 1) % ring.length];
    sum += (q.lng - p.lng) * rad * (2 + Math.sin(authalic(p.lat * rad)) + Math.sin(authalic(q.lat * rad)));
  }
  return Math.abs(sum * R * R / 2);
}

/* The ring with every edge split into great-circle pieces of at most ~1 km: the trapezoid sum above is
 * exact only in the limit of short edges (it follows each edge along a rhumb line, not the geodesic;
 * a 200 km box was 2 % off), so long clicked edges are followed along the great circle first. */
export var AREA_STEP_M = 1000;
function densify(pts) {
  var out = [], rad = Math.PI / 180;
  for (var i = 0; i < pts.length; i++) {
    var p = pts[i], q = pts[(i + 1) % pts.length];
    var n = Math.min(1000, Math.max(1, Math.ceil(geodesicDistance(p, q) / AREA_STEP_M)));
    var a = unit(p.lat * rad, p.lng * rad), b = unit(q.lat * rad, q.lng * rad);
    var w = Math.acos(Math.max(-1, Math.min(1, a[0] * b[0] + a[1] * b[1] + a[2] * b[2])));
    out.push(p);
    for (var k = 1; k < n && w > 1e-12; k++) {
      var t = k / n, s0 = Math.sin((1 - t) * w) / Math.sin(w), s1 = Math.sin(t * w) / Math.sin(w);
      var x = s0 * a[0] + s1 * b[0], y = s0 * a[1] + s1 * b[1], z = s0 * a[2] + s1 * b[2];
      var lng = Math.atan2(y, x) / rad;
      // keep longitudes continuous along the edge (no wrap between p and q)
      while (lng - p.lng > 180) { lng -= 360; }
      while (lng - p.lng < -180) { lng += 360; }
      out.push({ lat: Math.atan2(z, Math.sqrt(x * x + y * y)) / rad, lng: lng });
    }
  }
  return out;
}
function unit(lat, lng) { return [Math.cos(lat) * Math.cos(lng), Math.cos(lat) * Math.sin(lng), Math.sin(lat)]; }

export function fmtDistance(m) { return m >= 1000 ? (m / 1000).toFixed(3) + ' km' : m.toFixed(1) + ' m'; }
export function fmtArea(a) { return a >= 1e6 ? (a / 1e6).toFixed(4) + ' km²' : a.toFixed(0) + ' m²'; }
