from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.permissions import Can, user_can
from sessions.pages import dashboard


@login_required
def home(request):
    if user_can(request.user, Can.TAKE_EXAMS):
        return dashboard(request)
    return render(request, "home.html")
