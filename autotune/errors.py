"""The one exception hierarchy of autotune.

Every error a user can cause or fix derives from :class:`AutotuneError`; the CLI turns
these into a one-line message and exit code 2 instead of a traceback.
"""

from __future__ import annotations


class AutotuneError(Exception):
    """Base class of every error autotune raises on purpose."""


class UserInputError(AutotuneError):
    """Bad input from the user: a file, a line, a field.

    Args:
        message: What is wrong, in one sentence.
        file: The file the bad input came from, if any.
        line: The 1-based line number in ``file``, if known.
        field: The field (key, column, option) that is wrong, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Render as ``file:line: field 'x': message`` with the parts that are known."""
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        field = f"field '{self.field}': " if self.field is not None else ""
        return f"{where}{field}{self.message}"


class ConfigError(UserInputError):
    """An experiment, suite or prompt file is malformed or inconsistent."""


class DataError(UserInputError):
    """A benchmark data file has a malformed line or a missing field."""


class LLMError(AutotuneError):
    """A model call failed for good (after retries), or a backend could not be built.

    Attributes:
        status: The HTTP status of the last attempt, when there was one.
        retryable: Whether the failure was of a kind that is retried (timeouts, 5xx,
            429, dropped connections, malformed bodies); False for a request the
            server rejected (4xx), which would fail the same way again.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class FatalLLMError(LLMError):
    """A failure no other case or retry can get past: wrong key (401), no access (403),
    wrong URL or model (404, 405), payment or proxy auth required (402, 407).

    It is raised at once, without retries; the evaluator re-raises it instead of
    recording an error row, and the CLI prints its one line and exits 2.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, retryable=False)


class StoreError(AutotuneError):
    """A study or tracking store is empty, corrupt or unreachable; it is left untouched."""


class BudgetExceeded(AutotuneError):
    """A budget (calls, tokens, dollars, wall time, trials) was reached.

    Work stops cleanly when this is raised; everything done so far is kept.
    """

    def __init__(self, resource: str, limit: float, used: float) -> None:
        self.resource = resource
        self.limit = limit
        self.used = used
        super().__init__(f"budget reached: {resource} used {used:g} of {limit:g}")
