"""What a validated LTI launch does in Procto: who the user is, which course, which exam."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from pylti1p3.roles import TeacherRole

from accounts.models import User
from exams.models import Course, Enrolment, Exam
from exams.selectors import database_id
from exams.services import course_create, course_enrol
from procto.celery import app as celery_app
from procto.errors import ApplicationError
from sessions.models import LtiContext, LtiPlatform, LtiResourceLink, LtiUser

logger = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
EXAM_PARAMETER = "procto_exam_id"  # the custom parameter naming the exam a link opens
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS_SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
# Named rather than imported: sessions.tasks imports the LTI services that call the platform.
ROSTER_TASK = "sessions.tasks.lti_roster_sync"
# A learner in the LMS course (LTI 1.3 context role, full or short form).
LEARNER_ROLES = frozenset({"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", "Learner"})


class LaunchRefused(ApplicationError):
    code = "LTI_LAUNCH_REFUSED"
    status = 403
    message = "Procto cannot open this link for you."


@dataclass
class LaunchOutcome:
    user: User
    course: Course | None
    exam: Exam | None  # where to land (None: the dashboard)


def launch_role(launch_data: dict) -> str:
    """The Procto role an LMS role maps to: Instructor or course Administrator → teacher,
    Learner → student. Platform-wide administrators are never made from a launch."""
    if TeacherRole(launch_data).check():
        return User.Role.TEACHER
    # Only a learner of this course: pylti1p3's StudentRole also takes institution and system
    # roles (Canvas sends system/person#User with everyone's roles), so a mentor, a parent or a
    # designer would otherwise become an enrolled student.
    if any(role in LEARNER_ROLES for role in launch_data.get(CLAIM + "roles") or []):
        return User.Role.STUDENT
    raise LaunchRefused("Your role in the LMS (neither instructor nor learner) has no place in Procto.")


def user_find_or_create(platform: LtiPlatform, launch_data: dict, role: str) -> User:
    sub = launch_data["sub"]
    link = LtiUser.objects.select_related("user").filter(platform=platform, sub=sub).first()
    if link is not None:
        return link.user
    email = (launch_data.get("email") or "").strip().lower()
    user = User.objects.filter(email__iexact=email).first() if email else None
    if user is not None and (
        not platform.links_accounts_by_email or LtiUser.objects.filter(platform=platform, user=user).exists()
    ):
        # An e-mail claim alone is only believed where the school says its LMS confirms addresses,
        # and never for an account this LMS already links to another of its users.
        raise LaunchRefused(
            "A Procto account already has this e-mail address: sign in to Procto directly, or ask "
            "a Procto administrator to link it to your LMS account.",
            status=403,
        )
    if user is not None and (user.is_superuser or user.role != role):
        # Some LMSs let a user set their own address: an e-mail claim alone never signs anyone in
        # to an account of another role (a Learner into a teacher's, anyone into an admin's).
        raise LaunchRefused(
            "This e-mail address belongs to a Procto account of another role: sign in to Procto "
            "directly, or ask a Procto administrator."
        )
    if user is None:
        digest = hashlib.sha256(f"{platform.pk}:{sub}".encode()).hexdigest()[:20]
        user = User.objects.create_user(
            email=email or f"lti-{digest}@lti.invalid",
            first_name=(launch_data.get("given_name") or "")[:150],
            last_name=(launch_data.get("family_name") or "")[:150],
            role=role,
        )
    LtiUser.objects.create(platform=platform, sub=sub, user=user)
    return user


def _exam_named(launch_data: dict) -> Exam | None:
    custom = launch_data.get(CLAIM + "custom")
    value = custom.get(EXAM_PARAMETER, "") if isinstance(custom, dict) else ""
    try:
        return Exam.objects.filter(pk=database_id(value)).first()
    except ValueError:  # absent, or not an id a teacher could have meant ("²", "abc", 2**64)
        return None


def _context_for(
    platform: LtiPlatform, launch_data: dict, user: User, teaches: bool, exam: Exam | None
) -> LtiContext:
    """The LMS course's context, mapped to a Procto course."""
    claim = launch_data.get(CLAIM + "context") or {}
    if not claim.get("id"):
        raise LaunchRefused("The LMS sent no course with this link.")
    title = (claim.get("title") or claim.get("label") or "")[:200]
    context, _ = LtiContext.objects.get_or_create(
        platform=platform, context_id=claim["id"], defaults={"title": title}
    )
    if context.course is None:
        if not teaches:
            raise LaunchRefused(
                "This course is not set up in Procto yet: your instructor opens the link once first."
            )
        if exam is not None and exam.course.teachers.filter(pk=user.pk).exists():
            context.course = exam.course
        else:
            context.course = course_create(
                teacher=user, title=title or "Course from the LMS", code=(claim.get("label") or "")[:40]
            )
        context.save(update_fields=["course"])
    return context


