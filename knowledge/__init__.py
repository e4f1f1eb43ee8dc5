"""histbot's knowledge library: source texts -> passages -> BM25 index -> answers.

It never imports discord: the bot and the CLI are two front-ends of the same API.
"""

from knowledge.bm25 import BM25Params
from knowledge.errors import KnowledgeError, QueryError, SourceError, UnknownReference
from knowledge.library import MAX_QUERY_CHARS, Library
from knowledge.models import (
    Answer,
    Hit,
    Passage,
    PassageKind,
    Quotation,
    SectionInfo,
    Source,
    format_citation,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "Answer",
    "BM25Params",
    "Hit",
    "KnowledgeError",
    "Library",
    "Passage",
    "PassageKind",
    "QueryError",
    "Quotation",
    "SectionInfo",
    "Source",
    "SourceError",
    "UnknownReference",
    "format_citation",
]
