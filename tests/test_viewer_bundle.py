# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""The viewer's module bundle (issue 19): one minified file built by setup_web_assets.sh with esbuild, served
in place of web/main.js only while it was built from the current sources (gis_service/maps/bundle.py).

* freshness: a copy of web/'s sources with a sums file — an edited, added or removed module, a missing bundle
  or sums file each make the page fall back to the modules;
* the checkout: ``bash scripts/setup_web_assets.sh`` (CI runs it; run here again) leaves a fresh bundle, so a
  change to the module list in the script or in bundle.py that lets them drift apart fails here;
* in Chromium: the page with the bundle loads one viewer script (no /viewer/js/ module) and the page with
  GIS_VIEWER_BUNDLE=false loads the modules; both become ready with no console error.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import ServerProcess
from test_browser_maps import Watched, browser  # noqa: F401 - shared fixtures

from gis_service.maps import bundle

WEB = Path(__file__).resolve().parent.parent / "web"
ESBUILD = WEB / "node_modules" / ".bin" / "esbuild"


def _web_copy(tmp_path: Path) -> Path:
    web = tmp_path / "web"
    (web / "js").mkdir(parents=True)
    (web / "dist").mkdir()
    for name in bundle.sources(WEB):
        shutil.copyfile(WEB / name, web / name)
    (web / bundle.BUNDLE).write_text("export {};\n")
    lines = [f"{hashlib.sha256((web / n).read_bytes()).hexdigest()}  {n}" for n in bundle.sources(web)]
    (web / bundle.SUMS).write_text("\n".join(lines) + "\n")
    return web


def test_index_has_one_module_entry_and_main_imports_the_former_entries():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<script type="module" src="([^"]+)"', html) == [bundle.ENTRY_URL]
    main = (WEB / bundle.ENTRY).read_text(encoding="utf-8")
    assert re.findall(r"^import '([^']+)';", main, re.M) == ["./viewer.js", "./monitoring.js", "./js/replay.js",
                                                              "./js/incidents.js"]


def test_fresh_bundle_is_used_and_any_source_change_makes_it_stale(tmp_path):
    web = _web_copy(tmp_path)
    url = bundle.bundle_url(web)
    digest = hashlib.sha256(b"export {};\n").hexdigest()[:12]
    assert url == f"/viewer/dist/viewer.bundle.js?v={digest}"
    html = bundle.page_html((WEB / "index.html").read_text(encoding="utf-8"), url)
    assert f'src="{url}"' in html and bundle.ENTRY_URL not in html
    assert bundle.page_html("<x src=\"/viewer/main.js\">", None) == "<x src=\"/viewer/main.js\">"

    state = web / "js" / "state.js"
    original = state.read_bytes()
    state.write_bytes(original + b"\n// edited\n")
    assert bundle.bundle_url(web) is None                         # an edited module
    state.write_bytes(original)
    assert bundle.bundle_url(web) == url                          # the same bytes again: fresh
    (web / "js" / "extra.js").write_text("export var x = 1;\n")
    assert bundle.bundle_url(web) is None                         # a module the bundle never saw
    (web / "js" / "extra.js").unlink()
    assert bundle.bundle_url(web) == url
    (web / "js" / "dom.js").rename(web / "dom.js.bak")
    assert bundle.bundle_url(web) is None                         # a module gone
    (web / "dom.js.bak").rename(web / "js" / "dom.js")
    (web / bundle.BUNDLE).unlink()
    assert bundle.bundle_url(web) is None                         # no bundle
    (web / bundle.BUNDLE).write_text("export {};\n")
    (web / bundle.SUMS).unlink()
    assert bundle.bundle_url(web) is None                         # no sums


@pytest.mark.skipif(not ESBUILD.exists(), reason="web assets not installed (scripts/setup_web_assets.sh)")
def test_setup_builds_a_fresh_bundle_of_every_source():
    # the script CI runs (idempotent: nothing installed when node_modules matches the lock; the build is < 1 s)
    subprocess.run(["bash", str(WEB.parent / "scripts" / "setup_web_assets.sh")], check=True, timeout=600,
                   capture_output=True)
    url = bundle.bundle_url()
    assert url, "setup_web_assets.sh left web/dist/viewer.bundle.js missing or stale"
    listed = [line.split("  ", 1)[1] for line in (WEB / bundle.SUMS).read_text().splitlines()]
    assert sorted(listed) == sorted(bundle.sources())
    text = (WEB / bundle.BUNDLE).read_text(encoding="utf-8")
    assert "\n" not in text.strip() or len(text.splitlines()) < 20   # minified
    assert "sourceMappingURL" not in text and "import " not in text[:200]   # one file, nothing left to fetch


def _visit(browser, srv) -> list[str]:
    w = Watched(browser, (srv.url,))
    w.page.goto(f"{srv.url}/viewer")
    w.page.wait_for_selector("body[data-ready='1']")
    w.page.wait_for_timeout(300)
    assert w.page.evaluate("() => !!(window.monitoring && window.viewer.map)")   # monitoring.js ran after the viewer
    w.check_clean()
    w.context.close()
    return w.requests


@pytest.mark.browser
@pytest.mark.skipif(not ESBUILD.exists(), reason="web assets not installed (scripts/setup_web_assets.sh)")
def test_viewer_runs_from_the_bundle_and_from_the_modules(browser, sample_gpkg, tmp_path):
    path = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "", "GIS_API_KEYS": "",
           "GIS_READ_REQUIRES_KEY": "false"}
    with ServerProcess(env) as srv:
        page = urllib.request.urlopen(f"{srv.url}/viewer").read().decode()
        assert "/viewer/dist/viewer.bundle.js?v=" in page and bundle.ENTRY_URL not in page
        requests = _visit(browser, srv)
        assert [u for u in requests if "/viewer/dist/viewer.bundle.js" in u]
        assert not [u for u in requests if "/viewer/js/" in u or u.endswith("/viewer/viewer.js")]
    with ServerProcess({**env, "GIS_VIEWER_BUNDLE": "false"}) as srv:
        requests = _visit(browser, srv)
        assert not [u for u in requests if "/viewer/dist/" in u]
        modules = [u for u in requests if "/viewer/js/" in u]
        assert len(modules) >= 30 and any(u.endswith("/viewer/js/incidents.js") for u in modules)
