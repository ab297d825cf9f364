from django.core.management.base import BaseCommand
from django.utils import timezone

from booking.services import purge_expired_idempotency_keys


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS (default 24)."

    def handle(self, *args, **options):
        deleted = purge_expired_idempotency_keys(now=timezone.now())
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
