"""Safe reading of ZIP containers (ZIP uploads and the OOXML formats): limits against zip bombs."""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from chatbot_platform.ingestion.parsing.types import ParseError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """How much a ZIP container may expand to; checked on the declared sizes before anything is read."""

    max_members: int = 1000
    max_total_bytes: int = 200 * MIB
    max_ratio: int = 100  # uncompressed / compressed, per member
    ratio_min_bytes: int = 1 * MIB  # small members may compress well without being a bomb


ZIP_LIMITS = ZipLimits()
OOXML_LIMITS = ZipLimits(max_members=10_000)  # a large deck or workbook has many small parts


class ReadBudget:
    """Uncompressed bytes still allowed for one upload, shared by nested archives."""

    def __init__(self, limits: ZipLimits) -> None:
        self.limits = limits
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members

    def take_members(self, count: int) -> None:
        """Account for `count` more members, or refuse."""
        self.members_left -= count
        if self.members_left < 0:
            raise ParseError(f"The ZIP archive has too many files (more than {self.limits.max_members}).")

    def take_bytes(self, count: int) -> None:
        """Account for `count` more uncompressed bytes, or refuse."""
        self.bytes_left -= count
        if self.bytes_left < 0:
            megabytes = self.limits.max_total_bytes // MIB
            raise ParseError(f"The ZIP archive expands to more than {megabytes} MB; it may be a zip bomb.")


def open_zip(data: bytes, label: str = "ZIP archive") -> zipfile.ZipFile:
    """A ZipFile over the bytes, or ParseError when it is not a readable archive."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ParseError(f"The {label} is corrupt or truncated and cannot be opened.") from exc


def check_member(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    """Refuse encrypted members and members that expand suspiciously."""
    if info.flag_bits & 0x1:
        raise ParseError(f"The archive contains an encrypted file ({info.filename}); remove the password.")
    compressed = max(info.compress_size, 1)
    if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * compressed:
        raise ParseError(
            f"The archive member {info.filename} expands more than {limits.max_ratio}:1;"
            " it may be a zip bomb."
        )


def check_container(data: bytes, label: str, limits: ZipLimits = OOXML_LIMITS) -> None:
    """Check an OOXML file's ZIP container against the limits before a library unpacks it."""
    with open_zip(data, label) as archive:
        budget = ReadBudget(limits)
        members = archive.infolist()
        budget.take_members(len(members))
        for info in members:
            check_member(info, limits)
            budget.take_bytes(info.file_size)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ReadBudget) -> bytes:
    """A member's bytes, never more than its declared size nor than the budget allows."""
    budget.take_bytes(info.file_size)
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise ParseError(f"The archive member {info.filename} is corrupt and cannot be read.") from exc
    if len(content) > info.file_size:
        raise ParseError(
            f"The archive member {info.filename} is larger than it declares; it may be a zip bomb."
        )
    return content
