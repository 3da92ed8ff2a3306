"""Reject answers that cannot make a working bundle, before any file is rendered.

Cookiecutter renders this file with Jinja and runs it inside the new (still empty) project folder; a non-zero exit
makes cookiecutter delete that folder again. No network, no git.
"""

import json
import os
import sys

# The answers, as JSON inside a JSON string literal, which is also a valid Python string literal whatever they hold.
ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})


def main() -> int:
    # The rules live beside this hook in plain Python, shared with `dab-guard new` and the tests.
    sys.dont_write_bytecode = True  # leave no __pycache__ in the template
    sys.path.insert(0, os.path.join(ANSWERS["_repo_dir"], "hooks"))
    from bundle_answers import problems

    found = problems(ANSWERS)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
