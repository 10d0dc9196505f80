"""The code lists the ePhyto mapping reads and writes, loaded from the package's data files.

Each file in ``codelists/`` names its origin (agency, list, version, where it was copied
from) and licence; ``CodeLists.load`` reads them all, checks their shape and builds the
look-ups below. Nothing is read at import time. A malformed data file is our bug and raises
``ValueError``.

- document type: UNTDID 1001 ``851`` (export) and ``657`` (re-export);
- document status: UNTDID 4405 (``70`` issued is written; others are read and kept);
- transport mode: UN/ECE Recommendation 19 (``0``-``9``, unchanged both ways);
- treatment type: UN/CEFACT process type codes D16B for ``AppliedSPSProcess/TypeCode``;
- units: UN/ECE Recommendation 20 for weights, volumes, durations and temperatures;
- IPPC subjects: note subjects, treatment characteristics, classification systems.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CodeLists"]

_DIRECTORY = Path(__file__).parent / "codelists"
_FILES = ("document-name-codes.json", "status-codes.json", "transport-mode-codes.json",
          "process-type-codes.json", "unit-codes.json", "ippc-subject-codes.json")


@dataclass(frozen=True, slots=True)
class CodeLists:
    """Immutable look-ups built from the code list files (see the module docstring)."""

    type_code_by_certificate_type: Mapping[str, str]
    certificate_type_by_type_code: Mapping[str, str]
    status_names: Mapping[str, str]
    transport_modes: Mapping[str, str]
    process_code_by_treatment: Mapping[str, str]
    treatment_by_process_code: Mapping[str, str]
    process_names: Mapping[str, str]
    unit_names: Mapping[str, str]
    note_subjects: Mapping[str, str]
    characteristic_subjects: Mapping[str, str]
    origins: Mapping[str, Mapping[str, Any]]

    @classmethod
    def load(cls, directory: Path | None = None) -> CodeLists:
        """Read every code list file of ``directory`` (default: the package's)."""
        root = _DIRECTORY if directory is None else Path(directory)
        data = {name: _read(root / name) for name in _FILES}
        doc_types = data["document-name-codes.json"]["codes"]
        processes = data["process-type-codes.json"]
        subjects = data["ippc-subject-codes.json"]
        lists = cls(
            type_code_by_certificate_type={c["certificateType"]: c["code"] for c in doc_types},
            certificate_type_by_type_code={c["code"]: c["certificateType"] for c in doc_types},
            status_names=_names(data["status-codes.json"]),
            transport_modes=_names(data["transport-mode-codes.json"]),
            process_code_by_treatment=dict(processes["export"]),
            treatment_by_process_code={c["code"]: c["treatment"] for c in processes["codes"]
                                       if "treatment" in c},
            process_names=_names(processes),
            unit_names=_names(data["unit-codes.json"]),
            note_subjects={n["subject"]: n["name"] for n in subjects["notes"]},
            characteristic_subjects={n["subject"]: n["name"]
                                     for n in subjects["treatmentCharacteristics"]},
            origins={name: content["origin"] for name, content in data.items()},
        )
        unknown = set(lists.process_code_by_treatment.values()) - set(lists.process_names)
        if unknown:
            raise ValueError(f"process-type-codes.json exports codes it does not list: {unknown}")
        return lists


def _read(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read code list {path}: {exc}") from exc
    if not isinstance(content, dict) or not isinstance(content.get("origin"), dict):
        raise ValueError(f"code list {path} must be an object with an origin")
    return content


def _names(content: Mapping[str, Any]) -> dict[str, str]:
    return {c["code"]: c["name"] for c in content["codes"]}
