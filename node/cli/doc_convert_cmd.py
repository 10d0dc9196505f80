"""``tradeaccord doc export`` / ``doc import``: a document in another standard's format.

Formats: ``ephyto-sps``, the UN/CEFACT SPS certificate XML of the IPPC ePhyto hub, for the
phytosanitary certificate (``protocol.interop.ephyto``, mapping in ``docs/ephyto.md``).

- ``doc export ID --format ephyto-sps [-o FILE]``: fetch the signed document from the node
  (``--node``/``--api-key`` or the environment), check its signatures' integrity and
  convert the signed payload; ``doc export --file SIGNED.jws --format ephyto-sps`` does the
  same offline from a signed file.
- ``doc import FILE.xml --format ephyto-sps [-o OUT.json] [--issuer ID]``: read the XML
  safely, convert it and write our JSON document, valid against its schema and ready for
  ``doc sign`` or ``doc submit``.

Format ``dcsa-ebl-3`` (import): a DCSA eBL 3.0 TransportDocument JSON, validated against the
shipped DCSA schema, becomes our ``bill-of-lading`` 1.1 (``protocol.interop.dcsa_ebl``); one
that never was ours needs ``--header HEADER.json`` (``id``, ``issuedAt``, ``issuer``,
``parties``). ``title export --format dcsa-ebl-3`` is the other direction.

Exit codes: 0 done; 1 refused (the reason code is printed); 2 usage, unreadable input or an
unreachable node. lxml is imported inside the commands, so other commands never load it.
"""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from node.authority import write_atomic
from node.cli.common import STDOUT, UsageProblem, handle_errors, read_bytes
from node.cli.doc_cmd import KeyOption, NodeOption, doc_app
from node.settings import load_settings
from protocol.errors import InteropError, SchemaError
from protocol.jws import GeneralJWS, JWSType, check_integrity
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode

if TYPE_CHECKING:
    from protocol.interop.ephyto import EphytoConverter


_DOCUMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""The header schema's ``documentId``: checked before it becomes part of a URL path."""


class Format(StrEnum):
    """The formats ``doc export`` and ``doc import`` speak."""

    EPHYTO_SPS = "ephyto-sps"
    DCSA_EBL_3 = "dcsa-ebl-3"


FormatOption = Annotated[Format, typer.Option(
    "--format", help="ephyto-sps: UN/CEFACT SPS certificate XML (IPPC ePhyto hub); "
    "dcsa-ebl-3 (import only): a DCSA eBL 3.0 TransportDocument")]


@doc_app.command("export")
@handle_errors
def export(
    fmt: FormatOption,
    document_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="The document's id on the node")] = None,
    signed_file: Annotated[Path | None, typer.Option(
        "--file", help="Convert this signed document (JWS) instead of fetching one")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Where to write (default, or -: standard output)")] = None,
    node: NodeOption = None,
    api_key: KeyOption = None,
) -> None:
    """Convert a signed document to another format (ePhyto SPS certificate XML)."""
    if (document_id is None) == (signed_file is None):
        raise UsageProblem("give a document ID (fetched from the node) or --file SIGNED.jws")
    if document_id is not None and not _DOCUMENT_ID.fullmatch(document_id):
        raise UsageProblem(f"{document_id!r} is not a document id")
    limits = load_settings().limits()
    if signed_file is not None:
        signed = read_bytes(signed_file)
    else:
        from node.cli.remote import connect

        with connect(node, api_key) as client:
            signed = client.signed(str(document_id))
    document = _signed_payload(signed, limits)
    xml = _converter(fmt, limits).to_xml(document)
    if output is None or output == STDOUT:
        sys.stdout.buffer.write(xml)
        sys.stdout.flush()
    else:
        write_atomic(output, xml)
        typer.echo(f"exported {document['type']} {document['id']} as {fmt.value} -> {output}",
                   err=True)


@doc_app.command("import")
@handle_errors
def import_(
    input_file: Annotated[Path, typer.Argument(metavar="FILE.xml")],
    fmt: FormatOption,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Where to write the JSON document (default, or -: standard "
        "output)")]
    = None,
    issuer: Annotated[str | None, typer.Option(
        help="The issuing authority id to put in the document (the one that will sign it)")]
    = None,
    header: Annotated[Path | None, typer.Option(
        help="dcsa-ebl-3: the id, issuedAt, issuer and parties (JSON) of a transport "
        "document that was never ours")] = None,
) -> None:
    """Convert a document from another format (ePhyto SPS certificate XML, DCSA eBL 3.0
    TransportDocument) to our JSON."""
    limits = load_settings().limits()
    if fmt is Format.DCSA_EBL_3:
        document = _from_dcsa(input_file, header, limits)
    else:
        _check_size(input_file, limits.max_xml_bytes)
        document = _converter(fmt, limits).from_xml(read_bytes(input_file), issuer=issuer)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None or output == STDOUT:
        typer.echo(text, nl=False)
    else:
        write_atomic(output, text.encode("utf-8"))
        typer.echo(f"imported {document['type']} {document['id']} -> {output}", err=True)


def _converter(fmt: Format, limits: Limits) -> EphytoConverter:
    if fmt is not Format.EPHYTO_SPS:
        raise UsageProblem(f"--format {fmt.value} converts JSON (doc import only; "
                           "title export --format for the other direction)")
    from protocol.interop.ephyto import EphytoConverter

    return EphytoConverter.load(limits=limits)


def _from_dcsa(input_file: Path, header_file: Path | None, limits: Limits) -> dict[str, Any]:
    """A DCSA eBL 3.0 TransportDocument (checked against DCSA's schema) as our bill."""
    from protocol.documents import DocumentSchemas
    from protocol.interop.dcsa_ebl import TransportDocumentSchema, from_transport_document
    from protocol.strict_json import parse_json

    _check_size(input_file, limits.max_document_bytes)
    transport_document = parse_json(read_bytes(input_file), max_bytes=limits.max_document_bytes,
                                    max_depth=limits.max_depth)
    TransportDocumentSchema.load().validate(transport_document)
    header = None
    if header_file is not None:
        header = parse_json(read_bytes(header_file), max_bytes=limits.max_document_bytes)
        if not isinstance(header, dict):
            raise UsageProblem(f"{header_file} does not hold a JSON object")
    try:
        return from_transport_document(transport_document, schemas=DocumentSchemas.load(),
                                       header=header)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc


def _signed_payload(signed: bytes, limits: Limits) -> dict[str, Any]:
    """The payload of a signed document whose every signature verifies over its bytes (the
    chain is not checked here: ``doc verify`` does that); a refusal leaves as its error."""
    jws = GeneralJWS.parse(signed, limits=limits)
    for index in range(len(jws.signatures)):
        check_integrity(jws, index, typ=JWSType.DOCUMENT, limits=limits)
    payload = jws.payload_json(limits)
    if not isinstance(payload, dict):
        raise SchemaError(ReasonCode.SCHEMA_INVALID, "the signed payload is not a JSON object",
                          pointer="")
    return payload


def _check_size(path: Path, limit: int) -> None:
    """Refuse an oversized file before reading it into memory."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > limit:
        raise InteropError(ReasonCode.XML_MALFORMED,
                           f"{path} has {size} bytes; the limit is {limit}", where=str(path))
