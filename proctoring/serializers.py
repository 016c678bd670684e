"""Inputs of the proctoring API. Keys are snake_case here, camelCase on the wire."""

from __future__ import annotations

from rest_framework import serializers


class LogEventInput(serializers.Serializer):
    type = serializers.CharField(max_length=32)
    # The page's event number, as on the socket: a fallback POST of an event the socket already
    # stored (its ack was lost) is stored once.
    seq = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)  # a bigint column
    # Omitted: the condition's own severity (proctoring.conditions).
    severity = serializers.CharField(max_length=10, required=False)
    details = serializers.JSONField(required=False, default=dict)
    timestamp = serializers.DateTimeField(required=False)


class ScreenshotInput(serializers.Serializer):
    # Its size and format are the service's to check (proctoring.screen), with a precise message.
    image = serializers.FileField()
    trigger = serializers.ChoiceField(choices=["start", "interval", "alert"])
    # The alert whose capture-screen request this answers (trigger "alert").
    alert_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    captured_at = serializers.DateTimeField(required=False)
