"""Declaring triggers: clauses, conditions, the Trigger class, the built-ins, the registry.

Nothing here opens a connection or knows how triggers are installed; the reconcile layer
reads these declarations, the runtime looks them up by URI.
"""
