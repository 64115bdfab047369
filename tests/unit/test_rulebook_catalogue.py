"""The rulebook's catalogue: every invalid kind of source-api.md is enforced by exactly one
quarantining expectation of expectations/ (meta.kind), whose reasons name the field in English
and Vietnamese; every expectation says what it means and who fixes it in both languages; the
blocking checks that stay in code are named in each suite's meta."""
from __future__ import annotations

import json
import re

import pytest

from etl import rulebook, suites
from etl.contract import ENTITIES


@pytest.fixture(scope="module")
def documents():
    return rulebook.documents()


def test_every_invalid_kind_maps_to_one_quarantining_expectation(documents):
    assert rulebook.check(documents) == []
    found = rulebook.expectations_by_kind(documents)
    assert set(found) == {k.kind for k in rulebook.INVALID_KINDS}


def test_the_catalogue_covers_every_field_source_api_names_as_invalid():
    from pathlib import Path

    spec = Path("/work/shared/spec/source-api.md")
    if not spec.is_file():
        pytest.skip("the shared spec is not on this machine")
    text = spec.read_text(encoding="utf-8")
    paragraph = text[text.index("Some records are broken"):]
    named = set(re.findall(r"\b(Ma[A-Za-z]+|TrangThai[A-Za-z]*|KenhThucHien|SoTien|HinhThucThanhToan|ThoiGianGD)\b",
                           paragraph.split("A payment with an empty")[0]))
    covered = {k.field for k in rulebook.INVALID_KINDS}
    assert named <= covered | {"MaHoSo"}, named - covered
    assert {"NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra"} <= covered


def test_a_kind_without_its_expectation_is_reported(documents):
    broken = json.loads(json.dumps(documents))
    for expectation in broken["payment"]["expectations"]:
        if expectation["meta"].get("kind") == "payment.SoTien.negative":
            del expectation["meta"]["kind"]
    assert rulebook.check(broken) == ["payment.SoTien.negative: 0 expectations name it (one is expected)"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_expectation_says_what_it_means_and_who_fixes_it_in_both_languages(documents, entity):
    for index, expectation in enumerate(documents[entity]["expectations"]):
        meta = expectation["meta"]
        notes = meta.get("notes") or {}
        assert meta["action"] in suites.ACTIONS, (entity, index)
        assert notes.get("vi") and notes.get("en") and notes.get("owner_vi") and notes.get("owner_en"), (entity, index)
        assert meta.get("reason") and meta.get("reason_vi"), (entity, index)


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_rules_are_native_expectations_not_boolean_flags(documents, entity):
    for expectation in documents[entity]["expectations"]:
        kwargs = expectation["kwargs"]
        assert kwargs.get("value_set") != [True], expectation
        assert not str(kwargs.get("column", "")).endswith(("_valid", "_present", "_parses"))


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_blocking_checks_in_code_are_named_in_the_suite(documents, entity):
    named = {c["check"] for c in documents[entity]["meta"]["code_checks"]}
    assert {"landed_files_match_manifest_checksums", "landed_rows_match_manifest",
            "required_fields_present", "staged_batch_consistent"} <= named
    kinds = {e["type"] for e in documents[entity]["expectations"] if e["meta"]["action"] == "block"}
    assert kinds == {"expect_compound_columns_to_be_unique", "expect_table_row_count_to_equal"}


def test_the_gx_document_carries_notes_and_rule_positions(documents):
    document = suites.gx_document(documents["dossier"])
    assert [e["meta"]["rule_index"] for e in document["expectations"]] == list(range(len(document["expectations"])))
    assert all(len(e["notes"]) == 3 and e["notes"][0].startswith("**Tiếng Việt.**") for e in document["expectations"])
    assert "notes" not in documents["dossier"]["expectations"][0]  # the file itself is not changed


def test_audit_column_names_are_unique_per_suite(documents):
    for entity, document in documents.items():
        names = [(e["type"], suites._column_name(e["kwargs"])) for e in document["expectations"]]
        assert len(names) == len(set(names)), entity
    assert suites._column_name({"column": "amount_vnd", "row_condition": {
        "type": "comparison", "column": {"name": "SoTien_sent"}, "operator": "==", "parameter": False}}) \
        == "amount_vnd if SoTien_sent = false"


def test_vietnamese_reasons_translate_the_stored_english_text(documents):
    catalogue = rulebook.reasons_vi(documents)
    stored = "MaHoSo is empty or not a scalar code; TrangThaiHoSo is not an integer 1…10"
    assert rulebook.translate_reasons(stored, catalogue) == \
        "MaHoSo trống hoặc không phải một mã; TrangThaiHoSo không phải số nguyên từ 1 đến 10"
    assert rulebook.translate_reasons("an unknown reason", catalogue) == "an unknown reason"


def test_the_expectations_folder_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("TTHC_EXPECTATIONS_DIR", str(tmp_path))
    assert suites.expectations_dir() == tmp_path
    monkeypatch.delenv("TTHC_EXPECTATIONS_DIR")
    assert suites.expectations_dir() == suites.DEFAULT_EXPECTATIONS_DIR


def test_a_quarantining_rule_without_a_vietnamese_reason_is_refused(monkeypatch, tmp_path, documents):
    broken = json.loads(json.dumps(documents["agency"]))
    for expectation in broken["expectations"]:
        expectation["meta"].pop("reason_vi", None)
    (tmp_path / "agency.json").write_text(json.dumps(broken), encoding="utf-8")
    monkeypatch.setenv("TTHC_EXPECTATIONS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="reason_vi"):
        suites.load_suite_document("agency")
