"""``doc export ID --format ephyto-sps``: the signed document is fetched from the node."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner

from node.cli.main import build_app
from protocol.interop.ephyto import EphytoConverter
from tests.node.conftest import Network

EXAMPLE = Path(__file__).parents[2] / "examples" / "documents" / "phytosanitary-certificate.json"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.output


def test_export_fetches_the_signed_document_from_the_node(network: Network,
                                                          tmp_path: Path) -> None:
    sg = network["SG-CUSTOMS"]
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document.pop("id")
    document.pop("issuer")  # the node signs for SG-CUSTOMS
    source = tmp_path / "phyto.json"
    source.write_text(json.dumps(document))
    trader = ["--node", sg.url, "--api-key", sg.keys["trader"]]
    code, output = cli("doc", "submit", str(source), *trader)
    assert code == 0, output
    # The first line: an in-process node's log lines may follow on the shared stderr.
    document_id = output.strip().splitlines()[0]
    out = tmp_path / "phyto.xml"
    code, output = cli("doc", "export", document_id, "--format", "ephyto-sps", "-o", str(out),
                       *trader)
    assert code == 0, output
    converter = EphytoConverter.load()
    assert converter.xml_schema.validate(etree.parse(str(out)))
    imported = converter.from_xml(out.read_bytes())
    assert imported["id"] == document_id and imported["issuer"] == "SG-CUSTOMS"
    assert imported["body"] == document["body"]
    # Refusals keep their codes; an unreachable node is a usage problem.
    code, output = cli("doc", "export", "no-such-document", "--format", "ephyto-sps", *trader)
    assert code == 1 and "NOT_FOUND" in output
    code, output = cli("doc", "export", document_id, "--format", "ephyto-sps",
                       "--node", "http://127.0.0.1:9", "--api-key", sg.keys["trader"])
    assert code == 2
    code, output = cli("doc", "export", "bad\nid", "--format", "ephyto-sps", *trader)
    assert code == 2 and "not a document id" in output
