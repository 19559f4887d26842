"""Byte-for-byte reproducible Office files.

openpyxl stamps the save time into ``docProps/core.xml`` and into every zip entry, so two saves of
the same workbook differ. Every writer of ``.xlsx`` files in the package passes its bytes through
:func:`reproducible_zip` so that the same inputs give the same file. This module imports nothing of
the package and may be used by any stage.
"""

from __future__ import annotations

import io
import re
import zipfile

__all__ = ["FIXED_TIMESTAMP", "reproducible_zip"]

#: The timestamp written into reproducible files (no wall-clock time ever enters an output).
FIXED_TIMESTAMP = "2000-01-01T00:00:00Z"
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def reproducible_zip(data: bytes) -> bytes:
    """Rewrite a zip container (xlsx, docx) with fixed timestamps.

    Parameters
    ----------
    data : bytes
        The file as saved by openpyxl or another zip writer.

    Returns
    -------
    bytes
        The same entries in the same order, each with a fixed modification time, and the
        document's created/modified properties set to :data:`FIXED_TIMESTAMP`.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>" + FIXED_TIMESTAMP.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()
