"""Pseudonymization of the personal data in source records (operations.md, "Warehouse layout").

Applied to every record before anything is written: the applicant's name and phone are dropped,
the ID number is replaced by a keyed hash so distinct applicants can still be counted without the
number itself ever reaching disk. Pure functions; the key comes from `Settings.require_pii_key()`.
"""
from __future__ import annotations

import functools
import hmac
from typing import Any

NAME_FIELD = "ChuHoSo"
PHONE_FIELD = "SoDienThoai"
ID_FIELD = "SoGiayToChuHoSo"
ID_HASH_FIELD = "SoGiayToChuHoSoHash"
DROPPED_FIELDS = (NAME_FIELD, PHONE_FIELD)
METHOD = "hmac-sha256"


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    # A copy keeps the key's precomputed pads: cheaper per record than hmac.digest.
    return hmac.new(key, digestmod="sha256")


def applicant_key(id_number: Any, key: bytes) -> str | None:
    """Hex HMAC-SHA256 of the trimmed ID number; None when the ID is empty.

    Trimming first makes `" 0790…"` and `"0790…"` the same applicant. A number sent as a JSON
    integer hashes like its digits.
    """
    if id_number is None:
        return None
    text = id_number.strip() if isinstance(id_number, str) else str(id_number).strip()
    if not text:
        return None
    mac = _keyed(key).copy()
    mac.update(text.encode("utf-8"))
    return mac.hexdigest()


def pseudonymize_in_place(record: dict[str, Any], key: bytes) -> dict[str, Any]:
    """Remove the personal data of `record` itself (and return it); every other field is left
    exactly as received. In place: extraction owns each decoded record, and a copy per record
    doubled a page's memory.

    `SoGiayToChuHoSo` becomes `SoGiayToChuHoSoHash` (null when empty); records without it (payments,
    reference lists) gain no hash field.
    """
    for name in DROPPED_FIELDS:
        record.pop(name, None)
    if ID_FIELD in record:
        record[ID_HASH_FIELD] = applicant_key(record.pop(ID_FIELD), key)
    return record
