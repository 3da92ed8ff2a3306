"""Delete the files the answers leave out (agent or plain model, CI or none).

Runs inside the generated project folder and touches nothing outside it. No network, no git.
"""

import json
import os
import shutil
import sys

ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})


def main() -> int:
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.join(ANSWERS["_repo_dir"], "hooks"))
    from bundle_answers import files_to_remove

    project = os.path.realpath(os.getcwd())
    for relative in files_to_remove(ANSWERS):
        path = os.path.realpath(os.path.join(project, relative))
        if os.path.commonpath([project, path]) != project or path == project:
            print(f"error: refusing to delete {relative!r}: it is not inside the project", file=sys.stderr)
            return 1
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    # A template installed by pip was byte-compiled in place; its caches are no part of the new project.
    for folder, subfolders, _ in os.walk(project):
        if "__pycache__" in subfolders:
            shutil.rmtree(os.path.join(folder, "__pycache__"))
            subfolders.remove("__pycache__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
