from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: str = User.Role.STUDENT,
    first_name: str = "",
    last_name: str = "",
    institution: str = "",
) -> User:
    """Create a user of `role`; teachers and admins get Django-admin access (they author there).

    An admin becomes a Django superuser. A `None` password leaves the account unusable until a
    password is set (e.g. through reset).
    """
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "institution": institution,
    }
    if role == User.Role.ADMIN:
        return User.objects.create_superuser(email, password, **fields)
    return User.objects.create_user(email, password, role=role, **fields)
