"""Shot retry: run a shot again when it fails with an expected, transient error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShotRetryConfig:
    """Which shot failures are retried, and how many attempts a shot gets in all.

    A shot whose failure is an instance of one of ``exceptions_to_retry`` is run again,
    up to ``number_of_attempts`` attempts in total; the attempts are recorded in the
    shot's ``shot.attempts`` column and each retry is published as a ``ShotRetried``
    event. Any other error (or the last failed attempt) ends the sequence CRASHED.

    >>> config = ShotRetryConfig((TimeoutError,), number_of_attempts=3)
    >>> config.should_retry(TimeoutError("camera"), attempt=1)
    True
    >>> config.should_retry(TimeoutError("camera"), attempt=3)
    False
    >>> config.should_retry(ValueError("bad"), attempt=1)
    False
    """

    exceptions_to_retry: tuple[type[BaseException], ...] = ()
    number_of_attempts: int = 1

    def __post_init__(self) -> None:
        exceptions = self.exceptions_to_retry
        if isinstance(exceptions, type):
            exceptions = (exceptions,)
        exceptions = tuple(exceptions)
        for cls in exceptions:
            if not (isinstance(cls, type) and issubclass(cls, BaseException)):
                raise TypeError(
                    f"ShotRetryConfig.exceptions_to_retry holds exception classes, got {cls!r}"
                )
        object.__setattr__(self, "exceptions_to_retry", exceptions)
        attempts = self.number_of_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"ShotRetryConfig.number_of_attempts is an int >= 1, got {attempts!r}")

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether a shot that failed with ``error`` on attempt ``attempt`` (from 1) runs again."""
        if attempt >= self.number_of_attempts:
            return False
        if isinstance(error, KeyboardInterrupt | SystemExit):
            return False
        return isinstance(error, self.exceptions_to_retry)


__all__ = ["ShotRetryConfig"]
