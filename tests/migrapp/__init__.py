"""An app whose migration history exercises PGTRIGGER_LIVE_PRE_MIGRATE: a data migration that
records the triggers it sees, and a type change of a column a trigger's WHEN uses."""
