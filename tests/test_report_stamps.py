"""Every report PDF (issue 18), not only the brief: Beijing time (UTC+8) and a document number on page 1, and
"第 n / N 页 page n of N" on every page with the true page count."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.reports import pdf
from gis_service.reports.stamp import BEIJING
from gis_service.stores.embedded import EmbeddedStore

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def client(sample_gpkg, catalog, tmp_path_factory):
    import shutil

    path = tmp_path_factory.mktemp("stamps") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    settings = Settings(store="embedded", gpkg_path=str(path), basemap_url="", api_keys="", read_requires_key=False)
    with TestClient(create_app(settings, store)) as c:
        yield c


def _pages(data: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]


def _check(pages: list[str], kind: str) -> None:
    from datetime import datetime

    n = len(pages)
    today = datetime.now(BEIJING).strftime("%Y-%m-%d")
    assert "北京时间 (UTC+8)" in pages[0] and today in pages[0] and " UTC " not in pages[0] + " "
    assert re.search(rf"RM-{kind}-\d{{8}}-\d{{4}}-[0-9a-f]{{6}}", pages[0]), pages[0][:300]
    for i, text in enumerate(pages, 1):
        assert f"第 {i} / {n} 页 page {i} of {n}" in text, (i, n, text[-200:])


@pytest.mark.parametrize("url,kind", [
    ("/reports/exposure/hazard_sources/1.pdf?wind_dir_deg=270&wind_speed_m_s=3&stability=D", "EXPOSURE"),
    ("/reports/rescue.pdf?lon=125.3&lat=43.9&incident=chemical", "RESCUE"),
    ("/reports/risk/hazard_sources/1.pdf", "QRA"),
])
def test_report_pdfs_carry_beijing_time_number_and_page_numbers(client, url, kind):
    r = client.get(url)
    assert r.status_code == 200, r.text[:300]
    _check(_pages(r.content), kind)


def test_a_long_report_numbers_every_page():
    rows = [[f"行 row {i}", "x" * 40] for i in range(400)]
    data = pdf.render(pdf.Report(title="长报告 long", kind="test", sections=[pdf.Section("表 table", table=pdf.Table(["a", "b"], rows))]))
    pages = _pages(data)
    assert len(pages) > 3
    _check(pages, "TEST")
