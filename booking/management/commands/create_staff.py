import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from booking import services
from booking.models import User
from booking.serializers.accounts import validate_new_password

PASSWORD_VARIABLE = "STAFF_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = (
        "Make a cinema staff member: is_staff and the Cinema staff group (catalogue, "
        "cinemas, screens, shows, bookings and holds), without superuser powers. Creates "
        f"the user if needed, asking for a password (or reading ${PASSWORD_VARIABLE})."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", help="needed when the user does not exist yet")

    def handle(self, *args, username, email, **options):
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            if not email:
                raise CommandError(f"No user {username}: give --email to create one.")
            password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass("Password: ")
            try:
                validate_new_password(password, User(username=username, email=email), "password")
            except Exception as exc:  # noqa: BLE001 - a DRF ValidationError: say what is wrong
                raise CommandError(str(getattr(exc, "detail", exc))) from None
            user = services.create_user(username=username, email=email, password=password)
        services.make_cinema_staff(user=user)
        self.stdout.write(f"{user.username} is cinema staff (not a superuser).")
