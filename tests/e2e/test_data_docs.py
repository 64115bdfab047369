"""The Data Docs for the people who own the source data: built after a batch into the warehouse's
data_docs/ folder, opened in headless Chromium with every host lookup failing. They make no
network request (every asset is in the folder), are styled, and show for a bad status the rule,
the unexpected values and their count; the per-agency quarantine page lists reasons in both
languages and record keys, never personal data. The screenshot is docs/data-docs.png."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from etl import data_docs, validation
from support.report import page_requests, run_chromium
from support.validation_data import dossier, land, payment, settings_in

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("data-docs")
    raw = root / "raw"
    dossiers = [dossier(f"G09.20-20230201-{i:07d}") for i in range(40)]
    dossiers += [dossier("G09.20-20230201-0000901", TrangThaiHoSo=11, MaDonVi="000.00.07.G18"),
                 dossier("G09.20-20230201-0000902", TrangThaiHoSo=12, MaDonVi="000.00.07.G18"),
                 dossier("G09.20-20230201-0000903", TrangThaiHoSo=11, MaDonVi="000.00.04.G18"),
                 dossier("G09.20-20230201-0000904", NgayTiepNhan="31/02/2023 10:00:00")]
    payments = [payment(f"GD-{i:05d}") for i in range(10)] + [payment("GD-BAD-1", SoTien=-5)]
    manifests = [land(raw, "dossier", "2023-02-01", dossiers), land(raw, "payment", "2023-02-01", payments)]
    settings = settings_in(root)
    batch = validation.validate(settings, manifests)
    return settings.data_docs_dir, batch


def _dossier_page(folder: Path) -> Path:
    pages = sorted((folder / "validations" / "dossier").rglob("*.html"))
    assert pages, f"no dossier validation page under {folder}"
    return pages[-1]


def _section_of(page: Path, column: str) -> str:
    """The id of the page's section for one column (GX numbers them: section-1, section-2, …)."""
    match = re.search(rf'href="#(section-\d+)"[^>]*>\s*{re.escape(column)}\s*<', page.read_text(encoding="utf-8"))
    assert match, f"no section for {column} in {page.name}"
    return match.group(1)


def _hidden(dom: str, section: str) -> bool:
    """Whether the dumped DOM has the section's element hidden (jQuery's fadeOut ends in display: none)."""
    match = re.search(rf'<div[^>]*id="{section}"[^>]*>', dom)
    assert match, f"no {section} in the DOM"
    return "display: none" in match.group(0)


def test_every_page_is_offline_in_its_html(docs):
    folder, _ = docs
    pages = [p for p in folder.rglob("*.html") if "static" not in p.parts]
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'(?:src|href)="(https?://[^"]+)"', text)
        assert remote == [], f"{page.relative_to(folder)} still loads {remote[:3]}"
        assert "newsletter" not in text
        for asset in re.findall(r'(?:src|href)="([^"#?]+\.(?:js|css|png|svg))"', text):
            assert (page.parent / asset).resolve().is_file(), f"{page.name}: {asset} is not in the folder"


def test_the_validation_page_shows_the_rule_the_unexpected_values_and_their_count(docs):
    folder, _ = docs
    text = _dossier_page(folder).read_text(encoding="utf-8")
    assert "status_code" in text
    # The rule in GX's words (between 1 and 10), the unexpected values and how many.
    assert re.search(r"greater than or equal to.{0,200}1.{0,200}less than or equal to.{0,200}10", text, re.S)
    assert "11" in text and "12" in text
    assert re.search(r"3 unexpected values", text), "the count of unexpected statuses is not shown"


def test_the_quarantine_page_lists_agencies_reasons_in_both_languages_and_keys(docs):
    folder, batch = docs
    page = folder / data_docs.QUARANTINE / f"{batch.name}.html"
    text = page.read_text(encoding="utf-8")
    assert "000.00.07.G18" in text and "000.00.04.G18" in text
    assert "TrangThaiHoSo không phải số nguyên từ 1 đến 10" in text
    assert "TrangThaiHoSo is not an integer 1…10" in text
    assert "G09.20-20230201-0000901" in text and "G09.20-20230201-0000902" in text
    assert "SoTien là số âm" in text and "GD-BAD-1" in text
    # Never personal data: no applicant hash, name or record.
    assert "ab" * 32 not in text and "SoGiayToChuHoSo" not in text


def test_chromium_opens_the_docs_without_the_network_styled(docs, tmp_path):
    from PIL import Image

    folder, batch = docs
    page = _dossier_page(folder)
    net_log = tmp_path / "net-log.json"
    dump = run_chromium("--dump-dom", "--virtual-time-budget=5000", f"--log-net-log={net_log}",
                        page.as_uri(), profile=tmp_path / "profile-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    requests = page_requests(net_log)
    outside = [url for url in requests if not url.startswith("file://")]
    assert outside == [], outside
    assert all(url.startswith(folder.as_uri()) for url in requests), requests
    # The page's scripts ran: the unexpected values table was built by the local table script.
    assert "status_code" in dump.stdout and "<tbody>" in dump.stdout

    # Opened at #failed, the dossier page shows the failed rules only: status_code's, not agency_code's.
    failed = run_chromium("--dump-dom", "--virtual-time-budget=5000", f"{page.as_uri()}{data_docs.FAILED_VIEW}",
                          profile=tmp_path / "profile-failed")
    assert failed.returncode == 0, failed.stderr[-2000:]
    assert _hidden(failed.stdout, _section_of(page, "agency_code"))
    assert not _hidden(failed.stdout, _section_of(page, "status_code"))

    for name, url in (("docs", f"{page.as_uri()}{data_docs.FAILED_VIEW}"), ("index", (folder / "index.html").as_uri()),
                      ("quarantine", (folder / data_docs.QUARANTINE / f"{batch.name}.html").as_uri())):
        png = tmp_path / f"{name}.png"
        shot = run_chromium(f"--screenshot={png}", "--window-size=1280,1600", "--virtual-time-budget=5000",
                            url, profile=tmp_path / f"profile-{name}")
        assert png.exists(), shot.stderr[-2000:]
        image = Image.open(png).convert("RGB")
        # Styled: Bootstrap's colours are on the page, not only black text on white.
        colours = {image.getpixel((x, y)) for x in range(0, 1280, 16) for y in range(0, 1600, 16)}
        assert len(colours) > 8, f"{name}: the page looks unstyled ({len(colours)} colours)"
        if name == "docs" and os.environ.get("TTHC_WRITE_SCREENSHOT"):
            shutil.copy(png, REPO / "docs" / "data-docs.png")
