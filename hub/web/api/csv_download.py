"""CSV downloads of the API's tables (reasons, settlements): one way to write them.

Rules: UTF-8, CRLF line ends (RFC 4180), a header row, served as an attachment named
``NAME.csv``; values are written as given (amounts already exact decimal text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response


def csv_download(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A CSV attachment ``name.csv`` of ``header`` then ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
