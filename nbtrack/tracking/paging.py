"""Paged results, as MLflow's ``PagedList``: a list plus the token of the next page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from nbtrack.tracking import validation

__all__ = ["PagedList", "page_of"]

T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A page of results; ``token`` fetches the next page (None on the last)."""

    def __init__(self, items: Sequence[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def page_of(fetch: Callable[[int], Sequence[Any]], limit: int, page_token: str | None) -> PagedList[Any]:
    """One page of ``limit`` items from ``fetch(offset)``, which returns up to ``limit + 1`` items
    from ``offset`` on (the extra one says whether there is a next page)."""
    offset = validation.page_token(page_token)
    found = fetch(offset)
    if len(found) > limit:
        return PagedList(list(found[:limit]), validation.encode_page_token(offset + limit))
    return PagedList(list(found), None)
