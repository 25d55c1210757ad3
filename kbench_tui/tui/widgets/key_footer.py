"""The dashboard's footer: every shown key on one painted line, not a widget per key.

Textual's `Footer` mounts one `FooterKey` widget per binding and remounts them all when
the keys change, i.e. on every focus move between panes: styles applied to a dozen new
widgets, a horizontal layout, a render each (30-100 ms on a shared 2-core machine, and
the key that moved the focus, `/` or `escape`, waited behind it). `KeyFooter` shows the
same keys in the same order and colours (the theme's `$footer-*` variables) as one line
of text: a change of keys is a repaint of one line. Clicking a key presses it (a
disabled key rings the bell); hovering one highlights it and shows its tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True)
class FooterItem:
    """One key as shown: what it says, what it presses, whether it is enabled."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    palette: bool = False  # the command palette's key, shown on the right


class KeyFooter(Widget, can_focus=False):
    """The active screen's keys on one line; repainted only when they change."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--hover",
        "key-footer--separator",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .key-footer--hover {
            background: $block-hover-background;
        }
        .key-footer--separator {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: tuple[FooterItem, ...] = ()
        self._spans: list[tuple[int, int, FooterItem]] = []  # cells each item covers
        self._hover: FooterItem | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    # -- keys -----------------------------------------------------------------------------

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        items = self._items_of(screen)
        if items != self.items:
            self.items = items
            if self._hover is not None and self._hover not in items:
                self._hover = None
            self.refresh()

    def _items_of(self, screen: Screen) -> tuple[FooterItem, ...]:
        """The keys `Footer` would show: one per action (its first binding), in order."""
        app = self.app
        shown: dict[str, FooterItem] = {}
        palette: FooterItem | None = None
        active = screen.active_bindings
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = FooterItem(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    enabled,
                    tooltip or "",
                )
        if app.ENABLE_COMMAND_PALETTE:
            entry = active.get(app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _node, binding, enabled, tooltip = entry
                shown.pop(binding.action, None)
                palette = FooterItem(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    enabled,
                    binding.tooltip or binding.description,
                    palette=True,
                )
        items = tuple(shown.values())
        return items if palette is None else (*items, palette)

    # -- painting -------------------------------------------------------------------------

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        # The hover colour is translucent: blend it over the footer's own background.
        _, background = self.background_colors
        hover = background + self.get_component_styles("key-footer--hover").background
        hover_style = Style(bgcolor=hover.rich_color)
        dim = Style(dim=True)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, FooterItem]] = []
        palette = None
        for item in self.items:
            if item.palette:
                palette = item
                continue
            start = line.cell_len
            extra = hover_style if item is self._hover else Style()
            if not item.enabled:
                extra += dim
            line.append(f" {item.display} ", key_style + extra)
            if item.description:
                line.append(f"{item.description} ", description_style + extra)
            spans.append((start, line.cell_len, item))
        width = self.size.width
        if palette is not None:
            # Right-aligned after a thin separator, like Footer's docked palette key.
            label = Text.assemble(
                ("▏", self.get_component_rich_style("key-footer--separator")),
                (palette.display, key_style),
                (f" {palette.description}", description_style),
                " ",
            )
            gap = width - line.cell_len - label.cell_len
            if gap >= 1:
                line.append(" " * gap)
                start = line.cell_len + 1
                line.append_text(label)
                spans.append((start, line.cell_len, palette))
        self._spans = spans
        return line

    # -- mouse ----------------------------------------------------------------------------

    def item_at(self, x: int) -> FooterItem | None:
        """The key shown at column `x` (of the last paint), if any."""
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self.item_at(event.x)
        if item is not self._hover:
            self._hover = item
            self.tooltip = item.tooltip if item is not None and item.tooltip else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        item = self.item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
