"""The dashboard's footer: Textual's `Footer`, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyFooter(Footer):
    """`Footer` that skips a rebuild when the shown keys are the same as last time.

    Textual's footer remounts one widget per key (a dozen on the dashboard, ~20 ms) after
    every "bindings updated" signal. Focus moves, screen pushes and pops, and reactive
    changes all send one, and most leave the keys as they were: at start-up three arrive
    before the first frame, each with the same keys, and the rebuilds were a tenth of the
    time to the first paint. The keys, descriptions, enabled states and tooltips are
    compared, so a change of any of them (another pane focused, a keymap) still rebuilds.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[object, ...] | None = None

    def _keys_shown(self) -> tuple[object, ...]:
        """Everything `Footer.compose` reads, in a comparable form."""
        return (
            getattr(self, "_bindings_ready", True),
            self.compact,
            self.show_command_palette,
            tuple(
                (binding, enabled, tooltip)
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            ),
        )

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        shown = self._keys_shown()
        if shown == self._shown:
            return
        self._shown = shown
        await super().recompose()
