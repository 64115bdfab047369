"""The Data Docs for the people who own the source data (decisions 0071, 0072).

GX builds the pages (`suites.GxRunner.build_data_docs`); this module keeps them useful and
self-contained:

- `prune(folder)`: validation results, their pages and the quarantine pages older than
  `RETENTION_DAYS` are removed before each build, so the index lists the last 90 days of runs
  and a steward can see whether a source got better;
- `make_offline(folder)`: every page's scripts, stylesheets and images come from the folder
  itself (`static/vendor/`, copied from `etl/data_docs_assets/`): the CDN URLs GX writes are
  rewritten to relative paths, the newsletter footer and outside links are dropped;
- `write_quarantine_page(folder, run_id, rows)`: a page per batch beside the Data Docs, per
  agency: how many records were quarantined, for which reason (Vietnamese and English, from the
  suites' catalogue), and their record keys. Never personal data: the keys are dossier and
  transaction ids, the record itself is not shown.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

ASSETS = Path(__file__).resolve().parent / "data_docs_assets"
VENDOR = Path("static") / "vendor"
RESULTS = "results"            # GX validation results (JSON), one file per entity and batch
QUARANTINE = "quarantine"      # the per-agency pages
RETENTION_DAYS = 90
KEYS_SHOWN = 50                # record keys listed per agency and reason (the count is complete)

# CDN asset → local replacement (None: the tag is dropped; bootstrap.bundle carries popper).
_SCRIPTS: dict[str, str | None] = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-stub.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": None,
    "https://cdn.jsdelivr.net/npm/vega-embed@6": None,
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": None,
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.bundle.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": None,
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": None,
}
_STYLESHEETS: dict[str, str | None] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "compat.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": None,
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": None,
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": None,
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": None,
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "icons.css",
}
_LOGO_BASE = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_SCRIPT_TAG = re.compile(r'<script\s+[^>]*src="(https?://[^"]+)"[^>]*>\s*</script>', re.I)
_LINK_TAG = re.compile(r'<link\s+[^>]*href="(https?://[^"]+)"[^>]*/?>', re.I)
_NEWSLETTER = re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", re.S)
_OUTSIDE_ANCHOR = re.compile(r'<a\s+[^>]*href="https?://[^"]*"[^>]*>(.*?)</a>', re.S | re.I)
_REMOTE_SRC = re.compile(r'\s(src|href)="https?://[^"]*"', re.I)


# --------------------------------------------------------------------------- retention

def prune(folder: Path, days: int = RETENTION_DAYS, now: float | None = None) -> int:
    """Remove results, validation pages and quarantine pages older than `days`; returns how many."""
    cutoff = (time.time() if now is None else now) - days * 86400
    removed = 0
    for sub in (RESULTS, "validations", QUARANTINE):
        root = folder / sub
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff and path.name != "index.html":
                    path.unlink()
                    removed += 1
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            except FileNotFoundError:
                continue
    return removed


# --------------------------------------------------------------------------- offline pages

def install_assets(folder: Path) -> Path:
    """Copy the vendored assets into <folder>/static/vendor (only the ones that changed)."""
    target = folder / VENDOR
    target.mkdir(parents=True, exist_ok=True)
    for source in ASSETS.iterdir():
        if not source.is_file():
            continue
        copy = target / source.name
        if not copy.exists() or copy.stat().st_size != source.stat().st_size \
                or copy.stat().st_mtime < source.stat().st_mtime:
            shutil.copy2(source, copy)
    return target


# A validation page opened at `#failed` shows only the rules that failed (GX's "Failed Only").
FAILED_VIEW = "#failed"
_FAILED_ONLY_SCRIPT = (
    "<script>if (location.hash === '" + FAILED_VIEW + "') window.addEventListener('load', function () {"
    " var choice = document.getElementById('option2'); if (!choice) return;"
    " if (window.jQuery) jQuery.fx.off = true;"  # at once: a fade leaves the view half drawn
    " choice.parentElement.click(); if (window.jQuery) jQuery.fx.off = false; });"
    "</script>"
)


def offline_html(text: str, vendor: str, images: str) -> str:
    """One page's HTML with every asset local: `vendor` and `images` are relative URL prefixes."""
    def script(match: re.Match) -> str:
        url = match.group(1)
        local = _SCRIPTS.get(url, None)
        return f'<script src="{vendor}/{local}"></script>' if local else ""

    def link(match: re.Match) -> str:
        url = match.group(1)
        local = _STYLESHEETS.get(url, None)
        return f'<link rel="stylesheet" href="{vendor}/{local}">' if local else ""

    text = _SCRIPT_TAG.sub(script, text)
    text = _LINK_TAG.sub(link, text)
    text = re.sub(re.escape(_LOGO_BASE) + r'([A-Za-z0-9_.-]+)(\?[^"]*)?', images + r"/\1", text)
    text = _NEWSLETTER.sub("", text)
    text = _OUTSIDE_ANCHOR.sub(r"\1", text)
    text = _REMOTE_SRC.sub("", text)  # anything left that would leave the folder
    # The pages are written for Bootstrap 4's data attributes; the vendored one is Bootstrap 5.
    text = text.replace('data-toggle="collapse"', 'data-bs-toggle="collapse"')
    text = text.replace('data-target="', 'data-bs-target="')
    if "compat.css" not in text and "</head>" in text:
        text = text.replace("</head>", f'<link rel="stylesheet" href="{vendor}/compat.css">\n</head>', 1)
    if "function hideSucceededValidations" in text and FAILED_VIEW not in text and "</body>" in text:
        text = text.replace("</body>", _FAILED_ONLY_SCRIPT + "\n</body>", 1)
    return text


