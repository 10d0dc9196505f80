"""Everything a node's request handlers and workers share, built once by the outermost caller.

``NodeContext.build(settings)`` opens the authority directory, decrypts the signing keys into
memory, builds the database engine (running migrations), loads the schemas, the mapping set
and the clearance rule sets, and seeds the registry from ``DIR/registry.json``. Several
contexts can live side by side in one process (tests run two nodes in one interpreter).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError

from clearance import ClearanceRulesError, ImportRuleSet, RuleSet
from node.authority import AuthorityDirectory
from node.errors import ConfigError
from node.metrics import NodeMetrics
from node.services.registry_store import RegistryStore
from node.services.wakeup import OutboxSignal
from node.settings import Settings
from node.storage.database import make_engine, migrate, storage_errors
from protocol.content import ContentChecker
from protocol.documents import DocumentSchemas
from protocol.jws import Signer
from protocol.limits import Limits
from protocol.reason_codes import ReasonCode
from protocol.validation_profile import ValidationProfile
from trust_registry.mapping import MappingSet

RulesT = TypeVar("RulesT", RuleSet, ImportRuleSet)


@functools.cache
def shipped_catalogues() -> tuple[DocumentSchemas, MappingSet, ContentChecker]:
    """The package's document schemas, equivalence mappings and code lists, loaded once per
    process: they are immutable, and a process that runs several nodes (the demo, the
    tests) need not read and compile them for each."""
    schemas = DocumentSchemas.load()
    return schemas, MappingSet.load(), ContentChecker.load(schemas)


@dataclass(slots=True)
class NodeContext:
    """The node's long-lived state: identity, keys (in memory), storage, schemas, registry."""

    settings: Settings
    authority: AuthorityDirectory
    document_signer: Signer
    node_signer: Signer
    engine: Engine
    schemas: DocumentSchemas
    mappings: MappingSet
    registry: RegistryStore
    limits: Limits
    reconciliation: RuleSet
    import_rules: ImportRuleSet
    content: ContentChecker
    metrics: NodeMetrics = field(default_factory=NodeMetrics)
    # Wakes this process's delivery workers when a transaction queued outbound work.
    outbox: OutboxSignal = field(default_factory=OutboxSignal)

    @property
    def authority_id(self) -> str:
        return self.authority.authority_id

    @property
    def profile(self) -> ValidationProfile:
        """The node's validation profile (``TRADEACCORD_VALIDATION_PROFILE``)."""
        # Settings.model_copy(update=…) does not validate: a plain string may arrive here.
        return ValidationProfile(self.settings.validation_profile)

    def validate_for_signing(self, document: Any) -> None:
        """What this node refuses to sign: a schema violation (``SchemaError``), or what its
        validation profile refuses (``ContentError``: CODE_UNKNOWN, AMOUNT_MISMATCH), each
        with the JSON pointer."""
        self.schemas.validate(document)
        self.content.check(document, self.profile)

    @classmethod
    def build(cls, settings: Settings, *, run_migrations: bool = True) -> NodeContext:
        if settings.authority_dir is None:
            raise ConfigError(ReasonCode.CONFIG_INVALID, "no authority directory configured")
        directory = Path(settings.authority_dir)
        authority = AuthorityDirectory.open(directory)
        passphrase = settings.passphrase_bytes()
        url = settings.resolved_database_url(directory)
        try:
            with storage_errors():
                if run_migrations:
                    migrate(url)
                engine = make_engine(url)
                registry = RegistryStore(engine, authority.registry_path)
                registry.seed_from_file()
        except ArgumentError as exc:
            raise ConfigError(ReasonCode.CONFIG_INVALID,
                              f"the database URL is not valid: {exc}") from exc
        schemas, mappings, content = shipped_catalogues()
        return cls(
            settings=settings,
            authority=authority,
            document_signer=authority.document_signer(passphrase),
            node_signer=authority.node_signer(passphrase),
            engine=engine,
            schemas=schemas,
            mappings=mappings,
            registry=registry,
            limits=settings.limits(),
            reconciliation=_rules(RuleSet, settings.reconciliation_rules),
            import_rules=_rules(ImportRuleSet, settings.import_rules),
            content=content,
        )

    def close(self) -> None:
        self.engine.dispose()


def _rules(kind: type[RulesT], path: Path | None) -> RulesT:
    """A clearance rule set: the configured file, else the shipped one (a bad file refuses
    the node's start with CONFIG_INVALID naming it)."""
    try:
        return kind.load(path)
    except (ClearanceRulesError, OSError) as exc:
        raise ConfigError(ReasonCode.CONFIG_INVALID, f"clearance rules {path}: {exc}") from exc
