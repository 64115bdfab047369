"""The rulebook in one place: every invalid kind of source-api.md ("Some records are broken"),
the expectation of `expectations/<entity>.json` that enforces it (`meta.kind`), and the reasons
in Vietnamese and English the quarantine, the Data Docs and the reports show.

The suites are the rules; this module only reads them. `check()` says what is missing: a kind
with no quarantining expectation, or an expectation naming a kind the contract does not have.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from etl.contract import ENTITIES


@dataclass(frozen=True)
class InvalidKind:
    kind: str      # <entity>.<SourceField>.<what>
    entity: str
    field: str
    contract: str  # the sentence of source-api.md it comes from


_TS = "a present timestamp cannot be parsed (e.g. `31/02/2023 10:00:00`)"
# source-api.md, "What real exports look like", the last paragraph, kind by kind.
INVALID_KINDS: tuple[InvalidKind, ...] = (
    InvalidKind("dossier.MaHoSo.empty", "dossier", "MaHoSo", "MaHoSo … is empty"),
    InvalidKind("dossier.MaTTHC.empty", "dossier", "MaTTHC", "MaTTHC … is empty"),
    InvalidKind("dossier.MaDonVi.empty", "dossier", "MaDonVi", "MaDonVi is empty"),
    InvalidKind("dossier.TrangThaiHoSo.not_integer", "dossier", "TrangThaiHoSo",
                "TrangThaiHoSo is not an integer 1…10 (not an integer: 4.5, text, empty)"),
    InvalidKind("dossier.TrangThaiHoSo.out_of_range", "dossier", "TrangThaiHoSo",
                "TrangThaiHoSo is not an integer 1…10 (an integer outside 1…10)"),
    InvalidKind("dossier.KenhThucHien.unknown_label", "dossier", "KenhThucHien",
                "KenhThucHien is not one of the three channels (empty or another label)"),
    InvalidKind("dossier.KenhThucHien.unknown_number", "dossier", "KenhThucHien",
                "KenhThucHien is not one of the three channels (another number)"),
    *(InvalidKind(f"dossier.{f}.unparseable", "dossier", f, _TS)
      for f in ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra",
                "NgayCapNhat")),
    InvalidKind("payment.MaGiaoDich.empty", "payment", "MaGiaoDich", "MaGiaoDich is empty"),
    InvalidKind("payment.SoTien.empty", "payment", "SoTien", "SoTien is empty"),
    InvalidKind("payment.SoTien.unparseable", "payment", "SoTien", "SoTien … cannot be parsed"),
    InvalidKind("payment.SoTien.negative", "payment", "SoTien", "SoTien … is negative"),
    InvalidKind("payment.HinhThucThanhToan.empty", "payment", "HinhThucThanhToan",
                "HinhThucThanhToan … is not one of its values (empty)"),
    InvalidKind("payment.HinhThucThanhToan.unknown", "payment", "HinhThucThanhToan",
                "HinhThucThanhToan … is not one of its values"),
    InvalidKind("payment.TrangThai.empty", "payment", "TrangThai",
                "TrangThai is not one of its values (empty)"),
    InvalidKind("payment.TrangThai.unknown", "payment", "TrangThai",
                "TrangThai is not one of its values"),
    InvalidKind("payment.ThoiGianGD.empty", "payment", "ThoiGianGD", "ThoiGianGD is empty"),
    InvalidKind("payment.ThoiGianGD.unparseable", "payment", "ThoiGianGD",
                "ThoiGianGD … cannot be parsed"),
)


def documents() -> dict[str, dict[str, Any]]:
    from etl.suites import load_suite_document

    return {entity: load_suite_document(entity) for entity in ENTITIES}


def expectations_by_kind(docs: dict[str, dict[str, Any]] | None = None) -> dict[str, list[tuple[str, int, dict]]]:
    """kind → [(entity, position, expectation)] of the quarantining expectations naming it."""
    docs = documents() if docs is None else docs
    found: dict[str, list[tuple[str, int, dict]]] = {}
    for entity, document in docs.items():
        for index, expectation in enumerate(document["expectations"]):
            meta = expectation.get("meta") or {}
            if meta.get("kind"):
                found.setdefault(meta["kind"], []).append((entity, index, expectation))
    return found


def check(docs: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """What keeps the suites from covering the contract: one line per problem (none: [])."""
    found = expectations_by_kind(docs)
    known = {k.kind: k for k in INVALID_KINDS}
    problems = []
    for kind in known.values():
        rules = found.get(kind.kind, [])
        if len(rules) != 1:
            problems.append(f"{kind.kind}: {len(rules)} expectations name it (one is expected)")
            continue
        entity, index, expectation = rules[0]
        meta = expectation["meta"]
        if entity != kind.entity or meta.get("field") != kind.field:
            problems.append(f"{kind.kind}: enforced by {entity} #{index} on {meta.get('field')}")
        if meta.get("action") != "quarantine":
            problems.append(f"{kind.kind}: {entity} #{index} does not quarantine")
        if not meta.get("reason", "").startswith(f"{kind.field} is") or not meta.get("reason_vi"):
            problems.append(f"{kind.kind}: the reasons must name {kind.field}, in both languages")
    for kind in sorted(set(found) - set(known)):
        problems.append(f"{kind}: named by an expectation, not an invalid kind of source-api.md")
    return problems


def reasons_vi(docs: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """English reason (as in audit.quarantine.reasons) → its Vietnamese text."""
    docs = documents() if docs is None else docs
    catalogue: dict[str, str] = {}
    for document in docs.values():
        for expectation in document["expectations"]:
            meta = expectation.get("meta") or {}
            if meta.get("reason") and meta.get("reason_vi"):
                catalogue.setdefault(meta["reason"], meta["reason_vi"])
    return catalogue


def translate_reasons(reasons: str, catalogue: dict[str, str]) -> str:
    """'a; b' (English, as stored) → the same reasons in Vietnamese where the catalogue has them."""
    return "; ".join(catalogue.get(part.strip(), part.strip()) for part in reasons.split(";") if part.strip())
