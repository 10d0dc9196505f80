"""The node's current trust registry: versions kept in the database, cached in memory.

The newest ``registry_state`` row is the registry in force. At start, ``DIR/registry.json``
(edited by the CLI while the node is stopped) is installed when its version is newer than
the database's; every change through the operator API installs a new version and rewrites
the file, so the file and the database never drift. Several API processes sharing one
PostgreSQL database all see a new version on their next request.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from node.authority import write_atomic
from node.errors import ConfigError, ConflictError
from node.services.audit import append_event
from node.storage.database import read_session, write_session
from node.storage.models import RegistryStateRecord
from protocol.errors import ProtocolError
from protocol.reason_codes import ReasonCode
from protocol.strict_json import parse_json
from protocol.timeutil import utc_now
from trust_registry import TrustRegistry
from trust_registry.errors import TrustError


class RegistryStore:
    """Loads, caches and installs registry versions."""

    def __init__(self, engine: Engine, file_path: Path) -> None:
        self._engine = engine
        self._file = file_path
        self._lock = threading.Lock()
        self._cached: TrustRegistry | None = None

    def _read_file(self) -> TrustRegistry:
        try:
            data = parse_json(self._file.read_bytes(), max_bytes=256 * 1024 * 1024,
                              max_depth=64)
            return TrustRegistry.from_dict(data)
        except OSError as exc:
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"cannot read the registry file {self._file}: {exc}") from exc
        except (ProtocolError, TrustError) as exc:
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"{self._file} is not a valid registry: {exc}") from exc

    def seed_from_file(self) -> None:
        """Install ``registry.json`` if it is newer than the database's registry."""
        registry = self._read_file()
        with write_session(self._engine) as session:
            # Processes starting together read and install in turn (else two install the
            # same version and one crashes on the primary key): a write session holds the
            # node's writer lock from its first statement (storage.database).
            held = session.exec(select(func.max(RegistryStateRecord.version))).one()
            if held is None or registry.version > held:
                self._install(session, registry, actor="registry-file")
                session.commit()
                return
        if held is not None and registry.version < held:
            # The API installed newer versions since the file was written: the database wins.
            self._write_file(self.current())

    def current(self, session: Session | None = None) -> TrustRegistry:
        """The registry in force (cached; re-read only when a newer version exists)."""
        own = session is None
        session = session or read_session(self._engine)
        try:
            version = session.exec(select(func.max(RegistryStateRecord.version))).one()
            cached = self._cached
            if cached is not None and cached.version == version:
                return cached
            record = session.exec(
                select(RegistryStateRecord).order_by(col(RegistryStateRecord.version).desc())
            ).first()
        finally:
            if own:
                session.close()
        if record is None:
            raise ConfigError(ReasonCode.CONFIG_INVALID, "the node holds no trust registry")
        registry = TrustRegistry.from_dict(json.loads(record.registry_json))
        with self._lock:
            if self._cached is None or self._cached.version < registry.version:
                self._cached = registry
        return registry

    def install(self, session: Session, registry: TrustRegistry, *, actor: str) -> None:
        """Install ``registry`` as the new current version in the caller's write transaction.
        Read its base with ``current(session)`` in that same transaction: the writer lock it
        holds makes two changes at once apply in turn, each over the other's result."""
        held = session.exec(select(func.max(RegistryStateRecord.version))).one()
        if held is not None and registry.version <= held:
            raise ConflictError(ReasonCode.REGISTRY_ROLLBACK,
                                f"registry version {registry.version} is not newer than {held}")
        self._install(session, registry, actor=actor)

    def _install(self, session: Session, registry: TrustRegistry, *, actor: str) -> None:
        now = utc_now()
        session.add(RegistryStateRecord(
            version=registry.version,
            registry_json=json.dumps(registry.to_dict(), sort_keys=True),
            installed_at=now, installed_by=actor))
        try:
            # Flushed here, before the audit event's query would autoflush it outside this
            # translation (a writer outside a write session loses the race as a 409).
            session.flush()
        except IntegrityError as exc:
            raise ConflictError(ReasonCode.CONFLICT,
                                f"registry version {registry.version} was installed "
                                "concurrently") from exc
        append_event(session, event="registry.installed", actor=actor,
                     subject=f"registry:{registry.version}",
                     details={"version": registry.version}, at=now)

    def after_commit(self, registry: TrustRegistry) -> None:
        """Refresh the cache and the file once the caller's transaction has committed."""
        with self._lock:
            self._cached = registry
        self._write_file(registry)

    def _write_file(self, registry: TrustRegistry) -> None:
        write_atomic(self._file, (json.dumps(registry.to_dict(), indent=2, sort_keys=True)
                                  + "\n").encode("utf-8"))
