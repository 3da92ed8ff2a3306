"""Static analysis of the Python a bundle's jobs run: entry scripts, notebooks, code models and agent modules.

Nothing here imports or runs user code: files are read, parsed with ``ast`` and walked once per run.
``sources`` finds and reads the files, ``facts`` turns each parsed module into the facts rules reuse, and
``program`` follows a task from its entry point to the modules and code models it runs.
"""
