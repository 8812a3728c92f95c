"""The contract a chat platform fulfils so that `kgbot serve` can run it beside the others.

It sits next to bot/core.py rather than in bot/serve.py because it is what every adapter promises the service;
adapters satisfy it structurally and never import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiohttp import web


class Adapter(Protocol):
    """A chat platform as `serve` runs it. No adapter handles signals; `serve` owns the process."""

    name: str
    mode: str  # shown in the start-up line, e.g. "Socket Mode"

    async def start(self) -> None:
        """Connect; raises ValueError (one line per problem) when the platform refuses the credentials."""
        ...

    async def ready(self) -> bool:
        """Connected and able to receive questions."""
        ...

    async def drain(self) -> None:
        """Wait until the replies under way have been posted."""
        ...

    async def stop(self) -> None:
        """Disconnect; safe to call more than once."""
        ...

    def http_routes(self) -> list[web.RouteDef]:
        """Routes the adapter needs on the shared HTTP server (Slack's HTTP mode: /slack/events)."""
        ...
