"""Exit statuses and the error every command reports as one line: shared by the command line and its subcommands.

0 nothing fails the run; 1 a finding fails it (errors, and warnings with --strict); 2 the input or an option is
unusable (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input or options: reported as one line, exit 2."""
