"""Reading a zip archive that may be hostile, in memory, within limits: nothing is extracted to disk.

`SafeArchive` checks one archive level when it is opened: every member path (`..`, absolute, drive
letter, NUL: refused even if never read), the entry count (from the end record, before zipfile builds
a ZipInfo per entry), and the declared uncompressed total. `SafeArchive.open` refuses encrypted members
and members whose declared compression ratio is a bomb's, and meters what it streams: the bytes
actually inflated count against the bundle's budget and the member's real ratio is checked as it goes.
Every refusal is a `ReadError` with a one-line reason ("unsafe", "too_large", "parse", "encrypted").
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from pipeline import settings
from pipeline.ingest.errors import ReadError

_DRIVE = re.compile(r"[A-Za-z]:")
_GIB = 1 << 30
_MIB = 1 << 20


@dataclass(frozen=True)
class BundleLimits:
    """How much a bundle may make us read. Every number can be set with an LCD_BUNDLE_* variable (pipeline/settings.py)."""

    max_archive_bytes: int = _GIB  # the .zip file itself (LCD_BUNDLE_MAX_ARCHIVE_BYTES)
    max_total_bytes: int = _GIB  # uncompressed bytes, declared and actually read (LCD_BUNDLE_MAX_BYTES)
    max_ratio: float = 200.0  # uncompressed / compressed, per member read (LCD_BUNDLE_MAX_RATIO)
    ratio_floor: int = _MIB  # members smaller than this are too small to be a bomb: ratio not checked
    max_members: int = 10_000  # entries per archive level (LCD_BUNDLE_MAX_MEMBERS)
    max_field_bytes: int = 64 * _MIB  # one CSV field (LCD_BUNDLE_MAX_FIELD_BYTES)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "BundleLimits":
        """Defaults overridden by LCD_BUNDLE_* variables; a bad value is a usage error (ValueError)."""
        return cls(**settings.bundle_limits(env))


def human_size(n: float) -> str:
    """1073741824 -> '1.0 GiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def unsafe_member_reason(name: str) -> str | None:
    """Why a member path could escape an extraction folder (`..`, absolute, drive letter), else None.

    We never extract, but such a member only exists to attack tools that do: refuse the whole bundle.
    """
    if "\x00" in name:
        return "contains a NUL byte"
    posix = name.replace("\\", "/")
    if posix.startswith("/"):
        return "is absolute"
    if _DRIVE.match(posix):
        return "starts with a drive letter"
    if ".." in posix.split("/"):
        return "contains '..'"
    return None


class Budget:
    """Uncompressed bytes actually read from one bundle, against the limit."""

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.used = 0

    def spend(self, n: int, member: str) -> None:
        self.used += n
        if self.used > self.limits.max_total_bytes:
            raise ReadError(
                "too_large",
                f"zip expanded past the {human_size(self.limits.max_total_bytes)} limit while reading {member!r} "
                "(LCD_BUNDLE_MAX_BYTES)",
            )


class Metered(io.RawIOBase):
    """A member stream that counts what it yields: total budget and the member's real compression ratio."""

    def __init__(self, raw: io.BufferedIOBase, info: zipfile.ZipInfo, budget: Budget) -> None:
        self._raw, self._info, self._budget, self._read = raw, info, budget, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._read += n
        self._budget.spend(n, self._info.filename)
        limits = self._budget.limits
        if self._read > limits.ratio_floor and self._read > limits.max_ratio * max(self._info.compress_size, 1):
            raise ReadError("too_large", _ratio_message(self._info.filename, self._read, self._info.compress_size, limits))
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _ratio_message(name: str, size: int, compressed: int, limits: BundleLimits) -> str:
    ratio = size / max(compressed, 1)
    return f"zip member {name!r} expands {ratio:.0f}:1, over the {limits.max_ratio:.0f}:1 limit (LCD_BUNDLE_MAX_RATIO)"


