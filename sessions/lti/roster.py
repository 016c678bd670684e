"""Names and Role Provisioning: the LMS course's roster, synced into the Procto course's enrolment.

An Instructor's launch (after commit) and the admin's "Sync roster now" enqueue
`sessions.tasks.lti_roster_sync`; the roster is fetched from the platform with an OAuth 2 token
(sessions.lti.tool_config.service_connector) and its Learners enrolled (Source.LTI), their
accounts made as a launch makes them, by `sub`.

Learners who are no longer on the roster are kept: a Procto course may be mapped from several LMS
courses (sections, or any course whose link the teacher pointed at the exam), so absence from one
roster does not mean the student left the Procto course; and an un-enrolment hides the student's
past sessions and results from them (404), which a teacher or administrator should decide, not a
sync. The count of such students is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from pylti1p3.names_roles import NamesRolesProvisioningService

from accounts.models import User
from exams.models import Enrolment
from exams.services import course_enrol
from sessions.lti.services import LEARNER_ROLES, LaunchRefused, user_find_or_create
from sessions.lti.tool_config import service_connector
from sessions.models import LtiContext, LtiUser

logger = logging.getLogger(__name__)


@dataclass
class RosterSync:
    enrolled: int = 0  # newly enrolled
    learners: int = 0  # active Learners on the roster
    refused: int = 0  # Learners whose account could not be matched safely (see the log)
    absent: int = 0  # LTI-enrolled students of this platform not on the roster (kept)


def lti_roster_sync(*, context_id: int) -> RosterSync:
    """Fetch the LMS course's roster (every page) and enrol its active Learners in the mapped
    Procto course. Members of other roles (instructors, mentors...) are not enrolled; students no
    longer on the roster are kept (module docstring). Raises requests/pylti1p3 errors when the
    platform cannot be reached or refuses (the task retries)."""
    context = LtiContext.objects.select_related("platform", "course").get(pk=context_id)
    if not context.memberships_url or context.course is None or not context.platform.is_active:
        return RosterSync()
    nrps = NamesRolesProvisioningService(
        service_connector(context.platform), {"context_memberships_url": context.memberships_url}
    )
    members = nrps.get_members()  # over the network: before the transaction, not inside it
    return _roster_apply(context=context, members=members)


@transaction.atomic(durable=True)
def _roster_apply(*, context: LtiContext, members: list[dict]) -> RosterSync:
    result = RosterSync()
    students: list[User] = []
    for member in members:
        if member.get("status", "Active") != "Active" or not member.get("user_id"):
            continue
        if not LEARNER_ROLES.intersection(member.get("roles") or []):
            continue
        result.learners += 1
        claims = {
            "sub": str(member["user_id"]),
            "email": member.get("email") or "",
            "given_name": member.get("given_name") or "",
            "family_name": member.get("family_name") or "",
        }
        try:
            user = user_find_or_create(context.platform, claims, User.Role.STUDENT)
        except LaunchRefused as error:
            result.refused += 1
            logger.warning(
                "LTI roster of context %s: member %s not enrolled (%s)", context.pk, claims["sub"], error
            )
            continue
        # As at a launch: a staff account that is a Learner in the LMS is not made a student.
        if user.is_active and user.role == User.Role.STUDENT:
            students.append(user)
    result.enrolled = course_enrol(course=context.course, students=students, source=Enrolment.Source.LTI)
    on_roster = {user.pk for user in students}
    result.absent = (
        Enrolment.objects.filter(course=context.course, source=Enrolment.Source.LTI)
        .filter(student__in=LtiUser.objects.filter(platform=context.platform).values("user"))
        .exclude(student__in=on_roster)
        .count()
    )
    context.roster_synced_at = timezone.now()
    context.save(update_fields=["roster_synced_at"])
    logger.info(
        "LTI roster of context %s synced into course %s: %s learners, %s newly enrolled, %s refused, "
        "%s no longer on the roster (kept)",
        context.pk,
        context.course_id,
        result.learners,
        result.enrolled,
        result.refused,
        result.absent,
    )
    return result
