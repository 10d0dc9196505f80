"""The trust registry as people read it: tables of authorities and agreements, and an SVG
picture of who recognises whom for what.

Statuses are taken at the time ``at`` the caller gives (the page passes now): an agreement
is ``in-force``, ``proposed``, ``suspended``, ``terminated``, ``expired`` or
``not-yet-valid``; anything that ends within ``WARN_DAYS`` (an agreement, an anchor, a node
certificate) carries a warning. ``graph_svg`` draws each authority as a box on a circle and
each agreement as a line between its parties, coloured by status, with an arrow for each
direction documents are recognised in, its label naming the document types; every text is
escaped. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape

from protocol.reason_codes import ReasonCode
from trust_registry import TrustRegistry
from trust_registry.agreements import AgreementRecord

WARN_DAYS = 30
_COLOURS = {"in-force": "#11663a", "proposed": "#4f5660", "suspended": "#7a4b00",
            "terminated": "#a4161a", "expired": "#a4161a", "not-yet-valid": "#4f5660"}


@dataclass(frozen=True, slots=True)
class AgreementRow:
    agreement_id: str
    parties: tuple[str, str]
    status: str
    flows: tuple[tuple[str, str, str, str], ...]  # issuer, receiver, type, recognised as
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    warning: str | None
    legal_reference: str


@dataclass(frozen=True, slots=True)
class AnchorRow:
    fingerprint: str
    subject: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    valid_now: bool
    warning: str | None


@dataclass(frozen=True, slots=True)
class AuthorityRow:
    authority_id: str
    name: str
    country: str
    roles: tuple[str, ...]
    endpoints: tuple[str, ...]
    anchors: tuple[AnchorRow, ...]
    node_certificate_until: dt.datetime | None
    warning: str | None


def _ends_soon(until: dt.datetime | None, at: dt.datetime, what: str) -> str | None:
    if until is None:
        return None
    if until <= at:
        return f"{what} ended {until:%Y-%m-%d}"
    if until - at <= dt.timedelta(days=WARN_DAYS):
        return f"{what} ends {until:%Y-%m-%d} (in {(until - at).days} days)"
    return None


def agreement_status(record: AgreementRecord, at: dt.datetime) -> str:
    """The status at ``at``, with expiry and not-yet-valid told apart."""
    refusal = record.refusal_at(at)
    if refusal is ReasonCode.AGREEMENT_EXPIRED:
        return "expired"
    if refusal is ReasonCode.AGREEMENT_NOT_YET_VALID and record.is_dual_signed:
        return "not-yet-valid"
    return record.status_at(at).value


def agreement_rows(registry: TrustRegistry, at: dt.datetime) -> list[AgreementRow]:
    rows = []
    for agreement_id in sorted(registry.agreements):
        record = registry.agreements[agreement_id]
        agreement = record.agreement
        rows.append(AgreementRow(
            agreement_id=agreement_id, parties=(agreement.parties[0], agreement.parties[1]),
            status=agreement_status(record, at),
            flows=tuple((item.issuer, item.receiver, item.document_type, item.recognised_as)
                        for item in agreement.scope),
            valid_from=agreement.valid_from, valid_until=agreement.valid_until,
            warning=_ends_soon(agreement.valid_until, at, "the agreement"),
            legal_reference=agreement.legal_reference))
    return rows


def authority_rows(registry: TrustRegistry, at: dt.datetime) -> list[AuthorityRow]:
    rows = []
    for authority_id in sorted(registry.authorities):
        authority = registry.authorities[authority_id]
        anchors = tuple(AnchorRow(
            fingerprint=anchor.fingerprint, subject=anchor.certificate.subject.rfc4514_string(),
            valid_from=anchor.valid_from, valid_until=anchor.valid_until,
            valid_now=anchor.is_valid_at(at),
            warning=_ends_soon(anchor.valid_until or anchor.certificate.not_valid_after_utc, at,
                               "the anchor"))
            for anchor in authority.anchors)
        node_until = min((cert.not_valid_after_utc for cert in authority.node_certificates),
                         default=None)
        warnings = [w for w in (*(a.warning for a in anchors),
                                _ends_soon(node_until, at, "the node certificate")) if w]
        if authority.endpoints and not authority.node_certificates:
            warnings.append("an endpoint but no node certificate: its envelopes are refused")
        rows.append(AuthorityRow(
            authority_id=authority_id, name=authority.name, country=authority.country,
            roles=tuple(authority.roles), endpoints=tuple(authority.endpoints), anchors=anchors,
            node_certificate_until=node_until, warning="; ".join(warnings) or None))
    return rows


_W, _H = 1000, 640
_BOX_W, _BOX_H = 190, 58


def _positions(ids: list[str], owner: str) -> dict[str, tuple[float, float]]:
    ordered = [owner] + [i for i in ids if i != owner] if owner in ids else ids
    count = max(1, len(ordered))
    radius_x, radius_y = _W / 2 - _BOX_W / 2 - 20, _H / 2 - _BOX_H / 2 - 20
    return {authority_id: (_W / 2 + radius_x * math.sin(2 * math.pi * i / count),
                           _H / 2 - radius_y * math.cos(2 * math.pi * i / count))
            for i, authority_id in enumerate(ordered)}


def _edge_point(x: float, y: float, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the line from a box centre towards another point leaves the box."""
    dx, dy = towards_x - x, towards_y - y
    if dx == 0 and dy == 0:
        return x, y
    scale = min((_BOX_W / 2 + 6) / abs(dx) if dx else math.inf,
                (_BOX_H / 2 + 6) / abs(dy) if dy else math.inf)
    return x + dx * scale, y + dy * scale


