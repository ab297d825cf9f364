"""Django admin for cinema staff. Every write goes through the services.

One module per domain, as in booking.services; importing them registers the models.
"""

from . import bookings, catalogue, checkout, users, venues

__all__ = ["bookings", "catalogue", "checkout", "users", "venues"]
