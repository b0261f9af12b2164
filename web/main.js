/* The viewer page's one module entry (web/index.html): the viewer itself, then the modules that need its
 * window.viewer — live monitoring, the alarm replay, the incident log — in that order (ES modules run in
 * import order, as the separate <script type="module"> tags did).
 *
 * `bash scripts/setup_web_assets.sh` bundles this graph (about 40 modules) with esbuild into one minified file,
 * web/dist/viewer.bundle.js, and the service then serves the page with the bundle in this file's place
 * (gis_service/maps/bundle.py) — one request instead of a waterfall of imports before the first tile. Without
 * a bundle, or when a source changed after it was built (checked by the sources' SHA-256), the page loads
 * these modules as they are: edit and reload while developing; rerun the script to bundle again. */
import './viewer.js';
import './monitoring.js';
import './js/replay.js';
import './js/incidents.js';
