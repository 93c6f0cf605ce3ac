"""The command palette (ctrl+p): every action of the app, found by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import PaperTUI


class PaperCommands(Provider):
    """One command per key binding, built from the same data as the help screen."""

    @property
    def paper_app(self) -> PaperTUI:
        return cast("PaperTUI", self.app)

    async def discover(self) -> Hits:
        for entry in self.paper_app.palette_entries():
            yield DiscoveryHit(
                entry.title,
                partial(self.paper_app.run_palette_entry, entry),
                help=entry.help,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self.paper_app.palette_entries():
            score = matcher.match(entry.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(entry.title),
                    partial(self.paper_app.run_palette_entry, entry),
                    help=entry.help,
                )
