"""The documentation checked against the code.

- Every worked example in docs/protocol.md (written by docs/generate_examples.py) verifies:
  each signed JWS parses with the strict parser and passes ``check_integrity`` against its
  own ``x5c`` (and full chain validation against the example roots at its signing time);
  each decoded header and payload is exactly what the JWS next to it carries; and the
  document, envelope and receipt tell one consistent story.
- docs/errors.md lists exactly the reason codes, as ``python -m protocol.reason_codes``
  renders them.
- docs/declarations.md lists exactly the shipped clearance rules (id, version, severity,
  title, in file order), as ``docs/generate_examples.py --tables-only`` renders them.
- Every ``tradeaccord …`` command (and its ``--options``) named in README.md or docs/ exists
  in the CLI.
- Every relative link in README.md and docs/ points at an existing file (and heading).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from clearance import ImportRuleSet, RuleSet
from node.cli.main import build_app
from protocol.canonical import b64url_decode, canonicalize, sha256_hex
from protocol.certificates import CertUsage, load_certificate_pem
from protocol.documents import DocumentSchemas
from protocol.envelope import Envelope
from protocol.jws import GeneralJWS, JWSType, check_integrity, verify
from protocol.reason_codes import ReasonCode
from protocol.receipt import Outcome, Receipt
from protocol.signed_document import document_sha256, verify_document
from protocol.strict_json import parse_json

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PROTOCOL_MD = DOCS / "protocol.md"
ERRORS_MD = DOCS / "errors.md"
DECLARATIONS_MD = DOCS / "declarations.md"


def markdown_files() -> list[Path]:
    files = sorted(DOCS.glob("*.md")) + sorted((DOCS / "decisions").glob("*.md"))
    readme = ROOT / "README.md"
    return ([readme] if readme.is_file() else []) + files


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- worked examples --------------------------------------------------------------------------

REGION = re.compile(r"<!-- example:(?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)<!-- /example -->",
                    re.DOTALL)
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<code>.*?)^```$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Kind:
    typ: JWSType
    usage: CertUsage
    anchor: str  # the example region holding the signer's root


KINDS = {
    "signed-document": Kind(JWSType.DOCUMENT, CertUsage.DOCUMENT_SIGNING, "sg-root-certificate"),
    "envelope": Kind(JWSType.ENVELOPE, CertUsage.ENVELOPE_SIGNING, "sg-root-certificate"),
    "receipt": Kind(JWSType.RECEIPT, CertUsage.ENVELOPE_SIGNING, "cn-root-certificate"),
}
EXPECTED_REGIONS = {"sg-root-certificate", "cn-root-certificate"} | {
    f"{name}{suffix}" for name in KINDS for suffix in ("", "-header", "-payload")}


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    """Region name → the text of its one code block."""
    regions: dict[str, str] = {}
    for match in REGION.finditer(PROTOCOL_MD.read_text("utf-8")):
        blocks = list(FENCE.finditer(match["body"]))
        assert len(blocks) == 1, f"region {match['name']} must hold exactly one code block"
        assert match["name"] not in regions, f"region {match['name']} appears twice"
        regions[match["name"]] = blocks[0]["code"]
    return regions


def _jws(examples: dict[str, str], name: str) -> GeneralJWS:
    return GeneralJWS.parse(examples[name].encode("utf-8"))  # the strict parser, limits on


def _json(examples: dict[str, str], name: str) -> Any:
    return parse_json(examples[name].encode("utf-8"))


def test_every_example_region_is_there(examples: dict[str, str]) -> None:
    assert set(examples) == EXPECTED_REGIONS


@pytest.mark.parametrize("name", sorted(KINDS))
def test_example_jws_verifies(examples: dict[str, str], name: str) -> None:
    kind = KINDS[name]
    jws = _jws(examples, name)
    evidence = [check_integrity(jws, index, typ=kind.typ) for index in range(len(jws.signatures))]
    root = load_certificate_pem(examples[kind.anchor].encode("ascii"))
    verified = verify(jws, typ=kind.typ, anchors=[root], at=evidence[0].signed_at,
                      usage=kind.usage)
    assert verified.signatures[0].chain.anchor == root


@pytest.mark.parametrize("name", sorted(KINDS))
def test_example_header_and_payload_are_the_jws_content(examples: dict[str, str],
                                                        name: str) -> None:
    jws = _jws(examples, name)
    header = _json(examples, f"{name}-header")
    payload = _json(examples, f"{name}-payload")
    protected = b64url_decode(jws.signatures[0].protected_b64)
    assert parse_json(protected) == header
    assert parse_json(jws.payload) == payload
    # The signed bytes are the RFC 8785 canonical forms of what the page shows.
    assert canonicalize(header) == protected
    assert canonicalize(payload) == jws.payload


def test_example_document_is_valid(examples: dict[str, str]) -> None:
    jws = _jws(examples, "signed-document")
    root = load_certificate_pem(examples["sg-root-certificate"].encode("ascii"))
    signed_at = check_integrity(jws, 0, typ=JWSType.DOCUMENT).signed_at
    result = verify_document(jws, anchors=[root], at=signed_at, schemas=DocumentSchemas.load())
    assert result.valid, result.messages


def test_examples_tell_one_story(examples: dict[str, str]) -> None:
    document = _jws(examples, "signed-document")
    envelope_jws = _jws(examples, "envelope")
    receipt_jws = _jws(examples, "receipt")
    envelope = Envelope.from_dict(parse_json(envelope_jws.payload))
    assert envelope.documents == (document,)
    receipt = Receipt.from_dict(parse_json(receipt_jws.payload))
    receipt.check_matches(message_id=envelope.message_id,
                          envelope_sha256=sha256_hex(envelope_jws.payload),
                          sender=envelope.recipient)
    assert receipt.recipient == envelope.sender
    [outcome] = receipt.outcomes
    header = json.loads(document.payload)
    assert (outcome.document_id, outcome.document_sha256, outcome.document_type) == (
        header["id"], document_sha256(document), header["type"])
    assert outcome.outcome is Outcome.ACCEPTED and outcome.agreement_id is not None


# -- reason codes -------------------------------------------------------------------------------

CODES_REGION = re.compile(r"<!-- reason-codes -->\n(?P<body>.*?)<!-- /reason-codes -->", re.DOTALL)


def test_errors_md_lists_exactly_the_reason_codes() -> None:
    match = CODES_REGION.search(ERRORS_MD.read_text("utf-8"))
    assert match is not None, "docs/errors.md has no <!-- reason-codes --> region"
    listed = re.findall(r"^\| `([A-Z0-9_]+)` \|", match["body"], re.MULTILINE)
    assert listed == [code.value for code in ReasonCode]
    generated = subprocess.run([sys.executable, "-m", "protocol.reason_codes"], cwd=ROOT,
                               capture_output=True, text=True, check=True, timeout=60).stdout
    assert match["body"] == generated


# -- clearance rules ---------------------------------------------------------------------------

RULES_REGION = re.compile(r"<!-- rules:(?P<name>[a-z-]+) -->\n(?P<body>.*?)<!-- /rules -->",
                          re.DOTALL)
RULE_ROW = re.compile(r"^\| `(?P<id>[A-Z]+(?:-[A-Z]+)*-[0-9]+)` \| (?P<version>[0-9.]+) \| "
                      r"(?P<severity>hold|warn) \| (?P<title>(?:[^|\\]|\\.)+?) \|", re.MULTILINE)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_examples",
                                                  DOCS / "generate_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "rule_set"), [
    ("export-reconciliation", RuleSet), ("import-clearance", ImportRuleSet)])
def test_declarations_md_lists_exactly_the_shipped_rules(name: str, rule_set: Any) -> None:
    regions = {m["name"]: m["body"]
               for m in RULES_REGION.finditer(DECLARATIONS_MD.read_text("utf-8"))}
    assert name in regions, f"docs/declarations.md has no <!-- rules:{name} --> region"
    listed = [(m["id"], m["version"], m["severity"], m["title"].replace("\\|", "|"))
              for m in RULE_ROW.finditer(regions[name])]
    shipped = [(rule.rule_id, rule.version, rule.severity.value, rule.title)
               for rule in rule_set.load().rules]
    assert listed == shipped
    assert regions[name] == _generator().RULE_TABLES[name]()


# -- CLI commands ---------------------------------------------------------------------------------

INVOCATION = re.compile(r"(?:(?<![\w.:-])tradeaccord|(?<![\w.-])-m node\.cli)(?=\s|$)")
INLINE_CODE = re.compile(r"(`+)(?P<code>.+?)\1")
FENCED = re.compile(r"^```[^\n]*\n(?P<code>.*?)^```$", re.DOTALL | re.MULTILINE)
WORD = re.compile(r"^[a-z][a-z0-9-]*$")
SEPARATORS = ("|", "||", "&&", ";", "&", ")", ">", "2>", "#")


def code_lines(text: str) -> list[str]:
    """The lines of fenced code blocks (continuations joined) and every inline code span."""
    lines: list[str] = []
    for block in FENCED.finditer(text):
        lines += block["code"].replace("\\\n", " ").splitlines()
    for span in INLINE_CODE.finditer(FENCED.sub("", text)):
        lines.append(span["code"])
    return lines


def _tokens(rest: str) -> list[str]:
    try:
        tokens = shlex.split(rest, comments=True)
    except ValueError:
        tokens = rest.split()
    for index, token in enumerate(tokens):
        if token in SEPARATORS:
            return tokens[:index]
    return tokens


def _is_group(command: Any) -> bool:
    # typer vendors click (typer._click): duck-type instead of isinstance(click.Group).
    return isinstance(getattr(command, "commands", None), dict)


def check_invocation(root: Any, tokens: list[str]) -> str | None:
    """None when ``tradeaccord <tokens>`` names an existing command with existing options."""
    command = root
    path = ["tradeaccord"]
    index = 0
    while _is_group(command) and index < len(tokens) and WORD.match(tokens[index]):
        name = tokens[index]
        if name not in command.commands:
            return f"`{' '.join(path)}` has no command {name!r}"
        command = command.commands[name]
        path.append(name)
        index += 1
    if _is_group(command):
        return None  # a group named in prose, e.g. `tradeaccord registry`
    known = {"--help"} | {opt for param in command.params
                          for opt in (*param.opts, *param.secondary_opts)}
    for token in tokens[index:]:
        if token.startswith("--") and token.split("=", 1)[0] not in known:
            return f"`{' '.join(path)}` has no option {token.split('=', 1)[0]}"
    return None


def invocations() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in markdown_files():
        for line in code_lines(path.read_text("utf-8")):
            for match in INVOCATION.finditer(line):
                found.append((_rel(path), line.strip(), _tokens(line[match.end():])))
    return found


def test_documented_commands_exist() -> None:
    root = typer.main.get_command(build_app())
    assert _is_group(root)
    found = invocations()
    assert len(found) >= 20, "the docs should show the CLI; did the parser break?"
    problems = [f"{where}: {line}\n    {problem}" for where, line, tokens in found
                if (problem := check_invocation(root, tokens)) is not None]
    assert not problems, "\n".join(problems)


# -- links ------------------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(?P<target>\S+)", re.MULTILINE)
HREF = re.compile(r"""href=["'](?P<target>[^"']+)["']""")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["'](?P<id>[^"']+)["']""")


