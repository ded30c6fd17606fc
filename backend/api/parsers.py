"""A multipart parser whose refusals say what is wrong with the upload and what to do.

Django's multipart parser drops a file part whose name it cannot use (``.``, ``..``, or a header that is
not UTF-8) without reading past its bytes, then takes those bytes for the next part's headers and fails
with "Request max total header size exceeded". For an upload that only ever means an unreadable file name.
"""

from typing import IO, Any

from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError

#: What Django's parser says when a part's headers run past 1 kB: in practice a dropped, unnamed file part.
_HEADER_OVERFLOW = "Request max total header size exceeded"

UNREADABLE_FILE_NAME = (
    "A file name in this upload could not be read (it is not UTF-8 text, or it is only dots). "
    "Rename the file, for example to ortho.tif, and upload it again."
)


def unreadable_form_message(err: MultiPartParserError) -> str:
    """The sentence for a user whose multipart upload Django could not parse."""
    if _HEADER_OVERFLOW in str(err):
        return UNREADABLE_FILE_NAME
    return (
        f"The upload could not be read as a form ({err}). Send the files as multipart/form-data, "
        "as the upload page and `curl -F` do."
    )


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, answering 400 with :func:`unreadable_form_message` when parsing fails."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        """The form's fields and files.

        Raises:
            ParseError: the body is not a multipart form Django can read (the detail says what to do).
        """
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as err:
            cause = err.__context__  # DRF raises its ParseError while handling Django's error
            if isinstance(cause, MultiPartParserError):
                raise ParseError(unreadable_form_message(cause)) from err
            raise
