"""A BI-style reader of the published copy (issue 6, concurrent readers).

Run as a script: `python reliability_reader.py PUBLISHED STOP_FILE PAUSE [HOLD_FILE]` opens PUBLISHED
read-only in a loop until STOP_FILE exists (idling while HOLD_FILE exists), and prints one JSON line per query round: the state it saw
(`fingerprint`), how many KPI rows disagreed with the facts of the same snapshot (`mismatches`,
out of `checked`), or the error. The tests compute the same fingerprint of each published state.
"""
from __future__ import annotations

import json
import os
import sys
import time

FINGERPRINT_SQL = """
SELECT (SELECT count(*) FROM mart.kpi_value),
       (SELECT round(sum(numerator), 6) FROM mart.kpi_value),
       (SELECT sum(denominator) FROM mart.kpi_value),
       (SELECT count(*) FROM core.fact_dossier),
       (SELECT count(*) FROM core.fact_payment),
       (SELECT max(updated_at)::VARCHAR FROM core.fact_dossier)
"""

# KPI denominators recomputed from the facts of the same snapshot (kpis.md definitions):
# dossiers received in the month (status not 1 or 3), payments successful in the month.
CONSISTENCY_SQL = """
WITH received AS (
    SELECT date_trunc('month', received_at)::DATE AS period_start, count(*) AS n
    FROM core.fact_dossier WHERE received_at IS NOT NULL AND status NOT IN (1, 3) GROUP BY 1
), paid AS (
    SELECT date_trunc('month', transacted_at)::DATE AS period_start, count(*) AS n
    FROM core.fact_payment WHERE status = 'thanh-cong' GROUP BY 1
), checks AS (
    SELECT k.denominator, coalesce(r.n, 0) AS expected
    FROM mart.kpi_value k LEFT JOIN received r USING (period_start)
    WHERE k.kpi_code = 'ONLINE_RATE' AND k.agency_code = '*' AND k.period_type = 'month'
    UNION ALL
    SELECT k.denominator, coalesce(p.n, 0)
    FROM mart.kpi_value k LEFT JOIN paid p USING (period_start)
    WHERE k.kpi_code = 'ONLINE_PAYMENT_TX_RATE' AND k.agency_code = '*' AND k.period_type = 'month'
)
SELECT count(*) FILTER (WHERE denominator <> expected), count(*) FROM checks
"""


def observe(con) -> dict:
    fingerprint = list(con.execute(FINGERPRINT_SQL).fetchone())
    mismatches, checked = con.execute(CONSISTENCY_SQL).fetchone()
    return {"fingerprint": fingerprint, "mismatches": mismatches, "checked": checked}


def main(published: str, stop_file: str, pause: float, hold_file: str | None = None) -> None:
    import duckdb

    while not os.path.exists(stop_file):
        if hold_file and os.path.exists(hold_file):
            time.sleep(0.05)
            continue
        started = time.monotonic()
        try:
            con = duckdb.connect(published, read_only=True, config={"threads": 1})
            try:
                line = observe(con)
            finally:
                con.close()
        except Exception as exc:  # every error is reported, none is retried away
            line = {"error": f"{type(exc).__name__}: {exc}"}
        line["seconds"] = round(time.monotonic() - started, 4)
        print(json.dumps(line), flush=True)
        time.sleep(pause)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:5])
