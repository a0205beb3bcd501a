"""Tests of microexpr (imports are absolute: ``from tests.<folder>.<helper> import ...``)."""
