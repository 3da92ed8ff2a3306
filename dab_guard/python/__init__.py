"""Facts about Python sources alone: scripts, notebooks (Databricks source format and ``.ipynb``), their names and
values, argparse and pip commands.

Nothing here imports or runs user code: files are read, parsed with ``ast`` and walked once per run. ``sources``
reads and parses files, ``facts`` turns each parsed module into the facts rules reuse, ``values`` evaluates string
expressions, ``argv`` reads command lines as argparse does. Which files a task runs, and what it hands them, is
:mod:`dab_guard.jobs`: this package never sees a bundle.
"""
