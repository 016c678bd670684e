"""The proctoring record's numbers at /metrics (procto.metrics serves them): sessions in progress
and violations so far, counted in the database at each scrape so that every process agrees."""

from __future__ import annotations

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from proctoring.models import ProctoringEvent
from sessions.models import ExamSession


class RecordsCollector:
    """Sessions in progress and server/browser violations so far, from the database."""

    def describe(self):  # without touching the database at import
        return self._families()

    def collect(self):
        active, violations = self._families()
        active.add_metric([], ExamSession.objects.filter(status=ExamSession.Status.IN_PROGRESS).count())
        counts = ProctoringEvent.objects.values("type", "severity").annotate(n=Count("id")).order_by()
        for row in counts:
            violations.add_metric([row["type"], row["severity"]], row["n"])
        return [active, violations]

    @staticmethod
    def _families() -> list:
        return [
            GaugeMetricFamily("active_exam_sessions_total", "Exam sessions in progress now."),
            CounterMetricFamily(
                "proctoring_violations",
                "Proctoring events raised, by type and severity.",
                labels=["type", "severity"],
            ),
        ]


RECORDS = RecordsCollector()
