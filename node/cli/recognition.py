"""``doc verify --registry``: the offline verification report with recognition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from node.cli.common import read_bytes
from protocol.documents import DocumentSchemas
from protocol.limits import Limits
from protocol.strict_json import parse_json
from protocol.validation_profile import ValidationProfile
from trust_registry import TrustRegistry
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
