"""The rulebook at work: each invalid kind of source-api.md, landed and validated, is quarantined
by the one expectation that names it (its reason, its failed result in validation.json); and a
suite edited by hand (the status range narrowed to 1–9) changes which rows are quarantined, with
no code change (TTHC_EXPECTATIONS_DIR)."""
from __future__ import annotations

import json
import shutil

import pytest

from etl import rulebook, suites, validation
from support.validation_data import ABSENT, dossier, land, payment, read_parquet, settings_in

# One bad value per kind (the rest of the record is valid).
EXAMPLES = {
    "dossier.MaHoSo.empty": {"MaHoSo": "  "},
    "dossier.MaTTHC.empty": {"MaTTHC": ABSENT},
    "dossier.MaDonVi.empty": {"MaDonVi": None},
    "dossier.TrangThaiHoSo.not_integer": {"TrangThaiHoSo": "4.5"},
    "dossier.TrangThaiHoSo.out_of_range": {"TrangThaiHoSo": 11},
    "dossier.KenhThucHien.unknown_label": {"KenhThucHien": "Online"},
    "dossier.KenhThucHien.unknown_number": {"KenhThucHien": 4},
    "dossier.NgayNopHoSo.unparseable": {"NgayNopHoSo": "31/02/2023 10:00:00"},
    "dossier.NgayTiepNhan.unparseable": {"NgayTiepNhan": "2023031510"},
    "dossier.NgayHenTra.unparseable": {"NgayHenTra": "10/02/2023 25:00:00"},
    "dossier.NgayKetThucXuLy.unparseable": {"NgayKetThucXuLy": "1/3/2023 1:02:03"},
    "dossier.NgayTra.unparseable": {"NgayTra": "2023-03-01T10:00:00"},
    "dossier.NgayCapNhat.unparseable": {"NgayCapNhat": "20230230100000"},
    "payment.MaGiaoDich.empty": {"MaGiaoDich": ""},
    "payment.SoTien.empty": {"SoTien": " "},
    "payment.SoTien.unparseable": {"SoTien": "1,5 triệu"},
    "payment.SoTien.negative": {"SoTien": "-50.000"},
    "payment.HinhThucThanhToan.empty": {"HinhThucThanhToan": None},
    "payment.HinhThucThanhToan.unknown": {"HinhThucThanhToan": "the-tin-dung"},
    "payment.TrangThai.empty": {"TrangThai": ""},
    "payment.TrangThai.unknown": {"TrangThai": "xong"},
    "payment.ThoiGianGD.empty": {"ThoiGianGD": ABSENT},
    "payment.ThoiGianGD.unparseable": {"ThoiGianGD": "32/01/2023 10:00:00"},
}


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == {k.kind for k in rulebook.INVALID_KINDS}


@pytest.fixture(scope="module")
def kinds_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("rulebook")
    dossiers, payments, keys = [dossier("OK-D")], [payment("OK-P")], {}
    for index, (kind, fields) in enumerate(EXAMPLES.items()):
        key = f"K{index:02d}"
        entity = kind.split(".")[0]
        if entity == "dossier":
            record = dossier(key, **fields)
            dossiers.append(record)
        else:
            record = payment(key, **fields)
            payments.append(record)
        keys[kind] = record
    raw = root / "raw"
    manifests = [land(raw, "dossier", "2023-02-01", dossiers), land(raw, "payment", "2023-02-01", payments)]
    out = validation.validate(settings_in(root), manifests)
    return {"keys": keys, "dossier": read_parquet(out / "dossier.parquet"),
            "payment": read_parquet(out / "payment.parquet"),
            "results": json.loads((out / "validation.json").read_text(encoding="utf-8"))}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_invalid_kind_is_quarantined_by_its_expectation(kinds_batch, kind):
    ((entity, _, expectation),) = rulebook.expectations_by_kind()[kind]
    record = kinds_batch["keys"][kind]
    rows = [r for r in kinds_batch[entity] if r["record"] and json.loads(r["record"]) == record]
    assert len(rows) == 1, f"{kind}: the example is not among the quarantined rows"
    assert rows[0]["is_valid"] is False
    assert expectation["meta"]["reason"] in rows[0]["reasons"].split("; ")
    column = suites._column_name(expectation["kwargs"])
    (result,) = [r for r in kinds_batch["results"] if r["entity"] == entity
                 and r["expectation"] == expectation["type"] and r["column_name"] == column]
    assert result["success"] is False and result["unexpected_count"] >= 1


def test_the_valid_neighbours_stay_valid(kinds_batch):
    assert [r["is_valid"] for r in kinds_batch["dossier"] if r["record_key"] == "OK-D"] == [True]
    assert [r["is_valid"] for r in kinds_batch["payment"] if r["record_key"] == "OK-P"] == [True]


def test_a_suite_edited_by_hand_changes_the_quarantine_without_a_code_change(tmp_path, monkeypatch):
    records = [dossier(f"S{status:02d}", TrangThaiHoSo=status) for status in range(1, 11)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)

    def invalid_statuses(root, folder=None):
        if folder is None:
            monkeypatch.delenv("TTHC_EXPECTATIONS_DIR", raising=False)
        else:
            monkeypatch.setenv("TTHC_EXPECTATIONS_DIR", str(folder))
        out = validation.validate(settings_in(root), [manifest])
        return sorted(r["status"] for r in read_parquet(out / "dossier.parquet") if not r["is_valid"])

    assert invalid_statuses(tmp_path / "as-shipped") == []

    edited = tmp_path / "expectations"
    shutil.copytree(suites.DEFAULT_EXPECTATIONS_DIR, edited)
    document = json.loads((edited / "dossier.json").read_text(encoding="utf-8"))
    (rule,) = [e for e in document["expectations"]
               if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "status_code"]
    rule["kwargs"]["max_value"] = 9  # a steward narrows the statuses to 1–9, by hand
    (edited / "dossier.json").write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")

    assert invalid_statuses(tmp_path / "narrowed", edited) == [10]


