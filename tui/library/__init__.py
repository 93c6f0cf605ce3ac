"""The library: storage, identity and merging, queries and undo. No Textual here."""

from .core import SORT_KEYS, ImportReport, Library
from .query import Query, QueryError, parse_query
from .storage import LibraryError

__all__ = [
    "SORT_KEYS",
    "ImportReport",
    "Library",
    "LibraryError",
    "Query",
    "QueryError",
    "parse_query",
]
