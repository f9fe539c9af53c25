"""The one exception type for a user's mistake: printed as one line, never as a traceback."""


class BundleError(Exception):
    """A problem the user can fix (bad input, missing file, wrong tool); str() is the whole message."""
