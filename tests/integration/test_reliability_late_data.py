"""Replays and late data (issue 6): a warehouse built incrementally — updates of a dossier arriving
in later windows, old states replayed after newer ones, a refund a month after its payment, a
procedure's new version arriving after the dossiers that use it — equals the warehouse built by one
run over the whole range from the source's final state (fact tables and mart.kpi_value).

Two sources: the emulator with its clock moved night by night (and back, for the replays), and
the contract-following fixture of test_reliability_bad_input for the late procedure version,
which the emulator cannot produce (its catalogue does not change with its clock).
"""
from __future__ import annotations

import duckdb

from support import start_emulator
from support.reliability import run_counts_balance, run_pipeline, settings_at
from support.contract_source import PROCEDURE, TOKEN, ContractSource, dossier, payment, ts

# Facts compared by natural keys: surrogate keys and run ids depend on the order of arrival;
# the procedure version a fact resolved to is compared by its valid_from instead.
FACT_SQL = {
    "core.fact_dossier": "SELECT f.* EXCLUDE (procedure_sk, agency_sk, run_id), p.valid_from AS version "
                         "FROM core.fact_dossier f LEFT JOIN core.dim_procedure p USING (procedure_sk)",
    "core.fact_payment": "SELECT f.* EXCLUDE (procedure_sk, agency_sk, run_id), p.valid_from AS version "
                         "FROM core.fact_payment f LEFT JOIN core.dim_procedure p USING (procedure_sk)",
    "mart.kpi_value": "SELECT * FROM mart.kpi_value",
}


def contents(path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in FACT_SQL.items()}
    finally:
        con.close()


def assert_same(incremental, reference):
    for name in FACT_SQL:
        assert incremental[name], f"{name} is empty: the comparison proves nothing"
        missing = set(reference[name]) - set(incremental[name])
        extra = set(incremental[name]) - set(reference[name])
        assert not missing and not extra, (
            f"{name}: {len(missing)} rows of the reference missing, {len(extra)} extra; "
            f"e.g. missing {sorted(missing, key=repr)[:2]} extra {sorted(extra, key=repr)[:2]}")


def test_nightly_chunks_and_replays_equal_one_run_over_the_final_state(tmp_path):
    emu = start_emulator(seed=51, start="2023-01-01", end="2023-02-12", dossiers_per_day=20,
                         extra=["--invalid-rate", "0", "--now", "2023-01-22"])
    try:
        incremental = settings_at(tmp_path / "incremental", emu.url, emu.token)
        chunks = (("2023-01-01", "2023-01-22"), ("2023-01-22", "2023-02-12"))
        for start, end in chunks:
            emu.control("clock", {"now": end})  # the night after the chunk's last day
            run_pipeline(incremental, start, end)
        before_replay = contents(incremental.warehouse)
        # A replay: windows already loaded, re-exported as they were on an earlier night.
        emu.control("clock", {"now": "2023-01-15"})
        replay = run_pipeline(incremental, "2023-01-08", "2023-01-15")
        con = duckdb.connect()
        con.execute(f"ATTACH '{incremental.warehouse}' AS wh (READ_ONLY)")
        stale = con.execute(
            "SELECT count(*) FROM read_parquet(?) s JOIN wh.core.fact_dossier f USING (dossier_id) "
            "WHERE s.updated_at < f.updated_at", [str(replay.batch_dir / "dossier.parquet")]).fetchone()[0]
        con.close()
        after_replay = contents(incremental.warehouse)

        emu.control("clock", {"now": "2023-02-12"})
        reference = settings_at(tmp_path / "reference", emu.url, emu.token)
        run_pipeline(reference, "2023-01-01", "2023-02-12")
    finally:
        emu.stop()

    final = contents(reference.warehouse)
    con = duckdb.connect(str(incremental.warehouse), read_only=True)
    late_refunds, = con.execute(
        "SELECT count(*) FROM core.fact_payment WHERE status = 'hoan-phi' "
        "AND updated_at >= transacted_at + INTERVAL 14 DAY").fetchone()
    moved, = con.execute(
        "SELECT count(*) FROM core.fact_dossier WHERE received_at < TIMESTAMP '2023-01-22' "
        "AND updated_at >= TIMESTAMP '2023-01-22'").fetchone()
    con.close()
    print(f"\n[late data] emulator: {stale} stale states replayed, {late_refunds} refunds ≥ 14 days "
          f"after their payment, {moved} dossiers updated in the chunk after their receipt")
    assert stale > 0, "the replay carried no older state: it proves nothing"
    assert late_refunds > 0 and moved > 0
    assert after_replay == before_replay, "a replayed older state overwrote a newer one"
    assert_same(after_replay, final)
    assert run_counts_balance(incremental.warehouse) == []


