"""Import clearance: declarative rules over a forwarded declaration and its certificates.

The importing customs node recognises every forwarded document (``trust_registry``) and
hands this module the declaration and, per certificate, a :class:`CertificateFact`: the
parsed document, whether it was recognised (and if not, the reason codes), and the registry
roles of its issuer. The rules are data — ``clearance/rules/import-clearance-1.0.json``,
schema ``clearance/schemas/import-rules-1.0.schema.json`` — of two kinds:

- ``preference`` (exactly one per rule set): a goods item claiming a tariff preference (a
  value at ``items.claim``, e.g. ``/preference/agreement``) is covered by a certificate of
  ``certificate.type`` that is *trusted* — recognised, and its issuer holds
  ``certificate.issuerRole`` — whose value at ``certificate.agreement`` is the claimed
  agreement and which has a goods element (under ``certificate.goods``) with, for each
  ``match`` pair, the item's value (e.g. ``/hsCode``, ``/originCountry``);
- ``certificateRequired``: a goods item whose HS code starts with one of ``hsPrefixes``
  (e.g. chapters 06–14, plants) is covered by a trusted certificate of the type whose goods
  include one matching it — or, with ``unlistedCoversAll``, whose goods state none of the
  matched members (a certificate for the whole consignment).

Rules of application (:func:`assess_import`)
============================================

1. The declaration is an object of type ``customs-declaration`` with a string ``id`` and a
   version the rule set reads; each certificate's document has a string ``id`` and
   ``type`` and, for a type the rule set reads, a listed version. Otherwise ``ValueError``.
   Certificates are taken in the order of their ids.
2. For an item no trusted certificate covers, the underlying reason is, in this order:
   no certificate of the type in the package → ``CERTIFICATE_MISSING``; certificates whose
   content covers the item but none recognised → ``CERTIFICATE_NOT_RECOGNISED`` followed by
   those certificates' own reasons; covering certificates recognised but whose issuer lacks
   the role → ``ISSUER_ROLE_MISSING``; no certificate's content covers the item (goods,
   origin or agreement) → ``GOODS_NOT_COVERED``. The content is checked first so that the
   reason names what would actually fix the declaration.
3. A rule with an uncovered item yields one finding (its severity) citing the items and
   the certificates considered. The preference outcome is ``claimed`` when any item claims,
   ``eligible`` when every claiming item is covered (``None`` when nothing is claimed), with
   the distinct reasons of the uncovered items and the ids of the covering certificates.
   An ineligible preference does not hold the declaration unless its rule's severity is
   ``hold`` (the shipped rule says ``warn``: duties are due at the general rate).
4. The decision is ``held`` when any finding has severity ``hold``, else ``released``;
   its reasons are the distinct codes behind the hold findings, in rule order.
"""

from __future__ import annotations

from collections import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from clearance._json import (
    MISSING,
    Tokens,
    format_pointer,
    json_equal,
    parse_pointer,
    readable,
    resolve,
    show,
)
from clearance._ruleset import RuleSetBase
from clearance.errors import ClearanceRulesError
from clearance.findings import MAX_SUBJECTS, Finding, Severity, Subject
from protocol.reason_codes import ReasonCode

__all__ = [
    "CertificateFact",
    "ImportAssessment",
    "ImportDecision",
    "ImportRule",
    "ImportRuleSet",
    "PreferenceOutcome",
    "assess_import",
]

_DECLARATION: Final = "customs-declaration"
_DEFAULT_FILE: Final = "import-clearance-1.0.json"
_SCHEMA: Final = "import-rules-1.0.schema.json"
_ITEMS_CITED: Final = MAX_SUBJECTS // 2
_NOTE_LIMIT: Final = 256
_MESSAGE_LIMIT: Final = 4096


class ImportDecision(StrEnum):
    """The importing customs' decision on a forwarded declaration."""

    RELEASED = "released"
    HELD = "held"