def _conditioned_rule(column: str, condition_column: str) -> dict:
    return {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": column, "row_condition": {
            "type": "comparison", "column": {"name": condition_column}, "operator": "==",
            "parameter": True}},
        "meta": {"action": "quarantine", "reason": f"{column} unparseable", "reason_vi": column},
    }


def test_rules_sharing_a_row_condition_each_report_their_own_rows_frame_after_frame(tmp_path):
    """Each row condition is applied once per validation (suites._RowConditionMemo), and each
    rule's configuration built once (suites._configurations_memoized): rules that share a
    condition, rules of the same type and column with another, and the next frame of the same
    runner, with another suite parameter, all see their own rows."""
    import pandas as pd

    row_count = {"type": "expect_table_row_count_to_equal",
                 "kwargs": {"value": {"$PARAMETER": suites.LANDED_ROWS}},
                 "meta": {"action": "warn", "reason": "rows differ from the manifest"}}
    document = {"name": "memo", "expectations": [
        _conditioned_rule("x", "a_sent"), _conditioned_rule("y", "a_sent"),
        _conditioned_rule("x", "b_sent"), row_count,
    ]}
    runner = suites.GxRunner(tmp_path / "docs", "memo")

    def failing(frame, landed_rows=None):
        outcomes = sorted(runner.run("dossier", document, frame, landed_rows=landed_rows),
                          key=lambda o: o.ordinal)
        assert outcomes[3].success == (landed_rows in (None, len(frame)))
        return [sorted(o.failing_row_ids) for o in outcomes[:3]]

    def frame(x, y, a_sent, b_sent):
        return pd.DataFrame({"row_id": range(len(x)), "record_key": [f"K{i}" for i in range(len(x))],
                             "x": x, "y": y, "a_sent": a_sent, "b_sent": b_sent})

    first = frame([None, 1.0, None, 1.0], [1.0, None, None, 1.0],
                  [True, True, False, True], [False, True, True, True])
    assert failing(first) == [[0], [1], [2]]
    second = frame([1.0, None, None, None], [None, 1.0, 1.0, None],
                   [True, True, True, False], [True, False, True, True])
    assert failing(second, landed_rows=5) == [[1, 2], [0], [2, 3]]
    assert failing(first, landed_rows=4) == [[0], [1], [2]]


def test_an_unchanged_reference_list_reuses_its_outcomes_until_it_or_its_suite_changes(tmp_path, monkeypatch, caplog):
    """The nightly lists are nearly always the same: their last outcomes are reused while the list
    and its suite are unchanged (suites.UnchangedOutcomes); a changed list or a suite edited by
    hand is validated again."""
    import logging

    from support.validation_data import agency

    caplog.set_level(logging.INFO, logger="etl.validation")
    settings = settings_in(tmp_path / "wh")
    listed = [agency("000.00.04.G18"), agency("A-level", CapDonVi="PHUONG")]

    def invalid_agencies(day, agencies):
        manifest = land(tmp_path / "raw", "agency", day, agencies)
        caplog.clear()
        out = validation.validate(settings, [manifest])
        reused = any("agency: the same list and suite" in r.getMessage() for r in caplog.records)
        invalid = sorted(r["record_key"] for r in read_parquet(out / "agency.parquet") if not r["is_valid"])
        return invalid, reused

    assert invalid_agencies("2023-02-01", listed) == (["A-level"], False)
    assert invalid_agencies("2023-02-02", listed) == (["A-level"], True)  # the next night, the same list
    kept = settings.warehouse_dir / validation.REFERENCE_OUTCOMES / "agency.json"
    written = json.loads(kept.read_text(encoding="utf-8"))
    for outcome in written["outcomes"]:
        del outcome["ordinal"]  # as kept by a version whose outcomes had other fields
    kept.write_text(json.dumps(written), encoding="utf-8")
    assert invalid_agencies("2023-02-02", listed) == (["A-level"], False)  # validated again
    changed = listed + [agency("B-level", CapDonVi="THON")]
    assert invalid_agencies("2023-02-03", changed) == (["A-level", "B-level"], False)

    edited = tmp_path / "expectations"
    shutil.copytree(suites.DEFAULT_EXPECTATIONS_DIR, edited)
    document = json.loads((edited / "agency.json").read_text(encoding="utf-8"))
    (rule,) = [e for e in document["expectations"]
               if e["kwargs"].get("column") == "agency_level" and e["type"] == "expect_column_values_to_be_in_set"]
    rule["kwargs"]["value_set"] = sorted(set(rule["kwargs"]["value_set"]) | {"THON"})
    (edited / "agency.json").write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    monkeypatch.setenv("TTHC_EXPECTATIONS_DIR", str(edited))
    assert invalid_agencies("2023-02-04", changed) == (["A-level"], False)  # THON allowed by hand