def _serve(source: ContractSource, records: dict[str, tuple[str, dict]]) -> None:
    """The source's current state: each record in the window of its NgayCapNhat's local day."""
    source.feeds.clear()
    for entity, record in records.values():
        stamp = record["NgayCapNhat"]
        day = f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}"
        source.feeds.setdefault((entity, day), []).append(record)


def test_a_late_procedure_version_a_late_refund_and_an_old_replay(tmp_path):
    v1_open = {**_procedure_v1(), "HieuLucDen": None}
    v1_closed = {**_procedure_v1(), "HieuLucDen": "2023-03-02"}
    v2 = {**_procedure_v1(), "HieuLucTu": "2023-03-03", "HieuLucDen": None, "MucDoDVC": "TOAN_TRINH",
          "CoPhiLePhi": True, "ThanhToanTrucTuyen": True}
    x_old = dossier("x-received", "LATE-X", "2023-03-01", TrangThaiHoSo=4, NgayKetThucXuLy="",
                    NgayHenTra=ts("2023-03-08", 17))
    x_new = dossier("x-finished", "LATE-X", "2023-03-01", TrangThaiHoSo=9, NgayHenTra=ts("2023-03-08", 17),
                    NgayKetThucXuLy=ts("2023-03-05", 10), NgayCapNhat=ts("2023-03-05", 10))
    y = dossier("y-on-v2", "LATE-Y", "2023-03-03", TrangThaiHoSo=4, NgayKetThucXuLy="")
    z_paid = payment("z-paid", "LATE-Z", "2023-03-03", MaHoSo="LATE-Y")
    z_refunded = payment("z-refunded", "LATE-Z", "2023-03-03", MaHoSo="LATE-Y", TrangThai="hoan-phi",
                         NgayCapNhat=ts("2023-04-02", 9))
    source = ContractSource()
    try:
        source.procedures = [v1_open]
        state = {"X": ("dossier", x_old), "Y": ("dossier", y), "Z": ("payment", z_paid)}
        _serve(source, state)
        incremental = settings_at(tmp_path / "incremental", source.url, TOKEN)
        run_pipeline(incremental, "2023-03-01", "2023-03-04")   # X received, Y on v1 (v2 unknown yet)
        con = duckdb.connect(str(incremental.warehouse), read_only=True)
        (version_before,), = con.execute(
            "SELECT p.valid_from FROM core.fact_dossier f JOIN core.dim_procedure p USING (procedure_sk) "
            "WHERE dossier_id = 'LATE-Y'").fetchall()
        con.close()
        source.procedures = [v1_closed, v2]                        # the new version arrives late
        state["X"] = ("dossier", x_new)
        _serve(source, state)
        run_pipeline(incremental, "2023-03-05", "2023-03-06")
        source.pages[("dossier", "2023-03-01")] = [               # an old export replayed
            {"trang": 1, "soBanGhi": 7, "tongSoTrang": 1, "tongSoBanGhi": 1, "duLieu": [x_old]}]
        run_pipeline(incremental, "2023-03-01", "2023-03-02")
        source.pages.clear()
        state["Z"] = ("payment", z_refunded)                       # refunded a month later
        _serve(source, state)
        run_pipeline(incremental, "2023-04-02", "2023-04-03")

        reference = settings_at(tmp_path / "reference", source.url, TOKEN)
        run_pipeline(reference, "2023-03-01", "2023-04-03")
    finally:
        source.close()
    got, want = contents(incremental.warehouse), contents(reference.warehouse)
    facts = {row[0]: row for row in got["core.fact_dossier"]}
    print(f"\n[late data] fixture: Y resolved to version {version_before} before v2 arrived, "
          f"{facts['LATE-Y'][-1]} after; X status {facts['LATE-X'][15]} after the old replay")
    assert str(version_before) == "2020-01-01" and str(facts["LATE-Y"][-1]) == "2023-03-03"
    assert facts["LATE-X"][15] == 9, "the replayed old state of X overwrote its newer state"
    assert_same(got, want)
    kpi = {(r[0], str(r[1]), r[2], r[3]): r for r in got["mart.kpi_value"]}
    assert ("month", "2023-03-01", "*", "DOSSIER_ONLINE_PAYMENT_RATE") in kpi  # Y counts under v2
    assert ("month", "2023-03-01", "*", "ONLINE_PAYMENT_TX_RATE") not in kpi   # Z was refunded


def _procedure_v1() -> dict:
    return {"MaTTHC": PROCEDURE, "TenTTHC": "Thủ tục thử", "MaLinhVuc": "LV1", "TenLinhVuc": "Lĩnh vực thử",
            "CapThucHien": ["TINH"], "MucDoDVC": "MOT_PHAN", "CoPhiLePhi": False,
            "ThanhToanTrucTuyen": False, "ThoiHanGiaiQuyet": 5, "HieuLucTu": "2020-01-01"}
