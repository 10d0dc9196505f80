"""The evidence bundle format (``tradeaccord-evidence-1``): build and read.

A bundle is a ZIP archive (stored, no compression needed) of:

- ``manifest.jws``: a General JWS (``typ`` = ``tradeaccord-evidence+jws``) signed by the
  producing node's key, whose payload is the RFC 8785 form of the manifest::

      {"format": "tradeaccord-evidence-1", "bundleId", "producer", "createdAt",
       "subject": {"kind": "document" | "declaration", "id"},
       "files": [{"path", "role", "sha256"}, …]}

- every file the manifest lists, and nothing else, each with the SHA-256 (lower-case hex
  of its bytes) the manifest gives. Roles and paths:

  ==============  ===========================  ==============================================
  role            path                         content
  ==============  ===========================  ==============================================
  ``document``    ``documents/<n>.jws``        a signed document exactly as held (JWS JSON)
  ``receipt``     ``receipts/<n>.jws``         a signed receipt (JWS JSON) naming a message
  ``statement``   ``statements/<n>.jws``       an issuer's status statement (JWS JSON)
  ``registry``    ``registry/<version>.json``  the trust registry version a decision used
                                               (anchors, node certificates, agreements)
  ``decisions``   ``decisions.json``           the node's decisions (outcomes, reasons,
                                               agreement, domestic type, registry version)
  ``audit``       ``audit.json``               the audit entries that concern the subject,
                                               each with ``seq``, ``prev`` and ``hash``
  ==============  ===========================  ==============================================

The format is in ``docs/evidence.md``; ``evidence.verify`` checks it offline.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from evidence.errors import EvidenceError
from protocol.canonical import canonicalize, sha256_hex
from protocol.errors import ProtocolError
from protocol.jws import GeneralJWS, JWSType, Signer, sign
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import format_time, parse_time, require_aware

FORMAT = "tradeaccord-evidence-1"
MANIFEST = "manifest.jws"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_FILES = 2000
_PATH = re.compile(r"^(documents|receipts|statements|registry)/[A-Za-z0-9._:-]{1,160}$"
                   r"|^(decisions|audit)\.json$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MEMBERS = {"format", "bundleId", "producer", "createdAt", "subject", "files"}


class Role(StrEnum):
    """What a bundle file is."""

    DOCUMENT = "document"
    RECEIPT = "receipt"
    STATEMENT = "statement"
    REGISTRY = "registry"
    DECISIONS = "decisions"
    AUDIT = "audit"


class SubjectKind(StrEnum):
    DOCUMENT = "document"
    DECLARATION = "declaration"


@dataclass(frozen=True, slots=True)
class BundleFile:
    path: str
    role: Role
    content: bytes

    @property
    def sha256(self) -> str:
        return sha256_hex(self.content)


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """The signed list of what a bundle holds."""

    bundle_id: str
    producer: str
    created_at: dt.datetime
    subject_kind: SubjectKind
    subject_id: str
    files: tuple[tuple[str, Role, str], ...]  # (path, role, sha256)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "bundleId": self.bundle_id, "producer": self.producer,
                "createdAt": format_time(self.created_at),
                "subject": {"kind": self.subject_kind.value, "id": self.subject_id},
                "files": [{"path": path, "role": role.value, "sha256": digest}
                          for path, role, digest in self.files]}

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        def fail(message: str) -> EvidenceError:
            return EvidenceError(ReasonCode.EVIDENCE_INVALID, f"manifest: {message}",
                                 path=MANIFEST)

        if not isinstance(data, Mapping) or set(data) != _MEMBERS:
            raise fail(f"a manifest has exactly the members {sorted(_MEMBERS)}")
        if data["format"] != FORMAT:
            raise fail(f"format {data['format']!r} is not {FORMAT}")
        subject, files = data["subject"], data["files"]
        if not isinstance(subject, Mapping) or set(subject) != {"kind", "id"}:
            raise fail("subject is {kind, id}")
        if not isinstance(files, list) or len(files) > MAX_FILES:
            raise fail(f"files is an array of at most {MAX_FILES} entries")
        parsed: list[tuple[str, Role, str]] = []
        try:
            for entry in files:
                if not isinstance(entry, Mapping) or set(entry) != {"path", "role", "sha256"}:
                    raise ValueError("each file is {path, role, sha256}")
                path, digest = entry["path"], entry["sha256"]
                if not isinstance(path, str) or not _PATH.fullmatch(path):
                    raise ValueError(f"bad path {path!r}")
                if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                    raise ValueError(f"bad sha256 for {path}")
                parsed.append((path, Role(entry["role"]), digest))
            if len({path for path, _, _ in parsed}) != len(parsed):
                raise ValueError("a path is listed twice")
            for name in ("bundleId", "producer"):
                if not isinstance(data[name], str):
                    raise ValueError(f"{name} must be a string")
            if not isinstance(subject["id"], str):
                raise ValueError("subject id must be a string")
            return cls(bundle_id=data["bundleId"], producer=data["producer"],
                       created_at=parse_time(data["createdAt"]),
                       subject_kind=SubjectKind(subject["kind"]), subject_id=subject["id"],
                       files=tuple(parsed))
        except (TypeError, ValueError) as exc:
            raise fail(str(exc)) from exc


def build_bundle(files: Sequence[BundleFile], *, bundle_id: str, producer: str,
                 subject_kind: SubjectKind, subject_id: str, signer: Signer,
                 at: dt.datetime) -> bytes:
    """The ZIP bytes of a bundle: the files and their manifest, signed by ``signer``."""
    require_aware(at, "at")
    paths = [item.path for item in files]
    if len(set(paths)) != len(paths) or not all(_PATH.fullmatch(p) for p in paths):
        raise ValueError("bundle paths must be unique and of the documented forms")
    manifest = Manifest(bundle_id=bundle_id, producer=producer, created_at=at,
                        subject_kind=subject_kind, subject_id=subject_id,
                        files=tuple((item.path, item.role, item.sha256) for item in files))
    signed = sign(canonicalize(manifest.to_dict()), signer, typ=JWSType.EVIDENCE_MANIFEST,
                  signed_at=at)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        fixed = (1980, 1, 1, 0, 0, 0)  # fixed times: the same content gives the same bytes
        archive.writestr(zipfile.ZipInfo(MANIFEST, fixed), signed.to_json())
        for item in files:
            archive.writestr(zipfile.ZipInfo(item.path, fixed), item.content)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class OpenedBundle:
    """A bundle's signed manifest and its files (nothing checked but the structure)."""

    manifest_jws: GeneralJWS
    manifest: Manifest
    files: dict[str, bytes]


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One file's bytes; a CRC mismatch (a byte changed in the archive) names the file."""
    try:
        return archive.read(info)
    except zipfile.BadZipFile as exc:
        raise EvidenceError(ReasonCode.EVIDENCE_TAMPERED, f"{info.filename}: {exc}",
                            path=info.filename) from exc


