"""The ledger's Alembic migrations (run by `tma_agent.ledger.migrate`, never by an alembic.ini).

A new migration, after changing `tma_agent.ledger.models`: let Alembic draft it against a ledger
at head, then review it by hand (names, server defaults, what existing rows get)::

    from alembic import command
    from tma_agent.ledger import make_engine, upgrade_ledger
    from tma_agent.ledger.migrate import alembic_config

    engine = make_engine("sqlite:////tmp/draft.db")
    upgrade_ledger(engine)
    with engine.begin() as connection:
        config = alembic_config(connection)
        config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
        command.revision(config, message="what it adds", autogenerate=True, rev_id="0003")

`tests/test_ledger.py` then checks the schema at head matches the models on SQLite and
PostgreSQL, and that a ledger of the first migration keeps its rows.
"""
