"""Exception hierarchy: every ecnas error roots at :class:`EcnasError` and a matching builtin."""

from __future__ import annotations


class EcnasError(Exception):
    """Base class of every error raised on purpose by ecnas."""


class InvalidConfigError(EcnasError, ValueError):
    """A configuration is not a valid member of its search space (the message names the space and the rule)."""


class InvalidCellError(InvalidConfigError):
    """A cell (adjacency matrix + ops) is not a valid member of the NB101 space."""


class SpaceCapabilityError(EcnasError, NotImplementedError):
    """A search space cannot do what was asked (enumerate, mutate, build a model); names the space."""


class TableFormatError(EcnasError, ValueError):
    """A table file is missing, truncated, corrupt or not an ecnas table."""


class CorruptRecordError(EcnasError, ValueError):
    """A record file (TFRecord, protobuf payload, build log) fails an integrity check."""


class NotFittedError(EcnasError, ValueError, AttributeError):
    """A model was used before ``fit`` was called."""


class TableNotFoundError(EcnasError, FileNotFoundError):
    """No table at the given path, or no embedded default table installed."""


class WriteError(EcnasError, OSError):
    """A file could not be written (disk full, read-only, permission denied); nothing partial was left.

    ``errno`` and ``strerror`` are those of the underlying OSError; ``str()`` is the full message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class ViewUnavailableError(EcnasError, ValueError):
    """A table cannot serve the asked view (e.g. ``view="surrogate"`` without surrogate values); names the fix."""
