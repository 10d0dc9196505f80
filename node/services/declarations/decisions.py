"""Signed clearance decisions (``clearance-decision`` 1.1): building, signing and reading them.

Every decision of the flow — export or import, by the rules or by an officer — is a document
signed by the deciding customs node, so it verifies offline like any other document. Its
body names the decision, the reason codes and findings behind it, the preference outcome
(import), who decided (``system`` or ``officer``) and, for an officer's decision, the
officer's reason in plain words.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from node.context import NodeContext
from node.services.declarations.states import Decision
from protocol.jws import GeneralJWS
from protocol.reason_codes import ReasonCode
from protocol.signed_document import document_sha256, sign_document
from protocol.timeutil import format_time, parse_time

DECISION_TYPE = "clearance-decision"
DECISION_VERSION = "1.1"
_MAX_REASON = 4096


class Procedure:
    EXPORT = "export-clearance"
    IMPORT = "import-clearance"


@dataclass(frozen=True, slots=True)
class SignedDecision:
    """A decision as signed: the JWS, its document and digest."""

    jws: GeneralJWS
    document: dict[str, Any]
    sha256: str

    @property
    def document_id(self) -> str:
        return str(self.document["id"])


def reference(document: Mapping[str, Any], sha256: str) -> dict[str, str]:
    """A ``references[]`` entry for ``document`` (its digest given by the caller)."""
    return {"id": str(document["id"]), "type": str(document["type"]), "sha256": sha256}


def _declarant(declaration: Mapping[str, Any]) -> list[dict[str, Any]]:
    parties = [p for p in declaration.get("parties", ()) if p.get("role") == "declarant"]
    chosen = parties[:1] or list(declaration.get("parties", ()))[:1]
    return [{key: party[key] for key in ("role", "id", "name", "country") if key in party}
            for party in chosen]


def _parties(declaration: Mapping[str, Any], extra: Sequence[Mapping[str, Any]]
             ) -> list[dict[str, Any]]:
    parties = _declarant(declaration)
    seen = {(p.get("role"), p.get("id")) for p in parties}
    for party in extra:
        key = (party.get("role"), party.get("id"))
        if key not in seen:
            seen.add(key)
            parties.append({k: party[k] for k in ("role", "id", "name", "country") if k in party})
    return parties


def rules_of(ruleset: Any) -> dict[str, str]:
    """What a decision records of the rule set it applied."""
    return {"rulesetId": str(ruleset.ruleset_id), "version": str(ruleset.version),
            "sha256": str(ruleset.sha256)}


def sign_decision(
    ctx: NodeContext,
    *,
    procedure: str,
    decision: Decision,
    declaration: Mapping[str, Any],
    declaration_sha256: str,
    at: dt.datetime,
    reasons: Sequence[ReasonCode] = (),
    findings: Sequence[Mapping[str, Any]] = (),
    preference: Mapping[str, Any] | None = None,
    officer_reason: str | None = None,
    extra_references: Sequence[Mapping[str, str]] = (),
    related_decision_id: str | None = None,
    ucr: str | None = None,
    customs_office: str | None = None,
    extra_parties: Sequence[Mapping[str, Any]] = (),
    rules: Mapping[str, str] | None = None,
) -> SignedDecision:
    """Sign a clearance decision on ``declaration`` at ``at`` (this node is the issuer); the
    customs office is the declaration's office unless given. ``extra_parties`` join the
    declarant (an import decision also names the exporter, so that the trader who declared
    sees it); ``rules`` names the rule set applied (id, version, SHA-256) in
    ``extensions["tradeaccord:rules"]``."""
    body: dict[str, Any] = {
        "procedure": procedure,
        "decision": decision.value,
        "decidedAt": format_time(at),
        "customsOffice": customs_office or str(declaration["body"]["declarationOffice"]),
        "declarationId": str(declaration["id"]),
        "decidedBy": "officer" if officer_reason is not None else "system",
        "reasons": [code.value for code in dict.fromkeys(reasons)],
        "findings": [dict(finding) for finding in findings],
    }
    text = officer_reason if officer_reason else _system_reason(decision, reasons, findings)
    if text:
        body["reason"] = text[:_MAX_REASON]
    if preference is not None:
        body["preference"] = dict(preference)
    if related_decision_id is not None:
        body["relatedDecisionId"] = related_decision_id
    if ucr:
        body["ucr"] = ucr
    document: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": DECISION_TYPE,
        "version": DECISION_VERSION,
        "issuedAt": format_time(at),
        "issuer": ctx.authority_id,
        "parties": _parties(declaration, extra_parties),
        "references": [reference(declaration, declaration_sha256), *extra_references],
        "body": body,
    }
    if rules is not None:
        document["extensions"] = {"tradeaccord:rules": dict(rules)}
    ctx.schemas.validate(document)
    jws = sign_document(document, ctx.document_signer, signed_at=at)
    return SignedDecision(jws, document, document_sha256(jws))


def _system_reason(decision: Decision, reasons: Sequence[ReasonCode],
                   findings: Sequence[Mapping[str, Any]]) -> str:
    """The plain-words reason the rules give (required when held or rejected)."""
    if decision is Decision.RELEASED:
        return ""
    parts = []
    holds = [f for f in findings if f.get("severity") == "hold"]
    if holds:
        titles = "; ".join(str(f.get("title", f.get("ruleId"))) for f in holds[:5])
        parts.append(f"{len(holds)} finding(s) to review: {titles}.")
    for code in dict.fromkeys(reasons):
        if code is not ReasonCode.RECONCILIATION_MISMATCH:
            parts.append(f"{code.value}: {code.description}")
    verb = "Held for an officer" if decision is Decision.HELD else "Rejected"
    return f"{verb}. " + " ".join(parts) if parts else verb + "."


@dataclass(frozen=True, slots=True)
class DecisionContent:
    """What a received decision says (its body, read back)."""

    procedure: str
    decision: Decision
    decided_at: dt.datetime
    decided_by: str
    reasons: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]
    preference: dict[str, Any] | None
    reason: str | None
    declaration_id: str

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> DecisionContent:
        """Read a schema-valid clearance decision (1.0 ``refused`` reads as rejected)."""
        body = document["body"]
        raw = str(body["decision"])
        decision = Decision.REJECTED if raw == "refused" else (
            Decision.RELEASED if raw == "released-with-conditions" else Decision(raw))
        return cls(
            procedure=str(body["procedure"]),
            decision=decision,
            decided_at=parse_time(str(body["decidedAt"])),
            decided_by=str(body.get("decidedBy", "system")),
            reasons=tuple(str(code) for code in body.get("reasons", ())),
            findings=tuple(dict(f) for f in body.get("findings", ())),
            preference=dict(body["preference"]) if body.get("preference") else None,
            reason=body.get("reason"),
            declaration_id=str(body["declarationId"]),
        )