def _prose(text: str) -> str:
    return INLINE_CODE.sub("", FENCED.sub("", text))


def github_slug(title: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    text = FENCED.sub("", path.read_text("utf-8"))
    slugs: set[str] = set()
    seen: dict[str, int] = {}
    for match in HEADING.finditer(text):
        slug = github_slug(match["title"])
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs | set(HTML_ANCHOR.findall(text))


def relative_links(path: Path) -> list[str]:
    text = _prose(path.read_text("utf-8"))
    targets = [m["target"].strip("<>") for m in LINK.finditer(text)]
    targets += [m["target"] for m in REFERENCE.finditer(text)]
    targets += [m["target"] for m in HREF.finditer(text)]
    return [target for target in targets if not SCHEME.match(target)]


def test_relative_links_resolve() -> None:
    problems = []
    checked = 0
    for path in markdown_files():
        for target in relative_links(path):
            checked += 1
            file_part, _, fragment = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            if not destination.exists():
                problems.append(f"{_rel(path)}: {target} does not exist")
            elif fragment and destination.suffix == ".md" and \
                    fragment not in anchors_of(destination):
                problems.append(f"{_rel(path)}: {target} names no heading of {destination.name}")
    assert checked >= 20, "the docs should link to each other; did the parser break?"
    assert not problems, "\n".join(problems)
