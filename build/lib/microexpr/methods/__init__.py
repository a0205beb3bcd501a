"""One recipe per published method, behind one interface (see ``base.py``)."""

from .base import BatchedFoldsMethod, Method, RunContext
from .registry import create_method, list_methods, register_method

__all__ = ["BatchedFoldsMethod", "Method", "RunContext", "create_method", "list_methods", "register_method"]