def make_offline(folder: Path, pages: Iterable[Path] | None = None) -> int:
    """Rewrite the built pages (all of them by default) to the local assets; returns how many."""
    install_assets(folder)
    rewritten = 0
    candidates = pages if pages is not None else folder.rglob("*.html")
    for page in candidates:
        if VENDOR.as_posix() in page.as_posix():
            continue
        text = page.read_text(encoding="utf-8")
        if "https://" not in text and "http://" not in text and "compat.css" in text:
            continue
        base = os.path.relpath(folder, page.parent).replace(os.sep, "/")
        new = offline_html(text, f"{base}/{VENDOR.as_posix()}", f"{base}/static/images")
        if new != text:
            page.write_text(new, encoding="utf-8")
            rewritten += 1
    return rewritten


# --------------------------------------------------------------------------- quarantine page

def quarantine_rows(con, entity: str) -> list[tuple[str, str | None, str, int, list[str]]]:
    """From view `staged` (one entity): (entity, agency, reason, records, first keys) per agency
    and reason. Reads codes, keys and reasons only, never the record."""
    agency = "agency_code" if entity in ("dossier", "payment", "agency") else "NULL::VARCHAR"
    rows = con.execute(
        f"""
        WITH failed AS (
            SELECT {agency} AS agency_code, coalesce(record_key, '') AS record_key,
                   trim(unnest(string_split(reasons, '; '))) AS reason
            FROM staged WHERE NOT is_valid
        )
        SELECT agency_code, reason, count(*) AS records,
               list(record_key ORDER BY record_key)[1:{KEYS_SHOWN}] AS keys
        FROM failed WHERE reason <> ''
        GROUP BY ALL ORDER BY agency_code NULLS LAST, records DESC, reason
        """
    ).fetchall()
    return [(entity, a, r, int(n), list(k)) for a, r, n, k in rows]


