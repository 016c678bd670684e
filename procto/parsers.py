from djangorestframework_camel_case.parser import CamelCaseJSONParser


class JSONParser(CamelCaseJSONParser):
    """camelCase request keys become snake_case, except inside an event's `details`: those are
    the browser's own words (durationMs...) and are stored as sent."""

    json_underscoreize = {"ignore_fields": ("details",)}
