from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The app whose models the documentation shows (label ``shop``, as in the docs' URIs)."""

    name = "tests.docsproject.shop"
    label = "shop"
    default_auto_field = "django.db.models.BigAutoField"
