"""Runs before cookiecutter asks anything, and changes nothing.

Its presence makes cookiecutter (2.4 and later) generate from a copy of the template at an absolute path, and pass
that path to the other hooks as ``_repo_dir``. They import ``bundle_answers`` from there, so the template works
however it was named: a relative path from any working directory (``cookiecutter ../dab-guard/bundle_template``),
an absolute one, a zip, or a git checkout under ``~/.cookiecutters`` with ``--directory``.
"""

import sys

if __name__ == "__main__":
    sys.exit(0)
