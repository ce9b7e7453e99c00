"""One exception hierarchy for the whole lake.

Every error a user can cause carries a message that says what went wrong and
what to do about it. The CLI prints ``str(error)`` on one line and exits 1.
"""
from __future__ import annotations


class ModelLakeError(Exception):
    """Base class of every error modellake raises on purpose."""

    hint: str = ""

    def __str__(self) -> str:  # message plus an actionable hint, one line
        msg = super().__str__()
        return f"{msg} ({self.hint})" if self.hint else msg


class LakeError(ModelLakeError):
    """The lake directory or its catalog cannot be used."""


class NotFoundError(ModelLakeError):
    """A model, run or other record named by the user does not exist."""

    hint = "see `modellake list`"


class NameConflictError(ModelLakeError):
    """A name is already taken by another model."""


class InvalidModelFileError(ModelLakeError):
    """A model file is unreadable, truncated, corrupt or not what it claims."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsafeFileError(InvalidModelFileError):
    """A file would need unsafe deserialization (arbitrary pickled code)."""


class UnsupportedFormatError(InvalidModelFileError):
    """The path holds nothing modellake knows how to ingest."""


class TaskError(ModelLakeError):
    """A model cannot perform the requested task (no tokenizer, wrong head...)."""


class UsageError(ModelLakeError):
    """A request that does not fit: an unknown value for an option, a missing argument."""


class ReadOnlyLakeError(LakeError):
    """The lake's directory or catalog cannot be written."""


class NoSpaceError(LakeError):
    """The device holding the lake (or a file being written) is full."""


class PathTooLongError(ModelLakeError):
    """A path is longer than the file system allows."""


class FileSystemError(ModelLakeError):
    """A file or directory named by the user cannot be read or written."""


NAME_MAX = 255  # bytes in one path component on common file systems
PATH_MAX = 4096


def short_path(path: object, limit: int = 100) -> str:
    """``path`` as text, its middle elided when longer than ``limit`` characters."""
    text = str(path)
    if len(text) <= limit:
        return text
    return f"{text[:limit * 2 // 3]}…{text[-(limit // 3):]}"


def _too_long(path: object) -> PathTooLongError:
    text = str(path)
    longest = max((len(p.encode(errors="replace")) for p in text.split("/")), default=0)
    why = (f"one of its names has {longest} bytes, at most {NAME_MAX} are allowed"
           if longest > NAME_MAX else f"{len(text)} characters, at most {PATH_MAX} are allowed")
    return PathTooLongError(f"path too long: {short_path(text)} ({why}); use a shorter path")


def _read_only(root: object, detail: str) -> ReadOnlyLakeError:
    return ReadOnlyLakeError(f"the lake at {short_path(root)} is read-only: {detail}; make it "
                             "writable, or choose another lake with --lake")


def _no_space(where: object) -> NoSpaceError:
    device = "the device" if where is None else f"the device holding {short_path(where)}"
    return NoSpaceError(f"no space left on {device}; free some space and try again")


def _inside(path: object, root: object) -> bool:
    from pathlib import Path

    try:
        return Path(str(path)).resolve().is_relative_to(Path(str(root)).resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def from_os_error(exc: OSError, lake_root: object = None) -> ModelLakeError:
    """A one-line project error for an operating-system error a user can cause (a read-only
    lake, a full disk, a path too long, a missing or unreadable file)."""
    import errno

    path = exc.filename if exc.filename is not None else lake_root
    detail = exc.strerror or str(exc)
    in_lake = lake_root is not None and (exc.filename is None or _inside(exc.filename, lake_root))
    if exc.errno == errno.ENAMETOOLONG:
        return _too_long(path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _no_space(lake_root if in_lake else path)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        if in_lake:
            return _read_only(lake_root, f"{detail.lower()} ({short_path(path)})")
        return FileSystemError(f"{detail.lower()}: {short_path(path)}; check its permissions")
    if exc.errno == errno.ENOENT:
        return FileSystemError(f"no such file or directory: {short_path(path)}")
    where = f": {short_path(exc.filename)}" if exc.filename is not None else ""
    return FileSystemError(f"{detail}{where}")


def from_db_error(exc: Exception, lake_root: object, action: str = "use") -> LakeError:
    """A one-line project error for an SQLite error of the lake's catalog (``action``: what
    was being done, for errors of no known kind)."""
    msg = str(exc)
    low = msg.lower()
    if "readonly" in low or "read-only" in low:
        return _read_only(lake_root, f"the catalog cannot be written ({msg})")
    if "disk is full" in low:
        return _no_space(lake_root)
    if "locked" in low or "busy" in low:
        return LakeError(f"the lake at {short_path(lake_root)} is busy: another modellake "
                         "process is writing to it; try again when it is done")
    if "not a database" in low or "malformed" in low:
        return LakeError(f"the catalog of the lake at {short_path(lake_root)} is damaged "
                         f"({msg}); restore it from a backup, or choose another lake with --lake")
    return LakeError(f"cannot {action} the catalog of the lake at {short_path(lake_root)}: {msg}")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 300 characters (its type if empty)."""
    text = " ".join(str(exc).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(exc).__name__
