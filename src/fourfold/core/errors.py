"""The one exception type users see.

Every error that bad input can cause (a wrong flag, a missing data set, a corrupt checkpoint) is a `FourfoldError`
whose message is one sentence saying what was wrong, where, and what to do. The command line prints it as one line
(`error: …`) and exits with status 1; anything else is a bug and keeps its traceback.
"""


class FourfoldError(Exception):
    """Base class of the errors fourfold reports to users as one line."""
