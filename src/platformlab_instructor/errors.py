"""The errors a user of ``platformlab`` should see as a message, not as a traceback.

Every failure that the person at the command line can act on (a missing file, an
unknown lesson, a leak in the student copy) is a :class:`PlatformlabError`: the
CLI prints its message and exits 1. Anything else is a bug and shows its traceback.
"""


class PlatformlabError(Exception):
    """A failure with a message for the user; ``platformlab`` exits 1 with it."""


class UnknownLesson(PlatformlabError, LookupError):
    """No lesson of that name; the message lists the lessons there are."""
