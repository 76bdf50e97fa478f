"""Empty on purpose: Django sends ``post_migrate`` only to apps with a models module."""