def _distinct(codes: Iterable[ReasonCode]) -> tuple[ReasonCode, ...]:
    return tuple(dict.fromkeys(codes))


@dataclass(frozen=True, slots=True)
class CertificateFact:
    """What the importing node established about one certificate in the package.

    ``recognised``: the trust registry recognised it; ``reasons``: why not (empty when
    recognised); ``issuer_roles``: the registry roles of its issuing authority.
    """

    document: Mapping[str, Any]
    recognised: bool
    reasons: tuple[ReasonCode, ...] = ()
    issuer_roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.document, abc.Mapping):
            raise ValueError("a certificate's document must be a JSON object")
        if not isinstance(self.document.get("id"), str) or not isinstance(self.document.get("type"), str):
            raise ValueError("a certificate's document lacks a string id or type")
        if not isinstance(self.recognised, bool):
            raise ValueError("recognised must be a bool")
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "issuer_roles", tuple(self.issuer_roles))
        if not all(isinstance(code, ReasonCode) for code in self.reasons):
            raise ValueError("reasons must be ReasonCode values")
        if not all(isinstance(role, str) for role in self.issuer_roles):
            raise ValueError("issuer_roles must be strings")

    @property
    def document_id(self) -> str:
        return str(self.document["id"])

    @property
    def document_type(self) -> str:
        return str(self.document["type"])


