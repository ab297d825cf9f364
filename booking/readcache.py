"""Cached bodies of the public catalogue reads (interface only, for now).

Writers call these after changing what a read shows; the bump happens in
transaction.on_commit, so a reader never caches a body older than a version it saw.
"""


def seats_changed(show_id: int, movie_id: int) -> None:
    """After the current transaction commits, drop cached reads showing show's seats."""


def catalogue_changed() -> None:
    """After the current transaction commits, drop every cached catalogue read."""
