"""Regenerate the worked examples in docs/protocol.md (and the reason-code table in
docs/errors.md, and the tables of shipped clearance rules in docs/declarations.md) from the
code, so that no example is typed by hand.

Run from the repository root::

    .venv/bin/python docs/generate_examples.py                 # everything
    .venv/bin/python docs/generate_examples.py --tables-only   # the tables only

The tables only change when the code lists or rule files do; the worked examples change on
every run (new keys, ids and times).

It creates two throw-away authorities (SG-CUSTOMS, CN-CUSTOMS) with plaintext keys in a
temporary directory, each holding the other and one dual-signed agreement in its registry
(``node.pilot.setup_network``, as ``tradeaccord demo`` does). SG-CUSTOMS, which here holds
the ``origin`` role besides ``customs`` (a customs administration that issues certificates
of origin; CN-CUSTOMS's registry says so, step 6 of the decision), signs a certificate
of origin and sends it in a signed envelope; CN-CUSTOMS runs its real receiving path
(``node.services.receiving.receive_envelope``) on a SQLite database and answers with a
signed receipt. The regions of docs/protocol.md between ``<!-- example:NAME -->`` and
``<!-- /example -->`` are then rewritten. Keys, certificates, ids and times change on every
run; ``tests/test_docs.py`` checks whatever the files hold.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the packages importable
    sys.path.insert(0, str(ROOT))

from clearance import ImportRuleSet, RuleSet  # noqa: E402
from node.context import NodeContext  # noqa: E402
from node.pilot import AgreementSpec, AuthoritySpec, setup_network  # noqa: E402
from node.services.receiving import receive_envelope  # noqa: E402
from node.settings import Settings  # noqa: E402
from protocol.canonical import b64url_decode  # noqa: E402
from protocol.certificates import certificate_to_pem  # noqa: E402
from protocol.documents import DocumentSchemas  # noqa: E402
from protocol.envelope import build_envelope, sign_envelope  # noqa: E402
from protocol.jws import GeneralJWS  # noqa: E402
from protocol.reason_codes import markdown_table  # noqa: E402
from protocol.signed_document import sign_document  # noqa: E402
from protocol.timeutil import format_time, utc_now  # noqa: E402

PROTOCOL_MD = ROOT / "docs" / "protocol.md"
ERRORS_MD = ROOT / "docs" / "errors.md"
DECLARATIONS_MD = ROOT / "docs" / "declarations.md"

REGION = re.compile(r"(<!-- example:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /example -->)",
                    re.DOTALL)
CODES_REGION = re.compile(r"(<!-- reason-codes -->\n)(?P<body>.*?)(<!-- /reason-codes -->)",
                          re.DOTALL)
RULES_REGION = re.compile(r"(<!-- rules:(?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /rules -->)",
                          re.DOTALL)

# A certificate of origin is recognised only from an issuer holding the ``origin`` role
# (trust_registry/roles.py); the worked example keeps SG-CUSTOMS as its issuer, as customs
# administrations that issue certificates of origin do.
SG = AuthoritySpec("SG-CUSTOMS", "SG", "Singapore Customs", ("customs", "origin"))
CN = AuthoritySpec("CN-CUSTOMS", "CN", "General Administration of Customs of China")
AGREEMENT = AgreementSpec("SG-CN-COO-2026", "SG-CUSTOMS", "CN-CUSTOMS", ("certificate-of-origin",))
ENVELOPE_TTL = dt.timedelta(seconds=Settings.model_fields["envelope_ttl_seconds"].default)


def example_document(issued_at: dt.datetime) -> dict[str, Any]:
    """A small certificate of origin, valid against its schema (trimmed from examples/)."""
    return {
        "id": str(uuid.uuid4()),
        "type": "certificate-of-origin",
        "version": "1.0",
        "issuedAt": format_time(issued_at),
        "issuer": "SG-CUSTOMS",
        "parties": [
            {"role": "exporter", "id": "SG-UEN-201912345K",
             "name": "Lim Chu Kang Orchid Nursery Pte. Ltd.", "country": "SG"},
            {"role": "importer", "id": "CN-USCC-91310000MA1FL5ABCD",
             "name": "Shanghai Pudong Horticulture Trading Co., Ltd.", "country": "CN"},
        ],
        "body": {
            "certificateNumber": "RCEP-SG-2026-0031874",
            "agreement": "RCEP",
            "exportingCountry": "SG",
            "importingCountry": "CN",
            "invoice": {"invoiceNumber": "INV-2026-0457", "invoiceDate": "2026-11-16"},
            "transport": {"mode": "1", "departureDate": "2026-11-21",
                          "portOfLoading": "SGSIN", "portOfDischarge": "CNSHA"},
            "goodsItems": [{
                "itemNumber": 1,
                "hsCode": "060290",
                "description": "Live potted orchid plants (Phalaenopsis hybrids)",
                "quantity": {"value": 4800, "unitCode": "C62"},
                "originCriterion": "WO",
                "originCountry": "SG",
            }],
            "certificationDate": "2026-11-19",
            "certificationPlace": "Singapore",
        },
    }


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n```\n"


def _text_block(text: str) -> str:
    return "```text\n" + text.rstrip("\n") + "\n```\n"


def _decoded(jws: GeneralJWS) -> tuple[dict[str, Any], dict[str, Any]]:
    header = json.loads(b64url_decode(jws.signatures[0].protected_b64))
    return header, json.loads(jws.payload)


def build_examples() -> dict[str, str]:
    """Run the flow in a temporary directory; return region name → Markdown code block."""
    for name in [key for key in os.environ if key.startswith("TRADEACCORD_")]:
        del os.environ[name]  # the examples must not depend on the caller's settings
    t0 = utc_now().replace(microsecond=0)
    at: Callable[[int], dt.datetime] = lambda seconds: t0 + dt.timedelta(seconds=seconds)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="tradeaccord-examples-") as tmp:
        base = Path(tmp)
        urls = {"SG-CUSTOMS": "https://tradeaccord.customs.example.sg",
                "CN-CUSTOMS": "https://tradeaccord.customs.example.cn"}
        directories = setup_network(base, [SG, CN], urls, [AGREEMENT], at=t0)
        sg, cn = directories["SG-CUSTOMS"], directories["CN-CUSTOMS"]

        document = example_document(at(1))
        DocumentSchemas.load().validate(document)
        signed_document = sign_document(document, sg.document_signer(None), signed_at=at(1))

        envelope = build_envelope(message_id=str(uuid.uuid4()), sender="SG-CUSTOMS",
                                  recipient="CN-CUSTOMS", created_at=at(2), ttl=ENVELOPE_TTL,
                                  documents=(signed_document,))
        signed_envelope = sign_envelope(envelope, sg.node_signer(None), signed_at=at(2))

        settings = Settings(authority_dir=cn.path, database_url=f"sqlite:///{base / 'cn.db'}")
        ctx = NodeContext.build(settings)
        try:
            result = receive_envelope(ctx, signed_envelope.to_json(), at(3))
        finally:
            ctx.close()
        receipt = GeneralJWS.parse(result.receipt)
        if [o.outcome.value for o in result.outcomes] != ["accepted"]:
            raise SystemExit(f"the example document was not accepted: {result.outcomes}")

        regions: dict[str, str] = {
            "sg-root-certificate": _text_block(certificate_to_pem(sg.root_certificate).decode()),
            "cn-root-certificate": _text_block(certificate_to_pem(cn.root_certificate).decode()),
        }
        for name, jws in (("signed-document", signed_document), ("envelope", signed_envelope),
                          ("receipt", receipt)):
            header, payload = _decoded(jws)
            regions[name] = _json_block(jws.to_dict())
            regions[f"{name}-header"] = _json_block(header)
            regions[f"{name}-payload"] = _json_block(payload)
        return regions


def rewrite(text: str, regions: dict[str, str]) -> str:
    """Replace every example region's body; every region must be known and present."""
    found = [match["name"] for match in REGION.finditer(text)]
    unknown = sorted(set(found) - set(regions))
    missing = sorted(set(regions) - set(found))
    if unknown or missing:
        raise SystemExit(f"docs/protocol.md regions: unknown {unknown}, missing {missing}")
    return REGION.sub(lambda m: m[1] + regions[m["name"]] + m[4], text)


