"""Request body parsing: JSON only (see settings.REST_FRAMEWORK)."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested too deeply for Python a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # e.g. 100,000 nested `[`: json.load gives up with a RecursionError.
            raise ParseError("JSON parse error - nested too deeply.") from None
