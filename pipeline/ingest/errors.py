"""The one exception the ingest layer raises for input it cannot read."""

from __future__ import annotations

# error_type slugs, as stored in `ingest_errors.error_type`.
ERROR_TYPES = (
    "empty",  # zero bytes or whitespace only
    "binary",  # NUL bytes / mostly control characters where text was expected
    "decode",  # not valid in the expected encoding
    "parse",  # malformed JSON, corrupt or truncated PDF, JSON that is not one record
    "encrypted",  # password-protected PDF
    "no_text",  # well-formed but carries no policy text (image-only PDF, field-less JSON record)
    "unsupported",  # file extension the pipeline has no reader for
    "io",  # missing or unreadable file
    "internal",  # a reader bug surfaced by this input; the message names the exception
    "unsafe",  # hostile archive: a member path escaping the folder, zips nested too deep, duplicate members
    "too_large",  # over a configured size limit (zip bomb: declared or actual expansion, compression ratio)
)


class ReadError(Exception):
    """A source file could not be turned into a Document; str() is a one-line human reason."""

    def __init__(self, error_type: str, message: str) -> None:
        if error_type not in ERROR_TYPES:
            raise ValueError(f"unknown error_type {error_type!r}")
        # One line, always: the CLI prints it and the warehouse stores it as-is.
        self.message = " ".join(str(message).split())
        self.error_type = error_type
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