def rewrite_reason_codes(text: str) -> str:
    if CODES_REGION.search(text) is None:
        raise SystemExit("docs/errors.md has no <!-- reason-codes --> region")
    return CODES_REGION.sub(lambda m: m[1] + markdown_table() + m[3], text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _documents_read(check: Any) -> list[str]:
    """The document types a rule's check reads, in order of first mention."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "document" and isinstance(item, str):
                    found.append(item)
                elif key == "documentTypes" and isinstance(item, list):
                    found.extend(str(t) for t in item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(check)
    return list(dict.fromkeys(found))


def reconciliation_table() -> str:
    """Every rule of the shipped export reconciliation rule set, in file order."""
    rules = RuleSet.load()
    data = rules.to_dict()["rules"]
    pointers = sorted({c["pointer"] for rule in data for c in rule.get("when", ())})
    names = "; ".join(f"`{p.rsplit('/', 1)[-1]}` is the declaration's `{p}`" for p in pointers)
    rows = [f"Rule set `{rules.ruleset_id}` {rules.version} "
            f"(`clearance/rules/{rules.ruleset_id}-{rules.version}.json`), "
            f"{len(rules.rules)} rules. In the last column, {names or 'nothing'}.", "",
            "| rule | version | severity | title | documents read | applies when |",
            "| --- | --- | --- | --- | --- | --- |"]
    for rule in data:
        when = "; ".join(
            f"`{c['pointer'].rsplit('/', 1)[-1]}`: {', '.join(str(v) for v in c['in'])}"
            + (", or none" if c.get("orAbsent") else "") for c in rule.get("when", ()))
        rows.append(f"| `{rule['ruleId']}` | {rule['version']} | {rule['severity']} | "
                    f"{_cell(rule['title'])} | {', '.join(_documents_read(rule['check']))} | "
                    f"{when or 'always'} |")
    return "\n".join(rows) + "\n"


def import_rules_table() -> str:
    """Every rule of the shipped import clearance rule set, in file order."""
    rules = ImportRuleSet.load()
    rows = [f"Rule set `{rules.ruleset_id}` {rules.version} "
            f"(`clearance/rules/{rules.ruleset_id}-{rules.version}.json`), "
            f"{len(rules.rules)} rules.", "",
            "| rule | version | severity | title | goods items concerned | certificate needed |",
            "| --- | --- | --- | --- | --- | --- |"]
    for rule in rules.to_dict()["rules"]:
        items, certificate = rule["items"], rule["certificate"]
        if rule["kind"] == "preference":
            goods = f"those claiming a preference (`{items['claim']}`)"
        else:
            goods = "HS " + ", ".join(items["hsPrefixes"])
        matched = " and ".join(f"`{m['goods']}`" for m in certificate["match"])
        needed = (f"a recognised `{certificate['type']}` from an issuer with the role "
                  f"`{certificate['issuerRole']}`, matching {matched}")
        rows.append(f"| `{rule['ruleId']}` | {rule['version']} | {rule['severity']} | "
                    f"{_cell(rule['title'])} | {goods} | {needed} |")
    return "\n".join(rows) + "\n"


RULE_TABLES = {"export-reconciliation": reconciliation_table,
               "import-clearance": import_rules_table}


def rewrite_rule_tables(text: str) -> str:
    found = [match["name"] for match in RULES_REGION.finditer(text)]
    if sorted(found) != sorted(RULE_TABLES):
        raise SystemExit(f"docs/declarations.md rule regions: found {found}, "
                         f"expected {sorted(RULE_TABLES)}")
    return RULES_REGION.sub(lambda m: m[1] + RULE_TABLES[m["name"]]() + m[4], text)


def main(argv: list[str]) -> None:
    tables_only = argv == ["--tables-only"]
    if argv and not tables_only:
        raise SystemExit("usage: generate_examples.py [--tables-only]")
    ERRORS_MD.write_text(rewrite_reason_codes(ERRORS_MD.read_text("utf-8")), "utf-8")
    DECLARATIONS_MD.write_text(rewrite_rule_tables(DECLARATIONS_MD.read_text("utf-8")),
                               "utf-8")
    print(f"rewrote the reason-code table in {ERRORS_MD.relative_to(ROOT)} and the rule "
          f"tables in {DECLARATIONS_MD.relative_to(ROOT)}")
    if tables_only:
        return
    regions = build_examples()
    PROTOCOL_MD.write_text(rewrite(PROTOCOL_MD.read_text("utf-8"), regions), "utf-8")
    print(f"rewrote {len(regions)} example regions in {PROTOCOL_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
