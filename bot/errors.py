"""The UserError hierarchy: domain failures whose message is safe to show to the person who asked."""


class UserError(Exception):
    """A problem the user can fix; the message is shown to them privately, as is."""


class NotFound(UserError):
    """Something the user named does not exist."""


class InvalidInput(UserError):
    """An option value broke a rule (length, format, range)."""


class NotConfigured(UserError):
    """Staff have not run /nexus setup yet for this server."""


class StorageUnavailable(UserError):
    """The database refused a write (read-only file, full disk); nothing was saved."""


class ContentError(Exception):
    """Bundled content failed validation; carries every problem as `file:line:col: field: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
