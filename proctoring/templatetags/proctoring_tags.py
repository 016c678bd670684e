"""Template filters for proctoring links: who gets the live monitor in the navigation."""

from django import template

from accounts.permissions import Can, user_can

register = template.Library()


@register.filter
def can_monitor(user) -> bool:
    return user_can(user, Can.MONITOR_SESSIONS)
