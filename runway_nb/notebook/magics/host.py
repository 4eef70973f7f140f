"""What the parts of the magic need from the ``RunwayMagics`` object that runs them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["MagicsHost", "SettingValue"]

# A session default, as ``Session.configure`` returns it and the magic's traits hold it.
SettingValue = str | float | bool | None


class MagicsHost(Protocol):
    """The shell, the sweep confirmation thresholds, and the settings ``%runway config`` changes."""

    @property
    def shell(self) -> InteractiveShell | None: ...

    @property
    def confirm_above(self) -> int: ...

    @property
    def confirm_credits(self) -> float: ...

    def assign(self, name: str, value: object) -> None:
        """Put ``value`` into the notebook's namespace as ``name`` (``-o NAME``)."""

    def apply_config(self, defaults: Mapping[str, SettingValue], magic_settings: Mapping[str, float]) -> None:
        """Show the session's new ``defaults`` and the magic's own settings in the configurable traits."""