def open_bundle(data: bytes) -> OpenedBundle:
    """Read the archive and parse the manifest; EVIDENCE_INVALID when unreadable."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise EvidenceError(ReasonCode.EVIDENCE_INVALID,
                            f"{len(data)} bytes exceed {MAX_BUNDLE_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_FILES + 1:
                raise EvidenceError(ReasonCode.EVIDENCE_INVALID, "too many files")
            if sum(info.file_size for info in infos) > MAX_BUNDLE_BYTES:
                raise EvidenceError(ReasonCode.EVIDENCE_INVALID, "the files are too large")
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise EvidenceError(ReasonCode.EVIDENCE_INVALID, "a file appears twice")
            contents = {info.filename: _read(archive, info) for info in infos}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise EvidenceError(ReasonCode.EVIDENCE_INVALID,
                            f"not a readable ZIP archive: {exc}") from exc
    raw = contents.pop(MANIFEST, None)
    if raw is None:
        raise EvidenceError(ReasonCode.EVIDENCE_INVALID, "no manifest.jws", path=MANIFEST)
    try:
        jws = GeneralJWS.parse(raw)
        manifest = Manifest.from_dict(parse_json(jws.payload))
    except ProtocolError as exc:
        raise EvidenceError(ReasonCode.EVIDENCE_INVALID,
                            f"manifest.jws: {exc.code.value}: {exc.message}",
                            path=MANIFEST) from exc
    return OpenedBundle(jws, manifest, contents)
