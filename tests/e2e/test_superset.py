"""Superset on the published warehouse (bi/): started by bi/start.py from .venv-bi as `make bi`
does, on a warehouse the real pipeline built from the emulator. Every chart's data through the
REST API equals mart.kpi_value read directly; a quarter is the ratio of sums of its months; the BI
role sees schema mart only; the dashboard renders in headless Chromium with the network blocked;
a republish while chart queries are in flight breaks none of them."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from support import REPO_ROOT, env_for, free_port, stop_process
from support.report import quarter_warehouse
from support.report_act import mart
from support.superset import Superset, cdp_screenshot

pytestmark = pytest.mark.e2e

BI_VENV = REPO_ROOT / ".venv-bi"
BI_PYTHON = BI_VENV / "bin" / "python"
INSTALL = (
    f"python3 -m venv {BI_VENV} && {BI_PYTHON} -m pip install -r {REPO_ROOT / 'requirements-bi.txt'}"
)
# The docs/ copy is refreshed only on request (TTHC_WRITE_SCREENSHOT=1): a test run leaves the tree clean.
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "superset-dashboard.png"
START_TIMEOUT = 600
# KPIs whose numerator and denominator add up over months (the catalogue KPIs are taken at the
# period's last day instead).
ADDITIVE = (
    "ONLINE_REMOTE_RATE", "ONLINE_RATE", "POSTAL_RECEIPT_RATE", "DIGITIZED_RATE",
    "ONLINE_PAYMENT_TX_RATE", "DOSSIER_ONLINE_PAYMENT_RATE", "ON_TIME_RATE", "POSTAL_RETURN_RATE",
    "INTERNAL_ONLINE_RATE", "DIGITIZED_RESULT_RATE", "AVG_DAYS_ONLINE", "AVG_DAYS_OFFLINE",
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bi_python() -> Path:
    """Superset's own venv, as `make bi` keeps it: (re)installed from requirements-bi.txt when
    missing or older than the file (its stamp .venv-bi/.installed). Never skipped."""
    requirements = REPO_ROOT / "requirements-bi.txt"
    stamp = BI_VENV / ".installed"
    probe = [str(BI_PYTHON), "-c", "import superset, duckdb, duckdb_engine"]
    current = stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime
    if current and subprocess.run(probe, capture_output=True).returncode == 0:
        return BI_PYTHON
    began = time.monotonic()
    steps = [
        [shutil.which("python3") or "python3", "-m", "venv", str(BI_VENV)],
        [str(BI_PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(BI_PYTHON), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            pytest.fail(f"cannot install Superset's venv ({done.stderr[-1500:]}); run: {INSTALL}")
    if subprocess.run(probe, capture_output=True).returncode != 0:
        pytest.fail(f"Superset's venv does not import superset; run: {INSTALL}")
    stamp.touch()
    print(f"\n.venv-bi installed in {time.monotonic() - began:.0f}s")
    return BI_PYTHON


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """A warehouse loaded by the real pipeline from an emulated first quarter of 2023."""
    return quarter_warehouse(tmp_path_factory.mktemp("superset"), seed=29, dossiers_per_day=25)


@pytest.fixture(scope="module")
def superset(bi_python, settings, tmp_path_factory):
    home = tmp_path_factory.mktemp("superset-home")
    port = free_port()
    admin = ("admin", secrets.token_urlsafe(16))
    viewer = ("viewer", secrets.token_urlsafe(16))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERSET_", "FLASK_"))}
    env.update(
        SUPERSET_SECRET_KEY=secrets.token_urlsafe(42),
        SUPERSET_ADMIN_PASSWORD=admin[1],
        SUPERSET_BI_USER=viewer[0],
        SUPERSET_BI_PASSWORD=viewer[1],
        SUPERSET_HOME=str(home),
        SUPERSET_WORKERS="2",
        TTHC_PUBLISHED=str(settings.published),
    )
    log = home / "superset.log"
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            [str(bi_python), str(REPO_ROOT / "bi" / "start.py"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"Superset exited {process.returncode}: {log.read_text()[-3000:]}")
            try:
                if requests.get(f"{url}/health", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Superset not up after {START_TIMEOUT}s: {log.read_text()[-3000:]}")
            time.sleep(2)
        yield Superset(url, admin, viewer, process, log)
    finally:
        # bi/start.py became gunicorn's master (same PID): SIGTERM stops its workers too.
        stop_process(process, timeout=30)
        try:  # any worker that outlived its master, by the master's process group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def admin_api(superset):
    return superset.api()


@pytest.fixture(scope="module")
def charts(superset, admin_api):
    """Every chart of the bundle: {name: (chart, its stored query context)}."""
    listed = admin_api.get(f"{superset.url}/api/v1/chart/", params={"q": "(page_size:100)"}, timeout=60)
    listed.raise_for_status()
    found = {}
    for item in listed.json()["result"]:
        chart = admin_api.get(f"{superset.url}/api/v1/chart/{item['id']}", timeout=60).json()["result"]
        found[chart["slice_name"]] = (chart, json.loads(chart["query_context"]))
    assert len(found) == len(list((REPO_ROOT / "bi" / "superset" / "charts").glob("*.yaml")))
    return found


def chart_data(session: requests.Session, url: str, query_context: dict, force: bool = True) -> list[dict]:
    response = session.post(f"{url}/api/v1/chart/data", json={**query_context, "force": force}, timeout=300)
    assert response.status_code == 200, response.text[:2000]
    result = response.json()["result"]
    assert len(result) == 1 and not result[0].get("error"), result
    return result[0]["data"]


def epoch_ms(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000


# --------------------------------------------------------------------------- the figures


def test_database_is_the_published_copy_read_only_with_a_short_cache(superset, admin_api, settings):
    databases = admin_api.get(f"{superset.url}/api/v1/database/", timeout=60).json()["result"]
    (database,) = [d for d in databases if d["database_name"] == "TTHC"]
    detail = admin_api.get(f"{superset.url}/api/v1/database/{database['id']}/connection", timeout=60)
    if detail.status_code != 200:
        detail = admin_api.get(f"{superset.url}/api/v1/database/{database['id']}", timeout=60)
    result = detail.json()["result"]
    assert result["sqlalchemy_uri"] == f"duckdb:///{settings.published}"
    extra = json.loads(result["extra"])
    assert extra["engine_params"]["connect_args"]["read_only"] is True
    assert result["cache_timeout"] is not None and result["cache_timeout"] <= 300
    # Schemas as the file's own names: datasets do not depend on the file name.
    schemas = admin_api.get(f"{superset.url}/api/v1/database/{database['id']}/schemas/", timeout=60)
    assert {"mart", "core", "audit"} <= set(schemas.json()["result"])
    assert not any("." in name for name in schemas.json()["result"])


def test_every_chart_equals_mart_kpi_value(superset, admin_api, charts, settings):
    latest_month = mart(settings, "SELECT max(period_start) FROM mart.kpi_value WHERE period_type='month'")[0][0]
    latest_quarter = mart(settings, "SELECT max(period_start) FROM mart.kpi_value WHERE period_type='quarter'")[0][0]
    rows = mart(settings, "SELECT period_type, period_start, agency_code, kpi_code, numerator, "
                          "denominator, value, target FROM mart.kpi_value")
    kpi = {(p, s, a, k): (n, d, v, t) for p, s, a, k, n, d, v, t in rows}
    checked = set()
    names: dict[str, str] = {}

    def province_table(name: str, period_type: str, start: date) -> None:
        data = chart_data(admin_api, superset.url, charts[name][1])
        expected = {k for (p, s, a, k) in kpi if (p, s, a) == (period_type, start, "*")
                    and not k.startswith("AVG_DAYS")}
        assert {row["kpi_code"] for row in data} == expected
        for row in data:
            n, d, v, t = kpi[(period_type, start, "*", row["kpi_code"])]
            assert (row["ty_le"], row["tu_so"], row["mau_so"], row["chi_tieu"]) == (v, n, d, t)
            names[row["kpi_name"]] = row["kpi_code"]
        checked.add(name)

    province_table("Chỉ tiêu toàn tỉnh so với mức giao: tháng gần nhất", "month", latest_month)
    province_table("Chỉ tiêu toàn tỉnh so với mức giao: quý gần nhất", "quarter", latest_quarter)

    for name, metric in (("Xu hướng 12 tháng: các tỷ lệ chính (toàn tỉnh)", "ty_le"),
                         ("Số ngày xử lý bình quân: trực tuyến và trực tiếp (toàn tỉnh)", "so_ngay_binh_quan")):
        data = chart_data(admin_api, superset.url, charts[name][1])
        assert data
        codes = set()
        for row in data:
            month = [s for (p, s, a, k) in kpi if p == "month" and epoch_ms(s) == row["period_start"]]
            assert month, row
            code = names.get(row["kpi_name"]) or {
                "Số ngày xử lý bình quân: trực tuyến": "AVG_DAYS_ONLINE",
                "Số ngày xử lý bình quân: trực tiếp, bưu chính": "AVG_DAYS_OFFLINE",
            }[row["kpi_name"]]
            codes.add(code)
            assert row[metric] == kpi[("month", month[0], "*", code)][2], row
        if metric == "so_ngay_binh_quan":
            assert codes == {"AVG_DAYS_ONLINE", "AVG_DAYS_OFFLINE"}
        checked.add(name)

    name = "Xếp hạng đơn vị theo từng chỉ tiêu: quý gần nhất"
    data = chart_data(admin_api, superset.url, charts[name][1])
    ranks = {(k, a): r for k, a, r in mart(settings, """
        SELECT kpi_code, agency_code, rank() OVER (PARTITION BY kpi_code ORDER BY value DESC)
        FROM mart.kpi_value WHERE period_type = 'quarter' AND period_start = ? AND agency_code <> '*'""",
        [latest_quarter])}
    expected = {(k, a) for (p, s, a, k), (_, _, _, t) in kpi.items()
                if (p, s) == ("quarter", latest_quarter) and a != "*" and t is not None}
    assert {(row["kpi_code"], row["agency_code"]) for row in data} == expected
    for row in data:
        _, _, v, t = kpi[("quarter", latest_quarter, row["agency_code"], row["kpi_code"])]
        assert (row["ty_le"], row["chi_tieu"]) == (v, t)
        assert row["agency_rank"] == ranks[(row["kpi_code"], row["agency_code"])]
    # Listed per KPI, best first.
    order = [(row["kpi_code"], row["agency_rank"]) for row in data]
    for (k1, r1), (k2, r2) in zip(order, order[1:]):
        assert k1 != k2 or r1 <= r2
    checked.add(name)

    name = "Chỉ tiêu theo đơn vị: tháng gần nhất"
    data = chart_data(admin_api, superset.url, charts[name][1])
    expected = {(a, k) for (p, s, a, k) in kpi if (p, s) == ("month", latest_month) and a != "*"
                and not k.startswith("AVG_DAYS")}
    assert {(row["agency_code"], row["kpi_code"]) for row in data} == expected
    for row in data:
        _, d, v, t = kpi[("month", latest_month, row["agency_code"], row["kpi_code"])]
        assert (row["ty_le"], row["chi_tieu"], row["mau_so"]) == (v, t, d)
    checked.add(name)

    name = "Chất lượng dữ liệu: bản ghi bị cách ly theo lý do"
    data = chart_data(admin_api, superset.url, charts[name][1])
    quarantined = mart(settings, """
        SELECT trim(r.reason), count(*) FROM audit.quarantine,
               unnest(string_split(coalesce(reasons, ''), '; ')) AS r(reason) GROUP BY 1""")
    assert quarantined, "the emulator sends invalid records"
    shown = {row["reason"]: row["so_ban_ghi"] for row in data if row["kind"] == "Bị cách ly"}
    assert shown == dict(quarantined)
    findings = {row["reason"]: row["so_ban_ghi"] for row in data if row["kind"] == "Phát hiện"}
    assert sum(findings.values()) == (
        mart(settings, "SELECT count(*) FROM mart.dq_dossier_without_procedure_version")[0][0]
        + mart(settings, "SELECT count(*) FROM mart.dq_finished_without_received")[0][0])
    checked.add(name)

    assert checked == set(charts), f"charts not checked: {set(charts) - checked}"


def test_a_quarter_is_the_ratio_of_sums_of_its_months(superset, admin_api, charts, settings):
    _, context = charts["Chỉ tiêu toàn tỉnh so với mức giao: quý gần nhất"]
    quarter = mart(settings, "SELECT max(period_start) FROM mart.kpi_value WHERE period_type='quarter'")[0][0]
    end = mart(settings, "SELECT ?::DATE + INTERVAL 3 MONTH", [quarter])[0][0].date()
    codes = ", ".join(f"'{c}'" for c in ADDITIVE)
    query = {
        "columns": ["kpi_code"], "metrics": ["ty_le", "tu_so", "mau_so"], "orderby": [],
        "row_limit": 1000, "filters": [], "time_range": "No filter",
        "extras": {"having": "", "where": (
            f"agency_code = '*' AND period_type = 'month' AND period_start >= DATE '{quarter}' "
            f"AND period_start < DATE '{end}' AND kpi_code IN ({codes})")},
    }
    data = chart_data(admin_api, superset.url, {**context, "queries": [query]})
    rolled = {row["kpi_code"]: row for row in data}
    quarters = {k: (n, d, v) for k, n, d, v in mart(settings,
        "SELECT kpi_code, numerator, denominator, value FROM mart.kpi_value "
        "WHERE period_type = 'quarter' AND period_start = ? AND agency_code = '*'", [quarter])}
    months = mart(settings, "SELECT kpi_code, avg(value), count(*) FROM mart.kpi_value "
                            "WHERE period_type = 'month' AND agency_code = '*' AND period_start >= ? "
                            "AND period_start < ? GROUP BY 1", [quarter, end])
    assert set(rolled) == set(ADDITIVE) & set(quarters)
    for code, row in rolled.items():
        n, d, v = quarters[code]
        assert row["mau_so"] == d
        if code.startswith("AVG_DAYS"):  # sums of fractional days, added in another order
            assert row["tu_so"] == pytest.approx(n, rel=1e-12)
            assert row["ty_le"] == pytest.approx(v, rel=1e-12)
        else:
            assert (row["tu_so"], row["ty_le"]) == (n, v)
    # The average of the monthly rates is not the quarter's value: the metric is not an average.
    assert any(count == 3 and abs(mean - quarters[code][2]) > 1e-9 for code, mean, count in months
               if code in rolled)


def test_every_dataset_reads_schema_mart_only(superset, admin_api, charts):
    """The datasets behind the dashboard name mart objects only (decision 0061): the BI role,
    which may read schema mart alone, can query every one of them."""
    listed = admin_api.get(f"{superset.url}/api/v1/dataset/", params={"q": "(page_size:100)"}, timeout=60)
    listed.raise_for_status()
    datasets = {item["id"]: admin_api.get(f"{superset.url}/api/v1/dataset/{item['id']}", timeout=60)
                .json()["result"] for item in listed.json()["result"]}
    assert len(datasets) == len(list((REPO_ROOT / "bi" / "superset" / "datasets").rglob("*.yaml")))
    for dataset in datasets.values():
        assert dataset["schema"] == "mart", dataset["table_name"]
        sql = re.sub(r"--[^\n]*", "", dataset["sql"] or f"SELECT * FROM mart.{dataset['table_name']}")
        read = re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", sql, re.IGNORECASE)
        assert read, dataset["table_name"]
        # Every table read is mart.<name> or a CTE of the same query; nothing names another schema.
        ctes = set(re.findall(r"(?:WITH|,)\s*(\w+)(?:\([^)]*\))?\s+AS\s*\(", sql, re.IGNORECASE))
        assert all(name.startswith("mart.") or name in ctes for name in read), (dataset["table_name"], read)
        assert not re.search(r"\b(core|audit|intermediate|staging|main|temp|information_schema)\.",
                             sql, re.IGNORECASE), dataset["table_name"]


def test_the_bi_role_sees_schema_mart_only(superset, admin_api, charts, settings):
    viewer = superset.api(superset.viewer)
    # The BI role gets every chart of the dashboard, exactly as the admin does.
    for name, (_, context) in charts.items():
        shown = chart_data(viewer, superset.url, context)
        assert shown, name
        # Rows of equal rank may come in either order.
        assert sorted(map(repr, shown)) == sorted(map(repr, chart_data(admin_api, superset.url, context))), name
    # The agency names and levels come from mart.agency, with the same figures as core.dim_agency.
    _, context = charts["Chỉ tiêu theo đơn vị: tháng gần nhất"]
    query = {**context["queries"][0], "columns": ["agency_code", "agency_name", "agency_level"],
             "metrics": ["mau_so"], "orderby": [], "row_limit": 10000}
    names = {row["agency_code"]: (row["agency_name"], row["agency_level"])
             for row in chart_data(viewer, superset.url, {**context, "queries": [query]})}
    levels = {"TINH": "Cấp tỉnh", "HUYEN": "Cấp huyện", "XA": "Cấp xã"}
    known = {code: (name or code, levels.get(level, "Chưa rõ cấp")) for code, name, level in mart(
        settings, "SELECT agency_code, agency_name, agency_level FROM core.dim_agency")}
    assert names and all(names[code] == known.get(code, (code, "Chưa rõ cấp")) for code in names), names
    # The quarantine per reason reaches the BI role without the records: no record content in mart.
    columns = {c for (c,) in mart(settings, "SELECT column_name FROM duckdb_columns() WHERE "
                                            "schema_name = 'mart' AND table_name = 'quarantine_by_reason'")}
    assert columns == {"window_day", "window_month", "entity", "agency_code", "reason", "record_count"}
    databases = viewer.get(f"{superset.url}/api/v1/database/", timeout=60).json()["result"]
    (database,) = [d for d in databases if d["database_name"] == "TTHC"]
    schemas = viewer.get(f"{superset.url}/api/v1/database/{database['id']}/schemas/", timeout=60)
    assert schemas.json()["result"] == ["mart"]

    def run_sql(session, sql: str) -> requests.Response:
        return session.post(f"{superset.url}/api/v1/sqllab/execute/", timeout=300, json={
            "database_id": database["id"], "sql": sql, "schema": "mart", "runAsync": False,
            "client_id": secrets.token_hex(5), "tab": "test", "queryLimit": 10,
        })

    allowed = run_sql(viewer, "SELECT count(*) AS n FROM mart.kpi_value")
    assert allowed.status_code == 200, allowed.text[:1000]
    for table in ("core.fact_dossier", "audit.quarantine", "intermediate.kpi_month_term"):
        denied = run_sql(viewer, f"SELECT count(*) AS n FROM {table}")
        assert denied.status_code != 200, (table, denied.text[:500])
        assert "TABLE_SECURITY_ACCESS_ERROR" in denied.text, (table, denied.text[:500])
    # The admin can; the database is read-only for everyone.
    assert run_sql(admin_api, "SELECT count(*) AS n FROM core.fact_dossier").status_code == 200
    written = run_sql(admin_api, "CREATE TABLE mart.scratch AS SELECT 1 AS x")
    assert written.status_code != 200 or "error" in written.text.lower()


def test_the_dashboard_renders_every_chart_in_headless_chromium(superset, charts, tmp_path):
    from PIL import Image

    labels = ["Dịch vụ công trực tuyến", "Đơn vị", "Cấp đơn vị", "Kỳ", *charts]
    screenshot = tmp_path / "superset-dashboard.png"
    state = cdp_screenshot(superset.url, superset.web_session_cookie(), screenshot, len(charts), labels)
    assert state.get("charts") == len(charts), state
    assert state["drawn"] == len(charts) and state["loading"] == 0, state
    assert state["errors"] == 0, state["text"]
    assert state["missing"] == [], state["text"]
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1600, 2300)
    # Charts drew something: many colours, and the chart area is not one flat background.
    colours = image.resize((400, 575)).getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 200
    if os.environ.get("TTHC_WRITE_SCREENSHOT"):
        shutil.copy(screenshot, DOCS_SCREENSHOT)


# --------------------------------------------------------------------------- republishing


def test_a_republish_while_chart_queries_run_breaks_none(superset, admin_api, charts, settings):
    contexts = [context for _, context in charts.values()]
    errors: list[str] = []
    spans: list[tuple[float, float]] = []
    stop = threading.Event()

    def query_loop(session: requests.Session) -> None:
        index = 0
        while not stop.is_set() and len(spans) < 400:
            began = time.monotonic()
            try:
                chart_data(session, superset.url, contexts[index % len(contexts)], force=True)
            except (AssertionError, requests.RequestException) as exc:
                errors.append(str(exc)[:500])
            spans.append((began, time.monotonic()))
            index += 1

    threads = [threading.Thread(target=query_loop, args=(superset.api(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        publish_began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "etl", "kpi", "--full"], cwd=REPO_ROOT,
                              env=env_for(settings), capture_output=True, text=True, timeout=600)
        publish_ended = time.monotonic()
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
    assert done.returncode == 0, done.stderr
    assert not errors, errors[:3]
    overlapping = [s for s in spans if s[0] < publish_ended and s[1] > publish_began]
    assert overlapping, "no chart query was in flight during the publish"
    # After the publish the charts read the new copy and still equal the mart.
    latest = mart(settings, "SELECT max(period_start) FROM mart.kpi_value WHERE period_type='month'")[0][0]
    values = dict(mart(settings, "SELECT kpi_code, value FROM mart.kpi_value WHERE period_type='month' "
                                 "AND period_start = ? AND agency_code = '*'", [latest]))
    _, context = charts["Chỉ tiêu toàn tỉnh so với mức giao: tháng gần nhất"]
    for row in chart_data(admin_api, superset.url, context):
        assert row["ty_le"] == values[row["kpi_code"]]
