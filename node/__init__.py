"""TradeAccord node: the authority's service.

- ``api``: the FastAPI application (``node.api.app.create_app``).
- ``services``: documents, receiving, delivery (outbox worker), audit log, API keys,
  registry store.
- ``storage``: SQLModel tables, engines and sessions, Alembic migrations (``migrations``).
- ``cli``: the ``tradeaccord`` command; ``client``: the typed API client (``NodeClient``).
- ``authority``: authority directories (keys and certificates); ``settings``: the one
  settings object; ``pilot``/``localnet``/``demo``: pilot networks on this machine.
"""

__all__: list[str] = []