@dataclass(frozen=True, slots=True)
class PreferenceOutcome:
    """Whether the declaration claims a tariff preference and whether the claim is eligible."""

    claimed: bool
    eligible: bool | None
    reasons: tuple[ReasonCode, ...] = ()
    certificate_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.claimed == (self.eligible is None):
            raise ValueError("eligible is None exactly when nothing is claimed")
        if self.eligible and self.reasons:
            raise ValueError("an eligible preference has no reasons")

    def to_dict(self) -> dict[str, Any]:
        """The ``preference`` object of ``clearance-decision`` 1.1."""
        return {
            "claimed": self.claimed,
            "eligible": self.eligible,
            "reasons": [code.value for code in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class ImportAssessment:
    """The outcome of the import rules: decision, its reasons, all findings, the preference."""

    decision: ImportDecision
    reasons: tuple[ReasonCode, ...]
    findings: tuple[Finding, ...]
    preference: PreferenceOutcome


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CertificateSpec:
    doc_type: str
    issuer_role: str
    goods: Tokens
    match: tuple[tuple[Tokens, Tokens], ...]  # (item pointer, goods pointer)
    agreement: Tokens | None
    unlisted_covers_all: bool

    def trusted(self, fact: CertificateFact) -> bool:
        return fact.recognised and self.issuer_role in fact.issuer_roles

    def covers(self, fact: CertificateFact, item: Any, claim: Any) -> bool:
        """Whether the certificate's content covers the item (trust aside)."""
        if self.agreement is not None:
            stated = resolve(fact.document, self.agreement)
            if stated is MISSING or not json_equal(stated, claim):
                return False
        goods = resolve(fact.document, self.goods)
        elements = list(goods) if isinstance(goods, list | tuple) else []
        if self.unlisted_covers_all and not any(
            resolve(element, goods_at) is not MISSING for element in elements for _i, goods_at in self.match
        ):
            return True
        wanted = [resolve(item, item_at) for item_at, _g in self.match]
        if any(value is MISSING for value in wanted):
            return False
        return any(
            all(
                (found := resolve(element, goods_at)) is not MISSING and json_equal(found, value)
                for (_i, goods_at), value in zip(self.match, wanted, strict=True)
            )
            for element in elements
        )


@dataclass(frozen=True, slots=True)
class _ItemResult:
    pointer: str
    value: Any
    described: str
    covered_by: CertificateFact | None
    reasons: tuple[ReasonCode, ...]
    considered: tuple[CertificateFact, ...]


@dataclass(frozen=True, slots=True)
class ImportRule:
    """One import rule: identity, officer's title, severity, and what it requires."""

    rule_id: str
    version: str
    title: str
    severity: Severity
    kind: str  # "preference" or "certificateRequired"
    description: str | None = field(repr=False)
    array: Tokens = field(repr=False)
    selector: Tokens = field(repr=False)  # the claim (preference) or the HS code pointer
    hs_prefixes: tuple[str, ...] = field(repr=False)
    certificate: _CertificateSpec = field(repr=False)

    def _selected(self, declaration: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        """(pointer, item, selected value) of the goods items this rule applies to."""
        items = resolve(declaration, self.array)
        if not isinstance(items, list | tuple):
            return []
        selected = []
        for index, item in enumerate(items):
            value = resolve(item, self.selector)
            if value is MISSING:
                continue
            if self.kind != "preference" and not (
                isinstance(value, str) and value.startswith(self.hs_prefixes)
            ):
                continue
            pointer = format_pointer((*self.array, str(index), *self.selector))
            selected.append((pointer, item, value))
        return selected

    def _describe(self, item: Any, value: Any) -> str:
        parts = [
            f"{format_pointer(at)[1:]} {show(resolve(item, at), 40)}" for at, _g in self.certificate.match
        ]
        if self.kind == "preference":
            parts.append(f"under {show(value, 60)}")
        return ", ".join(parts)

    def _assess(self, pointer: str, item: Any, value: Any, facts: Sequence[CertificateFact]) -> _ItemResult:
        """Rule 2 of the module docstring for one item."""
        spec = self.certificate
        claim = value if self.kind == "preference" else None
        described = self._describe(item, value)
        of_type = tuple(f for f in facts if f.document_type == spec.doc_type)
        if not of_type:
            return _ItemResult(pointer, value, described, None, (ReasonCode.CERTIFICATE_MISSING,), ())
        covering = tuple(f for f in of_type if spec.covers(f, item, claim))
        for fact in covering:
            if spec.trusted(fact):
                return _ItemResult(pointer, value, described, fact, (), ())
        if not covering:
            return _ItemResult(pointer, value, described, None, (ReasonCode.GOODS_NOT_COVERED,), of_type)
        if any(fact.recognised for fact in covering):
            return _ItemResult(pointer, value, described, None, (ReasonCode.ISSUER_ROLE_MISSING,), covering)
        reasons = _distinct(
            [ReasonCode.CERTIFICATE_NOT_RECOGNISED, *(c for f in covering for c in f.reasons)]
        )
        return _ItemResult(pointer, value, described, None, reasons, covering)

    def _evaluate(
        self, declaration: Mapping[str, Any], facts: Sequence[CertificateFact]
    ) -> tuple[list[_ItemResult], Finding | None, tuple[ReasonCode, ...]]:
        """Per selected item its result; the finding if any item is uncovered; its reasons."""
        results = [self._assess(p, item, value, facts) for p, item, value in self._selected(declaration)]
        failed = [r for r in results if r.covered_by is None]
        if not failed:
            return results, None, ()
        reasons = _distinct(code for r in failed for code in r.reasons)
        return results, self._finding(declaration, failed, len(results)), reasons

    def _finding(self, declaration: Mapping[str, Any], failed: list[_ItemResult], total: int) -> Finding:
        spec = self.certificate
        doc_id, doc_type = str(declaration["id"]), str(declaration["type"])
        cited = failed[:_ITEMS_CITED]
        subjects: list[Subject] = []
        for result in cited:
            value = readable(result.value) if _is_plain(result.value) else show(result.value)
            note = _short(f"{result.described}: {', '.join(c.value for c in result.reasons)}")
            subjects.append(Subject(doc_id, doc_type, result.pointer, value, note))
        considered = {f.document_id: f for r in cited for f in r.considered}
        for fact in list(considered.values())[: MAX_SUBJECTS - len(subjects)]:
            subjects.append(
                Subject(
                    fact.document_id,
                    fact.document_type,
                    "/issuer",
                    _issuer(fact),
                    _short(self._certificate_note(fact)),
                )
            )
        what = "claiming preference" if self.kind == "preference" else "that require it"
        lines = "; ".join(f"{r.pointer} ({r.described}): {self._explain(r)}" for r in cited)
        more = f" (the first {len(cited)} are cited)" if len(failed) > len(cited) else ""
        message = (
            f"{len(failed)} of {total} goods items {what} are not covered by a recognised "
            f"{spec.doc_type} from an authority with the {spec.issuer_role} role{more}: {lines}"
        )
        if len(message) > _MESSAGE_LIMIT:
            message = message[: _MESSAGE_LIMIT - 1] + "…"
        return Finding(self.rule_id, self.version, self.title, self.severity, message, tuple(subjects))

    def _explain(self, result: _ItemResult) -> str:
        spec = self.certificate
        code = result.reasons[0]
        ids = ", ".join(f.document_id for f in result.considered)
        if code is ReasonCode.CERTIFICATE_MISSING:
            return f"no {spec.doc_type} in the package"
        if code is ReasonCode.GOODS_NOT_COVERED:
            return f"no {spec.doc_type} covers these goods ({ids} considered)"
        if code is ReasonCode.ISSUER_ROLE_MISSING:
            return f"the issuer of {ids} does not hold the {spec.issuer_role} role"
        own = ", ".join(c.value for c in result.reasons[1:]) or "no reason given"
        return f"{ids} not recognised ({own})"

    def _certificate_note(self, fact: CertificateFact) -> str:
        if not fact.recognised:
            own = ", ".join(c.value for c in fact.reasons) or "no reason given"
            return f"not recognised: {own}"
        if self.certificate.issuer_role not in fact.issuer_roles:
            return f"recognised; the issuer lacks the {self.certificate.issuer_role} role"
        return "recognised; does not cover these goods"


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _issuer(fact: CertificateFact) -> Any:
    issuer = fact.document.get("issuer")
    return readable(issuer) if _is_plain(issuer) else show(issuer)


def _short(text: str) -> str:
    return text if len(text) <= _NOTE_LIMIT else text[: _NOTE_LIMIT - 1] + "…"


class ImportRuleSet(RuleSetBase[ImportRule]):
    """The import clearance rules (default file ``rules/import-clearance-1.0.json``), exactly
    one of kind ``preference``.

    Build it with :meth:`load` or :meth:`from_dict`; a bad file is refused with
    :class:`~clearance.errors.ClearanceRulesError` naming the file and the pointer. Exposes
    ``ruleset_id``, ``version``, ``description``, ``document_versions``, ``rules`` (each an
    :class:`ImportRule`) and ``sha256``.
    """

    SCHEMA = _SCHEMA
    DEFAULT_FILE = _DEFAULT_FILE
    __slots__ = ()

    @classmethod
    def _build_rules(
        cls, items: list[dict[str, Any]], versions: Mapping[str, tuple[str, ...]], file: str | None
    ) -> tuple[ImportRule, ...]:
        return _build_rules(items, versions, file)


def _build_rules(
    items: list[dict[str, Any]], versions: Mapping[str, tuple[str, ...]], file: str | None
) -> tuple[ImportRule, ...]:
    """Rule values from schema-valid rule objects; refuses what the schema cannot say."""
    if _DECLARATION not in versions:
        raise ClearanceRulesError(
            f"documentVersions must list {_DECLARATION}", file=file, pointer="/documentVersions"
        )
    rules: list[ImportRule] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        at = f"/rules/{index}"
        if item["ruleId"] in seen:
            raise ClearanceRulesError(
                f"rule id {item['ruleId']} appears twice", file=file, pointer=f"{at}/ruleId"
            )
        seen.add(item["ruleId"])
        cert = item["certificate"]
        if cert["type"] not in versions:
            raise ClearanceRulesError(
                f"the rule reads {cert['type']}, which documentVersions does not list",
                file=file,
                pointer=f"{at}/certificate/type",
            )
        spec = _CertificateSpec(
            doc_type=cert["type"],
            issuer_role=cert["issuerRole"],
            goods=parse_pointer(cert["goods"]),
            match=tuple((parse_pointer(m["item"]), parse_pointer(m["goods"])) for m in cert["match"]),
            agreement=parse_pointer(cert["agreement"]) if "agreement" in cert else None,
            unlisted_covers_all=cert.get("unlistedCoversAll", False),
        )
        preference = item["kind"] == "preference"
        selector = item["items"]["claim"] if preference else item["items"]["hsCode"]
        rules.append(
            ImportRule(
                rule_id=item["ruleId"],
                version=item["version"],
                title=item["title"],
                severity=Severity(item["severity"]),
                kind=item["kind"],
                description=item.get("description"),
                array=parse_pointer(item["items"]["array"]),
                selector=parse_pointer(selector),
                hs_prefixes=() if preference else tuple(item["items"]["hsPrefixes"]),
                certificate=spec,
            )
        )
    count = sum(rule.kind == "preference" for rule in rules)
    if count != 1:
        raise ClearanceRulesError(
            f"a rule set has exactly one preference rule, not {count}", file=file, pointer="/rules"
        )
    return tuple(rules)


def _check_version(document: Mapping[str, Any], versions: Mapping[str, tuple[str, ...]], what: str) -> None:
    listed = versions.get(str(document.get("type")))
    if listed is not None and document.get("version") not in listed:
        raise ValueError(
            f"{what} {document.get('id')} is {document.get('type')} version {document.get('version')!r}; "
            f"the rule set reads versions {', '.join(listed)}"
        )


def assess_import(
    declaration: Mapping[str, Any], certificates: Sequence[CertificateFact], rules: ImportRuleSet
) -> ImportAssessment:
    """Apply the import rules to a forwarded declaration and its certificates.

    See the module docstring for the rules of application. Raises ``ValueError`` only for
    misuse (rule 1); never for what the documents say.
    """
    if not isinstance(rules, ImportRuleSet):
        raise TypeError(f"rules must be an ImportRuleSet, not {type(rules).__name__}")
    # Rule 1: the inputs are what the caller promised.
    if not isinstance(declaration, abc.Mapping) or declaration.get("type") != _DECLARATION:
        raise ValueError(f"the declaration must be a {_DECLARATION} object")
    if not isinstance(declaration.get("id"), str):
        raise ValueError("the declaration lacks a string id")
    _check_version(declaration, rules.document_versions, "declaration")
    if isinstance(certificates, str | bytes) or not isinstance(certificates, abc.Sequence):
        raise TypeError("certificates must be a sequence of CertificateFact")
    for fact in certificates:
        if not isinstance(fact, CertificateFact):
            raise TypeError(f"certificates must be CertificateFact values, not {type(fact).__name__}")
        _check_version(fact.document, rules.document_versions, "certificate")
    facts = sorted(certificates, key=lambda f: f.document_id)
    # Rules 2-4.
    findings: list[Finding] = []
    hold_reasons: list[ReasonCode] = []
    preference = PreferenceOutcome(claimed=False, eligible=None)
    for rule in rules.rules:
        results, finding, reasons = rule._evaluate(declaration, facts)
        if rule.kind == "preference" and results:
            covering = (r.covered_by.document_id for r in results if r.covered_by is not None)
            preference = PreferenceOutcome(
                claimed=True,
                eligible=finding is None,
                reasons=reasons,
                certificate_ids=tuple(dict.fromkeys(covering)),
            )
        if finding is not None:
            findings.append(finding)
            if finding.severity is Severity.HOLD:
                hold_reasons.extend(reasons)
    decision = (
        ImportDecision.HELD if any(f.severity is Severity.HOLD for f in findings) else ImportDecision.RELEASED
    )
    return ImportAssessment(decision, _distinct(hold_reasons), tuple(findings), preference)
