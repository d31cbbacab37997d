"""ZIP archives of supported documents, each member under a heading with its path."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from chatbot_platform.ingestion.parsing.archive import (
    ZIP_LIMITS,
    ReadBudget,
    ZipLimits,
    check_member,
    open_zip,
    read_member,
)
from chatbot_platform.ingestion.parsing.registry import PARSERS, ZIP, detect_type, parse_with
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument, ParseError

MAX_NESTING = 1  # a ZIP may contain ZIPs, which may not contain ZIPs
_JUNK = re.compile(r"(?:^|/)(?:__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class _Collected:
    blocks: list[Block] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


class ZipParser:
    """`.zip` archives: supported members parsed; unsafe or oversized archives refused."""

    mime_types: Sequence[str] = ("application/zip", "application/x-zip-compressed", "application/x-zip")
    extensions: Sequence[str] = (".zip",)

    def __init__(self, limits: ZipLimits = ZIP_LIMITS) -> None:
        self.limits = limits

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Each member's blocks under a level-1 heading naming its path; its own headings shift down."""
        collected = _Collected()
        _collect(data, "", 0, ReadBudget(self.limits), collected)
        if not collected.members:
            reasons = "; ".join(f"{item['path']}: {item['reason']}" for item in collected.skipped[:5])
            detail = f" ({reasons})" if reasons else ""
            raise ParseError(f"The ZIP archive contains no supported document with text{detail}.")
        metadata = {"members": collected.members, "skipped": collected.skipped}
        return ParsedDocument(
            title=None, blocks=collected.blocks, mime_type=self.mime_types[0], metadata=metadata
        )


def _collect(data: bytes, prefix: str, depth: int, budget: ReadBudget, out: _Collected) -> None:
    with open_zip(data) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        budget.take_members(len(members))
        for info in members:
            _check_path(info.filename)
            check_member(info, budget.limits)
        for info in sorted(members, key=lambda item: item.filename):
            if not _JUNK.search(info.filename):
                _collect_member(archive, info, prefix, depth, budget, out)


def _collect_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    prefix: str,
    depth: int,
    budget: ReadBudget,
    out: _Collected,
) -> None:
    path = prefix + info.filename
    if info.file_size == 0:
        out.skipped.append({"path": path, "reason": "empty file"})
        return
    content = read_member(archive, info, budget)
    mime_type = detect_type(content, info.filename)
    if mime_type == ZIP:
        if depth >= MAX_NESTING:
            raise ParseError(
                f"The ZIP archive nests archives too deeply ({path}); at most one level is allowed."
            )
        _collect(content, path + "/", depth + 1, budget, out)
        return
    parser = PARSERS.for_mime(mime_type)
    if parser is None:
        out.skipped.append({"path": path, "reason": f"unsupported file type ({mime_type})"})
        return
    try:
        document = parse_with(parser, content, info.filename, mime_type)
    except ParseError as exc:
        out.skipped.append({"path": path, "reason": exc.reason})
        return
    out.blocks.append(Block(BlockKind.HEADING, path, level=1))
    out.blocks.extend(_nested(block) for block in document.blocks)
    out.members.append(
        {"path": path, "mime_type": mime_type, "title": document.title, "pages": document.pages}
    )


def _nested(block: Block) -> Block:
    if block.kind is not BlockKind.HEADING:
        return block
    return replace(block, level=min(max(block.level, 1) + 1, 6))


def _check_path(name: str) -> None:
    normalised = name.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if normalised.startswith("/") or _DRIVE.match(normalised) or ".." in parts:
        raise ParseError(f"The ZIP archive contains an unsafe path ({name}); it was refused.")
