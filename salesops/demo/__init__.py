"""Deterministic demo and scale data: `salesops seed --scale demo|small|100k|1m`.

- `config.py` plans the organisation (settings, calendar, rates, picklists, custom
  fields, pipelines, roles, teams, people, products) with fixed ids; pure Python.
- `history.py` streams two-plus years of CRM history as row tuples; pure Python.
- `bulk.py` writes rows with `executemany` (SQLite) or `COPY` (PostgreSQL), dropping and
  rebuilding the big tables' indexes around the load; table and column names come from
  the models' `_meta`.
- `parallel.py` spreads big loads over processes; `seeding.py` runs it all in one
  transaction; `reset.py` decides whether there is data and wipes it for `--reset`.
"""
