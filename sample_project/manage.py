#!/usr/bin/env python
"""Run the sample project: ``python sample_project/manage.py demo``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    # The sample runs from a checkout (or next to an installed pgtrigger_live, whose
    # pgtrigger_live.testing.postgres starts its server).
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
