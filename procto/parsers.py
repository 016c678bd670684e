from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError, ValidationError

from procto import strict_json


class JSONParser(CamelCaseJSONParser):
    """camelCase request keys become snake_case, except inside an event's `details`: those are
    the browser's own words (durationMs...) and are stored as sent.

    Bodies are read strictly (procto.strict_json): a document too deep or not JSON is a 400
    MALFORMED_REQUEST; a value no store can hold (NaN, 1e400, a lone surrogate, NUL) is a 400
    VALIDATION_ERROR naming where it is, shaped as a serializer's errors of that field."""

    json_underscoreize = {"ignore_fields": ("details",)}

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            document = strict_json.loads(stream.read().decode(encoding))
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text") from exc
        except strict_json.UnstorableValue as exc:
            raise ValidationError(_errors_at(exc.parts, exc.problem)) from exc
        except strict_json.MalformedJSON as exc:
            raise ParseError(f"JSON parse error - {exc.message}") from exc
        return underscoreize(document, **self.json_underscoreize)


def _errors_at(parts: tuple, problem: str) -> dict:
    # {"answers": {"0": {"studentAnswer": [problem]}}}, as DRF nests a list's errors.
    errors: dict | list = [problem]
    for part in reversed(parts):
        errors = {str(part): errors}
    return errors if isinstance(errors, dict) else {"non_field_errors": errors}
