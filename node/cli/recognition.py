"""``doc verify --registry``: the offline verification report with recognition, and the
offline verification of an exported transferable record (``title export``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from node.cli.common import read_bytes
from protocol.documents import DocumentSchemas
from protocol.errors import ProtocolError
from protocol.limits import Limits
from protocol.strict_json import parse_json
from protocol.title_entry import TITLE_RECORD_FORMAT, TitleRecord
from protocol.validation_profile import ValidationProfile
from trust_registry import TitleChainError, TrustRegistry, verify_title
from trust_registry.verification import verify_and_recognise


def verify_with_registry(data: bytes, *, registry_path: Path, receiver: str,
                         extra_anchors: Sequence[x509.Certificate], at: dt.datetime,
                         schemas: DocumentSchemas, limits: Limits,
                         profile: ValidationProfile) -> dict[str, Any]:
    registry = TrustRegistry.from_dict(parse_json(read_bytes(registry_path),
                                                  max_bytes=256 * 1024 * 1024))
    return verify_and_recognise(data, registry=registry, receiver=receiver, at=at,
                                schemas=schemas, limits=limits, extra_anchors=tuple(extra_anchors),
                                profile=profile)


def is_title_record(data: bytes) -> bool:
    """Whether ``data`` is an exported title record (``tradeaccord-title-record-1.0``)."""
    marker = f'"format":"{TITLE_RECORD_FORMAT}"'.encode()
    if marker not in data.replace(b" ", b""):
        return False
    try:
        parsed = parse_json(data, max_bytes=len(data) + 1)
    except ProtocolError:
        return False
    return isinstance(parsed, dict) and parsed.get("format") == TITLE_RECORD_FORMAT


def verify_title_record(data: bytes, *, registry_path: Path, viewer: str, at: dt.datetime,
                        schemas: DocumentSchemas, limits: Limits) -> dict[str, Any]:
    """Verify an exported record offline: the bill and its issuer's role, every link, every
    entry signature and countersignature, against the registry file at ``at``. The report
    names the current holder (``record``) or the refusal (``reasons``)."""
    registry = TrustRegistry.from_dict(parse_json(read_bytes(registry_path),
                                                  max_bytes=256 * 1024 * 1024))
    report: dict[str, Any] = {"format": TITLE_RECORD_FORMAT, "valid": False, "record": None,
                              "reasons": [], "message": None}
    try:
        record = TitleRecord.parse(data, limits=limits)
        evidence = verify_title(record, registry=registry, at=at, schemas=schemas,
                                limits=limits)
    except (ProtocolError, TitleChainError) as error:
        report["reasons"] = [code.value for code in error.codes]
        report["message"] = error.message
        return report
    report["valid"] = True
    report["record"] = evidence.summary(viewer)
    return report


def title_report_lines(report: dict[str, Any]) -> list[str]:
    if not report["valid"]:
        return [f"title record: INVALID {', '.join(report['reasons'])}: {report['message']}"]
    record = report["record"]
    lines = [f"title record {record['id']} ({record['transportDocumentReference']}): valid, "
             f"{len(record['history'])} entries, every signature and countersignature checked",
             f"  status {record['status']}; holder {record['holder']} at "
             f"{record['custodian']} (control registry {record['controlRegistry']})"]
    for item in record["history"]:
        lines.append(f"  {item['sequence']:>3} {item['action']:<22} {item['from']} -> "
                     f"{item['to']} at {item['custodian']}")
    return lines
