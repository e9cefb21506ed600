"""The expected failures of claimwatch: one family, one line each.

Every failure an operator can cause or fix (a missing database, another key, a busy file, an
unwritable path, an unreachable server, a bad argument) raises a ``ClaimwatchError`` whose
message is one line that says what happened and what to do. The CLI prints it as
``error: …`` and exits 1; anything else is a bug and is reported as such.
"""

from __future__ import annotations


class ClaimwatchError(Exception):
    """An expected failure with a one-line, identifier-free message."""


class NoDatabaseError(ClaimwatchError):
    """The path holds no claimwatch database (nothing but ``claimwatch init`` creates one)."""


class DatabaseExistsError(ClaimwatchError):
    """``claimwatch init`` on a path that already holds a database."""


class DatabaseBusyError(ClaimwatchError):
    """Another process holds the database file."""


class PseudonymKeyError(ClaimwatchError):
    """The pseudonymisation key is missing, too weak or not the one this database uses."""


class InputError(ClaimwatchError):
    """An input path or argument that cannot be used (no inbox, unreadable labels file...)."""


class OutputPathError(ClaimwatchError):
    """A file the command must write cannot be written there."""


class ReviewError(ClaimwatchError):
    """A review command that cannot be carried out (unknown case, bad status...)."""


class ServerUnreachable(ClaimwatchError):
    """A server the command needs (Prefect API, Dask scheduler) does not answer."""


class PublishFailed(ClaimwatchError):
    """The run committed, but publishing its results failed (retried by the next run)."""


def output_path_error(path: object, exc: OSError) -> OutputPathError:
    """Turn an OSError raised while writing ``path`` into a one-line OutputPathError."""
    text = str(exc).strip()
    reason = exc.strerror or (text.splitlines()[0] if text else type(exc).__name__)
    return OutputPathError(f"cannot write {path}: {reason}")
