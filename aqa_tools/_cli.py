"""What every tool shares: arguments parsed before anything heavy is imported, and one way to report errors.

A tool builds its parser with ``parser(__doc__)``, parses (``--help`` and argument errors end here,
in well under a second: neither torch nor the zoo is imported yet), then hands its work to
``run(work)``: a ``UserError`` prints as ``error: <message>`` and exits with its code (2 input, 3
diverged, 4 disk full); training stopped by SIGINT/SIGTERM prints how to resume and exits with 128 + the
signal's number; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default shown once.

    Not appended where the help already says its default, to an on/off flag, or where the default is
    None or False (the help then says what happens without the option).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or action.nargs == 0 or unset:
            return text
        return super()._get_help_string(action)


def parser(doc: str | None, **kwargs: object) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=doc, formatter_class=_Formatter, **kwargs)  # type: ignore[arg-type]


def run(work: Callable[[], int | None]) -> int:
    """``work()``'s exit code; a user error is one line on stderr and its exit code."""
    try:
        return int(work() or 0)
    except KeyboardInterrupt as e:
        code = getattr(e, "exit_code", None)  # zoo's TrainingInterrupted: saved, resumable
        if code is None:
            raise
        print(f"stopped: {e}", file=sys.stderr)
        return int(code)
    except Exception as e:
        from registry import UserError

        if not isinstance(e, UserError):
            raise
        print(f"error: {e}", file=sys.stderr)
        return int(e.exit_code)
