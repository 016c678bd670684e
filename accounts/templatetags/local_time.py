"""`{% load local_time %}`: `moment|local_datetime`, `moment|local_clock` in the viewer's zone."""

from django import template

from procto import local_time

register = template.Library()


@register.filter
def local_datetime(moment) -> str:
    return local_time.local_datetime(moment)


@register.filter
def local_clock(moment) -> str:
    return local_time.local_clock(moment)


@register.simple_tag
def local_zone_label() -> str:
    return local_time.zone_label()
