"""Input serializers check shape; output serializers render. Neither writes.

One module per domain; the names are re-exported here. Every class name is unique:
drf-spectacular names the schema's components after them.
"""

from .accounts import LogoutInput, MeOutput, SignupInput, SignupOutput, TokenPairOutput
from .bookings import BookingOutput, BookingShowOutput, BookSeatsInput, HoldOutput
from .catalogue import (
    MovieInput,
    MovieOutput,
    MovieSummary,
    SeatMapOutput,
    ShowInput,
    ShowOutput,
)
from .common import UTCDateTimeField, UTCModelSerializer
from .venues import CinemaInput, CinemaOutput, ScreenInput, ScreenOutput

__all__ = [
    "BookSeatsInput",
    "BookingOutput",
    "BookingShowOutput",
    "CinemaInput",
    "CinemaOutput",
    "HoldOutput",
    "LogoutInput",
    "MeOutput",
    "MovieInput",
    "MovieOutput",
    "MovieSummary",
    "ScreenInput",
    "ScreenOutput",
    "SeatMapOutput",
    "ShowInput",
    "ShowOutput",
    "SignupInput",
    "SignupOutput",
    "TokenPairOutput",
    "UTCDateTimeField",
    "UTCModelSerializer",
]
