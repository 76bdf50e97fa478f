"""Helpers for test suites and demos: ``postgres`` starts a throwaway PostgreSQL server.

Not imported by the library itself; the suite, the benchmarks and the sample project share it
(``python -m pgtrigger_live.testing.postgres`` prints a DATABASE_URL and serves until Ctrl-C).
"""