def write_quarantine_page(folder: Path, run_id: str, rows: Sequence[tuple],
                          reasons_vi: dict[str, str]) -> Path:
    """data_docs/quarantine/<run_id>.html (per agency) and quarantine/index.html (the kept runs)."""
    directory = folder / QUARANTINE
    directory.mkdir(parents=True, exist_ok=True)
    install_assets(folder)
    vendor = f"../{VENDOR.as_posix()}"
    by_agency: dict[str, list[tuple]] = {}
    for entity, agency, reason, records, keys in rows:
        by_agency.setdefault(agency or "—", []).append((entity, reason, records, keys))
    total = sum(r[3] for r in rows)
    sections = []
    for agency in sorted(by_agency, key=lambda a: (-sum(r[2] for r in by_agency[a]), a)):
        items = by_agency[agency]
        body = "".join(
            "<tr>"
            f"<td>{html.escape(entity)}</td>"
            f"<td>{html.escape(reasons_vi.get(reason, reason))}<br><small class='text-muted'>{html.escape(reason)}</small></td>"
            f"<td class='text-end'>{records}</td>"
            f"<td><code>{html.escape(', '.join(keys))}</code>{' …' if records > len(keys) else ''}</td>"
            "</tr>"
            for entity, reason, records, keys in items
        )
        count = sum(i[2] for i in items)
        sections.append(
            f"<section class='mb-4'><h2 class='h5'>Đơn vị / Agency <code>{html.escape(agency)}</code>"
            f" — {count} lỗi / findings</h2>"
            "<table class='table table-sm table-striped'><thead><tr><th>Loại / Entity</th>"
            "<th>Lý do / Reason</th><th class='text-end'>Số bản ghi / Records</th>"
            "<th>Mã bản ghi / Record keys</th></tr></thead>"
            f"<tbody>{body}</tbody></table></section>"
        )
    if not sections:
        sections.append("<p>Không có bản ghi bị cách ly. / No record was quarantined.</p>")
    page = directory / f"{_safe(run_id)}.html"
    page.write_text(_page(
        f"Bản ghi bị cách ly theo đơn vị — lô {html.escape(run_id)}",
        f"<p>Quarantined records per agency, batch <code>{html.escape(run_id)}</code>: "
        f"{total} finding(s). Mỗi bản ghi có thể có nhiều lý do. / A record may have several reasons. "
        "Không hiển thị dữ liệu cá nhân. / No personal data is shown.</p>"
        "<p><a href='index.html'>Các lô khác / Other batches</a> · <a href='../index.html'>Data Docs</a></p>"
        + "".join(sections), vendor), encoding="utf-8")
    _write_quarantine_index(directory, vendor)
    return page


def _write_quarantine_index(directory: Path, vendor: str) -> None:
    pages = sorted((p for p in directory.glob("*.html") if p.name != "index.html"),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    items = "".join(
        f"<li><a href='{html.escape(p.name)}'>{html.escape(p.stem)}</a> "
        f"<small class='text-muted'>{time.strftime('%Y-%m-%d %H:%M', time.localtime(p.stat().st_mtime))}</small></li>"
        for p in pages
    )
    (directory / "index.html").write_text(_page(
        "Bản ghi bị cách ly theo đơn vị / Quarantined records per agency",
        f"<p>Các lô trong {RETENTION_DAYS} ngày gần nhất / Batches of the last {RETENTION_DAYS} days.</p>"
        f"<ul>{items}</ul><p><a href='../index.html'>Data Docs</a></p>", vendor), encoding="utf-8")


def _page(title: str, body: str, vendor: str) -> str:
    return (
        "<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<link rel='stylesheet' href='{vendor}/bootstrap.min.css'>"
        f"<link rel='stylesheet' href='{vendor}/compat.css'></head>"
        f"<body><main class='container my-4'><h1 class='h3'>{html.escape(title)}</h1>{body}</main></body></html>\n"
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def reasons_vi_catalogue(documents: dict[str, dict[str, Any]]) -> dict[str, str]:
    """English reason → Vietnamese reason, from the suites' meta (one catalogue)."""
    catalogue: dict[str, str] = {}
    for document in documents.values():
        for expectation in document.get("expectations") or []:
            meta = expectation.get("meta") or {}
            if meta.get("reason") and meta.get("reason_vi"):
                catalogue.setdefault(meta["reason"], meta["reason_vi"])
    return catalogue