def _launch_user(platform: LtiPlatform, launch_data: dict) -> tuple[User, bool]:
    """The launch's Procto user, and whether they launched as a teacher of the LMS course."""
    role = launch_role(launch_data)
    user = user_find_or_create(platform, launch_data, role)
    if not user.is_active:
        raise LaunchRefused("This Procto account is disabled.")
    teaches = role == User.Role.TEACHER and user.role in User.STAFF_ROLES
    if role == User.Role.TEACHER and not teaches:
        raise LaunchRefused(
            "The LMS says you teach this course, but your Procto account is not a teacher's: "
            "ask a Procto administrator."
        )
    return user, teaches


def _http_url(value) -> str:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else ""


def _memberships_url_save(context: LtiContext, launch_data: dict) -> None:
    """Names and Role Provisioning: where the platform serves this course's roster."""
    url = _http_url((launch_data.get(NRPS_CLAIM) or {}).get("context_memberships_url"))
    if url and url != context.memberships_url:
        context.memberships_url = url[:1000]
        context.save(update_fields=["memberships_url"])


def _lineitem_save(link: LtiResourceLink, launch_data: dict) -> None:
    """Assignment and Grade Services: the link's gradebook column, when the platform lets Procto
    post scores to it."""
    claim = launch_data.get(AGS_CLAIM) or {}
    url = _http_url(claim.get("lineitem")) if AGS_SCORE_SCOPE in (claim.get("scope") or []) else ""
    if url and url != link.lineitem_url:
        link.lineitem_url = url[:1000]
        link.save(update_fields=["lineitem_url"])


def roster_sync_enqueue(context: LtiContext) -> None:
    """After commit, have a worker sync the LMS course's roster (sessions.lti.roster). robust: a
    broker that is down is logged and never fails the launch or the admin action that asked."""
    if context.memberships_url and context.course_id:
        transaction.on_commit(
            lambda: celery_app.signature(ROSTER_TASK, args=(context.pk,)).delay(), robust=True
        )


@transaction.atomic
def launch_accept(*, platform: LtiPlatform, launch_data: dict) -> LaunchOutcome:
    """Act on a resource-link launch pylti1p3 has validated: find or create the user by the
    platform's `sub` (then e-mail), map the LMS context to a Procto course (made on the first
    Instructor launch), enrol a Learner in it (Source.LTI), add an Instructor to its teachers,
    and remember which exam the link opens. An existing account's role is never changed.
    Saves the roster (NRPS) and gradebook column (AGS) URLs the launch carries; an Instructor's
    launch enqueues a roster sync after commit. Raises LaunchRefused."""
    user, teaches = _launch_user(platform, launch_data)
    named = _exam_named(launch_data)
    context = _context_for(platform, launch_data, user, teaches, named)
    course = context.course
    if teaches:
        course.teachers.add(user)
    elif user.role == User.Role.STUDENT:
        course_enrol(course=course, students=[user], source=Enrolment.Source.LTI)
    # A staff account launched as a Learner (a teacher trying the student view) is signed in as it is.

    _memberships_url_save(context, launch_data)
    if teaches:
        roster_sync_enqueue(context)

    claim = launch_data.get(CLAIM + "resource_link") or {}
    exam = None
    if claim.get("id"):
        link, _ = LtiResourceLink.objects.get_or_create(
            platform=platform,
            resource_link_id=claim["id"],
            defaults={"context": context, "title": (claim.get("title") or "")[:255]},
        )
        if named is not None and named.course_id == course.pk and link.exam_id != named.pk:
            link.exam = named
            link.save(update_fields=["exam"])
        _lineitem_save(link, launch_data)
        if link.exam is not None and link.exam.course_id == course.pk:
            exam = link.exam
    logger.info(
        "LTI launch by %s (%s) from %s into course %s, exam %s",
        user.pk,
        "instructor" if teaches else "learner",
        platform.issuer,
        course.pk,
        exam.pk if exam else None,
    )
    return LaunchOutcome(user=user, course=course, exam=exam)


