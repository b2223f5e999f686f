"""The ledger's Alembic migrations (run by `tma_agent.ledger.migrate`, never by an alembic.ini)."""
