from __future__ import annotations

from chatbot_platform.kit.errors import BadRequest, Conflict, NotFound, PayloadTooLarge


class DocumentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Document not found.")


class UploadTooLarge(PayloadTooLarge):
    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"The file is larger than the {limit_mb} MB limit (UPLOAD_MAX_MB).")


class EmptyUpload(BadRequest):
    def __init__(self) -> None:
        super().__init__("The file is empty.")


class UnsupportedUpload(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class ConcurrentUpload(Conflict):
    def __init__(self) -> None:
        super().__init__("Another request is creating documents with the same external_id; retry this batch.")


class DuplicateExternalId(Conflict):
    def __init__(self, external_id: str) -> None:
        super().__init__(f"external_id {external_id!r} appears more than once in this batch.")
