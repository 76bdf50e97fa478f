"""Keeping the database in sync with the declarations, one way:

compile (``compiler``, ``digest``, ``desired``) -> read the catalog (``catalog``) -> plan
(``planner``, ``operations``: pure) -> apply (``applier``, rendering with ``ddl``), composed
by ``installation``. ``state`` holds the plain values they pass along.
"""
