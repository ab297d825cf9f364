from django.core.management.base import BaseCommand
from django.utils import timezone

from booking.services import expire_holds


class Command(BaseCommand):
    help = (
        "Mark holds past their expiry as expired and unpoint their seats. Optional "
        "tidying: an expired hold already blocks nobody."
    )

    def handle(self, *args, **options):
        expired = expire_holds(now=timezone.now())
        self.stdout.write(f"Marked {expired} hold(s) expired.")