class SafeArchive:
    """One level of a bundle (the outer zip or the inner csv zip), checked member by member."""

    def __init__(self, zf: zipfile.ZipFile, label: str, budget: Budget) -> None:
        self.zf, self.label, self.budget = zf, label, budget
        limits = budget.limits
        infos = [info for info in zf.infolist() if not info.is_dir()]
        if len(zf.infolist()) > limits.max_members:
            raise ReadError("too_large", f"{label} has {len(zf.infolist())} members, over the {limits.max_members} limit")
        declared = 0
        by_name: dict[str, zipfile.ZipInfo] = {}
        self.duplicates: set[str] = set()  # an error only when we look one up: which copy would we read?
        for info in zf.infolist():
            reason = unsafe_member_reason(info.filename)
            if reason is not None:
                raise ReadError("unsafe", f"zip member path {info.filename!r} in {label} {reason}: refused")
        for info in infos:
            declared += info.file_size
            key = PurePath(info.filename.replace("\\", "/")).name.casefold()
            if key in by_name:
                self.duplicates.add(key)
            by_name[key] = info
        if declared > limits.max_total_bytes:
            raise ReadError(
                "too_large",
                f"{label} members declare {human_size(declared)} uncompressed, over the {human_size(limits.max_total_bytes)} "
                "limit (LCD_BUNDLE_MAX_BYTES)",
            )
        self.members = by_name
        self.declared = declared

    def find(self, basename: str) -> zipfile.ZipInfo | None:
        """The member with this file name (in any folder of the archive), or None."""
        key = basename.casefold()
        if key in self.duplicates:
            raise ReadError("unsafe", f"{self.label} has two members named {basename!r}: refused")
        return self.members.get(key)

    def inner_zips(self) -> list[zipfile.ZipInfo]:
        """The .zip members (each must be unique by name)."""
        return [found for key in self.members if key.endswith(".zip") and (found := self.find(key)) is not None]

    @contextmanager
    def open(self, info: zipfile.ZipInfo) -> Iterator[io.BufferedReader]:
        """A metered binary stream of one member (refused first when its declared ratio is a bomb's)."""
        limits = self.budget.limits
        if info.flag_bits & 0x1:
            raise ReadError("encrypted", f"zip member {info.filename!r} is encrypted")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ReadError("too_large", _ratio_message(info.filename, info.file_size, info.compress_size, limits))
        try:
            raw = self.zf.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise ReadError("parse", f"cannot read zip member {info.filename!r}: {exc}") from exc
        stream = io.BufferedReader(Metered(raw, info, self.budget), buffer_size=1 << 16)
        try:
            yield stream
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, zipfile.LargeZipFile) as exc:
            raise ReadError("parse", f"corrupt zip member {info.filename!r} ({type(exc).__name__}: {exc})") from exc
        finally:
            stream.close()

    def read(self, info: zipfile.ZipInfo) -> bytes:
        with self.open(info) as stream:
            return stream.read()


def _declared_entries(source: Any) -> int | None:
    """The entry count in the end-of-central-directory record (zip64 aware), read before zipfile
    builds a ZipInfo per entry: a small file can declare millions of entries. None when unreadable."""
    try:
        end = zipfile._EndRecData(source)  # private but stable since Python 2; ZipFile() itself calls it
        source.seek(0)
    except (OSError, ValueError, struct.error):
        return None
    return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])


def open_zip(source: Any, label: str, limits: BundleLimits) -> zipfile.ZipFile:
    """The ZipFile of a file object; ReadError when it is no zip or declares too many members."""
    entries = _declared_entries(source)
    if entries is not None and entries > limits.max_members:
        raise ReadError("too_large", f"{label} has {entries} members, over the {limits.max_members} limit")
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise ReadError("parse", f"{label} is not a valid zip file ({exc})") from exc
    except (OSError, EOFError, ValueError) as exc:
        raise ReadError("parse", f"{label} is a corrupt zip file ({type(exc).__name__}: {exc})") from exc
