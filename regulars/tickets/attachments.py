"""Content-addressed file storage for attachments, outside the web root."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import FileResponse

from regulars.core.errors import DomainError, NotFound
from regulars.tickets.models import Attachment, Blob


class AttachmentTooLarge(DomainError):
    status = 413
    code = "attachment_too_large"


@dataclass(frozen=True)
class Upload:
    """A file on its way in: its name as given, a declared type, and its bytes."""

    filename: str
    content_type: str
    data: bytes
    is_inline: bool = False


def blob_path(sha256: str) -> Path:
    root = Path(settings.ATTACHMENT_ROOT)
    return root / sha256[:2] / sha256[2:4] / sha256


def download_response(attachment: Attachment) -> FileResponse:
    """The file of an attachment the caller has already been allowed to see (checked by
    ``selectors.get_attachment``), for the API, the desk and the portal alike.

    Always a download, never rendered inline, with a neutral type and ``nosniff``: an uploaded
    HTML or SVG file must never run script in our origin.
    """
    path = blob_path(attachment.blob.sha256)
    if not path.exists():
        raise NotFound("The file of this attachment is missing.")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def store_blob(data: bytes) -> Blob:
    """Write the bytes (once per content) and return their Blob row.

    The file is written and renamed into place before the row is created, so a committed row
    always has its file. A rolled-back transaction may leave an unreferenced file behind, which
    is harmless: the next upload of the same content reuses it.
    """
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        raise AttachmentTooLarge(f"An attachment may be at most {settings.ATTACHMENT_MAX_BYTES} bytes.")
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    blob, _ = Blob.objects.get_or_create(sha256=digest, defaults={"size": len(data)})
    return blob


def safe_filename(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip().strip(".")
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return cleaned[:200] or "attachment"
