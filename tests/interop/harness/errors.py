"""Exceptions of the interop harness.

Every failure a scenario can meet ends up as one of these, so the runner can tell a broken
environment (HarnessError: a server would not start, not root, a port is taken) from a failed
expectation (StepFailure) or a scenario that ran out of time (ScenarioTimeout). All of them make
the test FAIL; the harness never skips.
"""


class HarnessError(Exception):
    """The environment could not be set up: a server did not start, a tool is missing, a port
    is taken, root is needed. The message says what to fix."""


class StepFailure(AssertionError):
    """A scenario step did not see what it expected. The message carries the step, what was
    expected and what was seen instead."""


class ScenarioTimeout(Exception):
    """The scenario's global deadline passed (raised from SIGALRM in the main thread)."""


class Terminated(Exception):
    """The harness got SIGTERM or SIGINT (meson's own timeout, Ctrl-C): clean up and fail."""
