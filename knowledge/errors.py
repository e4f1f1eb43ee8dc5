"""Errors the knowledge library raises; each message is one line a user can read."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base class: the message is safe to show as a one-line error."""


class SourceError(KnowledgeError):
    """The sources folder, its manifest or a text cannot be read or makes no sense."""


class QueryError(KnowledgeError):
    """A question or search that cannot be searched for (empty, too long, no words)."""


class UnknownReference(KnowledgeError):
    """A passage reference that names no passage."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions
