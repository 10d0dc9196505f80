"""``doc verify --status-from URL``: ask a node for the document's status, check its signed
answer and the issuer's statement inside, and add the status to the verification report.

The answer is signed by the responding node's key; the statement inside by the issuer's
document signer. Both are checked against the anchors the verification itself uses: the
registry's (the responder's and the issuer's roots) or the ``--anchor`` roots given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from node.cli.common import UsageProblem, read_bytes
from node.client import ClientError, ConnectionProblem, NodeClient
from protocol.certificates import authority_id_of
from protocol.errors import StatusError
from protocol.jws import IntegrityEvidence
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.status_statement import (
    AnswerStatus,
    apply_status,
    verify_answer,
    verify_statement,
)
from protocol.strict_json import parse_json
from trust_registry import TrustRegistry


def _resolver(registry: TrustRegistry | None, anchors: Sequence[x509.Certificate],
              at: dt.datetime | None) -> Any:
    """Anchors for a signer: the registry's for the authority its certificate names (valid
    at ``at``, or at the signing time when ``at`` is None), plus the ``--anchor`` roots."""
    def resolve(evidence: IntegrityEvidence) -> list[x509.Certificate]:
        found: list[x509.Certificate] = list(anchors)
        if registry is not None:
            authority = registry.authorities.get(authority_id_of(evidence.leaf) or "")  # type: ignore[call-overload]
            if authority is not None:
                found += [a.certificate for a in
                          authority.anchors_valid_at(at or evidence.signed_at)]
        return found

    return resolve


def with_status_from(report: dict[str, Any], url: str, *, registry_path: Path | None,
                     anchors: Sequence[x509.Certificate], at: dt.datetime, now: dt.datetime,
                     limits: Limits) -> dict[str, Any]:
    """The report with ``checks.status`` and ``status`` from the node at ``url``: INVALID
    with DOCUMENT_REVOKED / DOCUMENT_REPLACED when a statement is in effect at ``at``."""
    document = report.get("document") or {}
    if not document.get("id") or not document.get("sha256"):
        return report  # the document could not be read: nothing to ask about
    registry = None
    if registry_path is not None:
        registry = TrustRegistry.from_dict(parse_json(read_bytes(registry_path),
                                                      max_bytes=256 * 1024 * 1024))
    try:
        with NodeClient(url) as client:
            raw = client.status_answer(str(document["id"]), str(document.get("issuer") or "")
                                       or None)
    except (ClientError, ConnectionProblem) as exc:
        raise UsageProblem(f"cannot ask {url} for the status: {exc}") from exc
    # The answer authenticates its responder now; the statement its issuer at signing time.
    answer = verify_answer(raw, anchors=_resolver(registry, anchors, now), at=now,
                           limits=limits)
    if answer.document_id != document["id"]:
        raise StatusError(ReasonCode.STATUS_INVALID, "the answer concerns another document")
    statement = None
    if answer.status in (AnswerStatus.REVOKED, AnswerStatus.REPLACED) and answer.statement:
        statement = verify_statement(answer.statement, anchors=_resolver(registry, anchors,
                                                                          None),
                                     at=now, limits=limits).statement
        if (statement.issuer, statement.document_sha256) != (document.get("issuer"),
                                                             document.get("sha256")):
            statement = None  # a statement on another version of the id: not this document
    result = apply_status(report, statement, at)
    result["status"]["answer"] = {"status": answer.status.value,
                                  "responder": answer.responder,
                                  "producedAt": answer.to_dict()["producedAt"]}
    return result