def graph_svg(registry: TrustRegistry, at: dt.datetime) -> str:
    """The picture (an ``<svg>`` element, every text escaped)."""
    positions = _positions(sorted(registry.authorities), registry.owner)
    rows = agreement_rows(registry, at)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
             'aria-labelledby="graph-title graph-desc" font-family="system-ui, sans-serif">',
             '<title id="graph-title">Who recognises whom for what</title>',
             f'<desc id="graph-desc">{len(positions)} authorities and {len(rows)} agreements '
             f'of registry version {registry.version}; each line is an agreement, coloured by '
             'its status, with an arrow towards the authority that recognises the documents. '
             'The tables below hold the same facts.</desc>', '<defs>']
    for status, colour in _COLOURS.items():
        parts.append(f'<marker id="arrow-{status}" viewBox="0 0 10 10" refX="10" refY="5" '
                     'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                     f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
    parts.append("</defs>")
    pair_count: dict[frozenset[str], int] = {}
    for row in rows:
        first, second = row.parties
        if first not in positions or second not in positions:
            continue
        pair = frozenset(row.parties)
        index = pair_count.get(pair, 0)
        pair_count[pair] = index + 1
        (x1, y1), (x2, y2) = positions[first], positions[second]
        # Several agreements between one pair bow out alternately so that none hides another.
        bend = 0 if index == 0 else (1 if index % 2 else -1) * 45 * ((index + 1) // 2)
        mid_x, mid_y = (x1 + x2) / 2, (y1 + y2) / 2
        length = math.hypot(x2 - x1, y2 - y1) or 1
        control_x = mid_x - (y2 - y1) / length * bend * 2
        control_y = mid_y + (x2 - x1) / length * bend * 2
        sx, sy = _edge_point(x1, y1, control_x, control_y)
        ex, ey = _edge_point(x2, y2, control_x, control_y)
        issuers = {issuer for issuer, _receiver, _type, _as in row.flows}
        colour = _COLOURS.get(row.status, "#4f5660")
        start = f' marker-start="url(#arrow-{row.status})"' if second in issuers and \
            row.status in _COLOURS else ""
        end = f' marker-end="url(#arrow-{row.status})"' if first in issuers and \
            row.status in _COLOURS else ""
        dash = ' stroke-dasharray="8 5"' if row.status in ("proposed", "not-yet-valid") or \
            row.warning else ""
        types = sorted({doc_type for _issuer, _receiver, doc_type, _as in row.flows})
        label = f"{row.agreement_id} ({row.status})"
        parts.append(f'<g class="agreement" data-status="{escape(row.status)}">'
                     f'<title>{escape(label)}: {escape(", ".join(types))}'
                     f'{escape("; " + row.warning) if row.warning else ""}</title>'
                     f'<path d="M{sx:.1f},{sy:.1f} Q{control_x:.1f},{control_y:.1f} '
                     f'{ex:.1f},{ey:.1f}" fill="none" stroke="{colour}" stroke-width="3"'
                     f'{dash}{start}{end}/>')
        text_x = (sx + 2 * control_x + ex) / 4
        text_y = (sy + 2 * control_y + ey) / 4
        summary = ", ".join(types[:2]) + (f" +{len(types) - 2}" if len(types) > 2 else "")
        warn = "⚠ " if row.warning else ""
        parts.append(f'<text x="{text_x:.1f}" y="{text_y - 4:.1f}" text-anchor="middle" '
                     f'font-size="12" fill="{colour}" font-weight="600" paint-order="stroke" '
                     f'stroke="#fbfcfd" stroke-width="4">{escape(warn + row.agreement_id)}</text>'
                     f'<text x="{text_x:.1f}" y="{text_y + 10:.1f}" text-anchor="middle" '
                     f'font-size="11" fill="#1b1f24" paint-order="stroke" stroke="#fbfcfd" '
                     f'stroke-width="4">{escape(summary)}</text></g>')
    for authority_id, (x, y) in positions.items():
        authority = registry.authorities[authority_id]  # type: ignore[index]
        own = authority_id == registry.owner
        roles = ", ".join(authority.roles) or "no roles"
        node = "runs a node" if authority.endpoints else "no node"
        parts.append(f'<g class="authority" data-id="{escape(authority_id)}">'
                     f'<title>{escape(authority.name)} ({escape(authority.country)}): '
                     f'{escape(roles)}; {node}</title>'
                     f'<rect x="{x - _BOX_W / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{_BOX_W}" '
                     f'height="{_BOX_H}" rx="8" fill="{"#0b4f8a" if own else "#ffffff"}" '
                     f'stroke="#0b4f8a" stroke-width="2"/>'
                     f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle" font-size="15" '
                     f'font-weight="700" fill="{"#ffffff" if own else "#1b1f24"}">'
                     f'{escape(authority_id)}</text>'
                     f'<text x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle" font-size="11" '
                     f'fill="{"#ffffff" if own else "#4f5660"}">{escape(authority.country)} · '
                     f'{escape(roles)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


