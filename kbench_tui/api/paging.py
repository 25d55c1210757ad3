"""Page-token pagination shared by `BenchmarksClient` and the export's `TaskReader`.

Pydantic-free, like everything the headless export imports at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

from kbench_tui.api.errors import ProtocolError

# A bound on pages per list so that a server handing out fresh tokens forever still ends.
MAX_PAGES = 100_000
# Page size the all-pages helpers ask for. The CLI sends none and gets the server's small
# default (20 in the simulator), so listing 1,000 tasks costs 50 sequential round trips;
# asking for 100 (the simulator's cap; a server with a lower cap still pages correctly)
# makes it 10 — five times faster dashboard start-up and polling at scale.
LIST_PAGE_SIZE = 100


class Page(Protocol):
    @property
    def next_page_token(self) -> str | None: ...


PageT = TypeVar("PageT", bound=Page)


async def all_pages(
    rpc: str, fetch: Callable[[str | None], Awaitable[PageT]]
) -> AsyncIterator[PageT]:
    """Yield pages until `next_page_token` is empty; a repeated token is a server bug."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await fetch(token)
        yield page
        token = page.next_page_token or None
        if token is None:
            return
        if token in seen:
            # The CLI would loop forever here; stop with a clear error instead.
            raise ProtocolError(f"the page token {token[:40]!r} came back twice", rpc=rpc)
        seen.add(token)
    raise ProtocolError(f"more than {MAX_PAGES} pages; giving up", rpc=rpc)
