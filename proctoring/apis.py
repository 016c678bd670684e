"""Proctor actions over the API: the live monitor page's buttons call these."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Can, capability_required
from proctoring import actions


class ActionInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["warn", "terminate", "note", "extend-time"])
    message = serializers.CharField(max_length=500, required=False)
    reason = serializers.CharField(max_length=300, required=False)
    text = serializers.CharField(max_length=2000, required=False)
    minutes = serializers.IntegerField(required=False)

    REQUIRED = {"warn": "message", "terminate": "reason", "note": "text", "extend-time": "minutes"}

    def validate(self, data: dict) -> dict:
        needed = self.REQUIRED[data["type"]]
        if data.get(needed) in (None, ""):
            raise serializers.ValidationError({needed: f"Required for {data['type']}."})
        return data


class ReviewInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["confirmed", "dismissed"])
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SessionActionApi(APIView):
    permission_classes = [capability_required(Can.MONITOR_SESSIONS)]

    @extend_schema(request=ActionInput, responses={201: None})
    def post(self, request: Request, session_id: str) -> Response:
        data = ActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields, actor = data.validated_data, request.user
        kind = fields["type"]
        if kind == "warn":
            action = actions.session_warn(actor=actor, session_id=session_id, message=fields["message"])
        elif kind == "terminate":
            action = actions.session_terminate(actor=actor, session_id=session_id, reason=fields["reason"])
        elif kind == "note":
            action = actions.session_note_add(actor=actor, session_id=session_id, text=fields["text"])
        else:
            action = actions.session_extend_time(
                actor=actor, session_id=session_id, minutes=fields["minutes"]
            )
        body = {
            "id": action.pk,
            "kind": action.kind,
            "details": action.details,
            "created_at": action.created_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class EventReviewApi(APIView):
    permission_classes = [capability_required(Can.REVIEW_SESSIONS)]

    @extend_schema(request=ReviewInput, responses={200: None})
    def post(self, request: Request, event_id: int) -> Response:
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        event = actions.event_review(actor=request.user, event_id=event_id, **data.validated_data)
        return Response({"id": event.pk, "review_status": event.review_status})