# --- Deep Linking: a teacher picks the exam a new LMS link opens ------------------------------------


@transaction.atomic
def deep_link_accept(*, platform: LtiPlatform, launch_data: dict) -> User:
    """The teacher of a Deep Linking launch (only Instructors may pick). Raises LaunchRefused."""
    user, teaches = _launch_user(platform, launch_data)
    if not teaches:
        raise LaunchRefused("Only the course's instructors choose Procto exams.")
    return user


def _context_of(platform: LtiPlatform, launch_data: dict) -> LtiContext | None:
    claim = launch_data.get(CLAIM + "context") or {}
    if not claim.get("id"):
        return None
    return (
        LtiContext.objects.select_related("course").filter(platform=platform, context_id=claim["id"]).first()
    )


def deep_link_exams(*, platform: LtiPlatform, launch_data: dict, user: User) -> QuerySet[Exam]:
    """The exams the teacher may place: those of the Procto course the LMS course maps to, or,
    before it maps to one, of every course they teach."""
    exams = Exam.objects.filter(course__teachers=user).select_related("course").order_by("title", "pk")
    context = _context_of(platform, launch_data)
    if context is not None and context.course is not None:
        exams = exams.filter(course=context.course)
    return exams


@transaction.atomic
def deep_link_exam_pick(*, platform: LtiPlatform, launch_data: dict, user: User, exam_id) -> Exam:
    """The exam the teacher picked, checked against `deep_link_exams`; an LMS course not yet
    mapped maps to the exam's course (so the link's learners are enrolled where the exam is)."""
    exams = deep_link_exams(platform=platform, launch_data=launch_data, user=user)
    try:
        exam = exams.filter(pk=database_id(exam_id)).first()
    except ValueError:  # not a number, or one no exam could have ("²", 2**64)
        exam = None
    if exam is None:
        raise LaunchRefused("Pick one of the exams listed.", status=400)
    claim = launch_data.get(CLAIM + "context") or {}
    if claim.get("id"):
        context, _ = LtiContext.objects.get_or_create(
            platform=platform,
            context_id=claim["id"],
            defaults={"title": (claim.get("title") or claim.get("label") or "")[:255]},
        )
        if context.course is None:
            context.course = exam.course
            context.save(update_fields=["course"])
    return exam


# --- A framed LTI session moving to a new window (sessions.lti.views.lti_window_open) ------------

WINDOW_HANDOFF_SECONDS = 120


@dataclass(frozen=True)
class WindowHandoff:
    user: User
    platform_id: int
    next_path: str


def window_handoff_create(*, user: User, platform_id: int, next_path: str) -> str:
    """A one-time token (WINDOW_HANDOFF_SECONDS) that signs a new window in as `user`, launched
    from `platform_id`, and sends it to `next_path` (a local path, checked by the caller)."""
    token = secrets.token_urlsafe(32)
    handoff = {"user_id": user.pk, "platform_id": platform_id, "next_path": next_path}
    cache.set(f"lti:window:{token}", handoff, WINDOW_HANDOFF_SECONDS)
    return token


def window_handoff_redeem(*, token: str) -> WindowHandoff | None:
    """The handoff of `token`, used up; None when unknown, expired or used (of two concurrent
    redemptions only the one whose delete removed the key wins), or its user is deactivated."""
    key = f"lti:window:{token}"
    handoff = cache.get(key)
    if handoff is None or not cache.delete(key):
        return None
    user = User.objects.filter(pk=handoff["user_id"], is_active=True).first()
    if user is None:
        return None
    return WindowHandoff(user=user, platform_id=handoff["platform_id"], next_path=handoff["next_path"])
