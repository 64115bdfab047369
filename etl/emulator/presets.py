"""Size presets of the emulated province. Kept free of heavy imports: the command line reads
them to build `--help` for every `python -m etl` command."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SizePreset:
    departments: int
    districts: int
    communes_per_district: int
    base_procedure_variants: int  # versions of each base procedure name (cấp mới, cấp lại …)
    dossiers_per_day: int


SIZES = {
    "small": SizePreset(departments=10, districts=4, communes_per_district=5,
                        base_procedure_variants=1, dossiers_per_day=300),
    "medium": SizePreset(departments=18, districts=8, communes_per_district=10,
                         base_procedure_variants=3, dossiers_per_day=2000),
    "large": SizePreset(departments=24, districts=12, communes_per_district=18,
                        base_procedure_variants=6, dossiers_per_day=8500),
}
