"""Model signals that retire cached reads (booking.readcache) when the catalogue changes.

The staff API and the admin both write movies, shows, cinemas and screens through
Model.save() and deletes that send signals, so one receiver per model covers both. The
booking flow (book, cancel, hold, release, confirm) writes seats with UPDATEs and says
what it changed itself: booking.services call readcache.seats_changed() (STYLE.md: no
signals for the booking flow).
"""

from django.db.models.signals import post_delete, post_save

from . import readcache
from .models import Booking, Cinema, Hold, Movie, Screen, ScreenRow, Show

# What the cached reads show: a movie's fields, a show's (its movie, screen, time,
# prices, seats), a screen's and its cinema's names. Screen rows appear in no cached
# read today (a show copies its layout when it is created); they are here so that a read
# of a screen's layout cached tomorrow cannot be forgotten.
CATALOGUE = (Movie, Show, Cinema, Screen, ScreenRow)
# Deleting one frees no seat through the services (the admin may delete a cancelled
# booking or a hold); rare enough to retire everything rather than look up the show's
# movie.
SEAT_HOLDERS = (Booking, Hold)


def catalogue_changed(sender, **kwargs) -> None:
    readcache.catalogue_changed()


def connect() -> None:
    """Connect the receivers (BookingConfig.ready)."""
    for model in CATALOGUE:
        post_save.connect(
            catalogue_changed, sender=model, dispatch_uid=f"readcache-save-{model.__name__}"
        )
        post_delete.connect(
            catalogue_changed, sender=model, dispatch_uid=f"readcache-delete-{model.__name__}"
        )
    for model in SEAT_HOLDERS:
        post_delete.connect(
            catalogue_changed, sender=model, dispatch_uid=f"readcache-delete-{model.__name__}"
        )
