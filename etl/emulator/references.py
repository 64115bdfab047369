"""The reference lists (`donvi`, `thutuc`) as the emulated source serves them."""
from __future__ import annotations

import numpy as np

from etl.emulator.catalogue import Catalogue, agency_record
from etl.emulator.days import N_MESS
from etl.emulator.spelling import EMPTY_SPELLINGS, PageMess, nfd, padded
from etl.emulator.vocabulary import ABSENT_FIELD

def agency_list(cat: Catalogue, seed: int, clean: bool) -> list[dict]:
    """The agencies as the `donvi` list serves them: codes padded, names NFD, empties spelled
    as the spellings of a page pick them (PageMess), one row of uniforms per agency."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA9E]))
    mx = PageMess(rng.random((len(cat.agencies), N_MESS)), clean)
    spellings = zip(mx.pad(3, 0.05).tolist(), mx.pad(4, 0.05).tolist(), mx.pad(9, 0.05).tolist(),
                    mx.below(6, 0.15).tolist(), mx.empty.tolist())
    return [_spelled_agency(agency_record(a), *codes) for a, codes in zip(cat.agencies, spellings)]


def _spelled_agency(rec: dict, code: int, level: int, other: int, decomposed: int, empty: int) -> dict:
    rec["MaDonVi"] = padded(rec["MaDonVi"], code)
    rec["CapDonVi"] = padded(rec["CapDonVi"], level)
    if decomposed:
        rec["TenDonVi"] = nfd(rec["TenDonVi"])
    for name in ("MaDonViCha", "MaDonViKeThua"):
        rec[name] = EMPTY_SPELLINGS[empty] if rec[name] is None else padded(rec[name], other)
    if rec["HieuLucDen"] is None:
        rec["HieuLucDen"] = EMPTY_SPELLINGS[empty]
    return _present(rec)


def procedure_list(cat: Catalogue, seed: int, clean: bool) -> list[dict]:
    """The procedure versions as the `thutuc` list serves them, one row of uniforms per version."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7707]))
    versions = [(p, version) for p in cat.procedures for version in p.versions]
    mx = PageMess(rng.random((len(versions), N_MESS)), clean)
    spellings = zip(mx.pad(3, 0.05).tolist(), mx.pad(4, 0.05).tolist(), mx.pad(9, 0.05).tolist(),
                    mx.below(6, 0.15).tolist(), mx.empty.tolist())
    return [_spelled_procedure(dict(version), p, clean, *codes) for (p, version), codes in zip(versions, spellings)]


def _spelled_procedure(rec: dict, p, clean: bool, code: int, service: int, level: int, decomposed: int,
                       empty: int) -> dict:
    rec["MaTTHC"] = padded(rec["MaTTHC"], code)
    rec["MucDoDVC"] = padded(rec["MucDoDVC"], service)
    rec["CapThucHien"] = [padded(value, level) for value in rec["CapThucHien"]]
    if decomposed:
        rec["TenTTHC"] = nfd(rec["TenTTHC"])
    for name in ("ThoiHanGiaiQuyet", "HieuLucDen"):
        if rec[name] is None:
            rec[name] = EMPTY_SPELLINGS[empty]
    if not p.internal and not clean:  # NoiBo as older exports write "not internal"
        rec["NoiBo"] = (False, None, ABSENT_FIELD)[p.internal_spelling]
    return _present(rec)


def _present(rec: dict) -> dict:
    """The record without the fields it leaves out ("empty = absent")."""
    return {k: v for k, v in rec.items() if v is not ABSENT_FIELD}
