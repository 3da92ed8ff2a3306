"""Generate a synthetic bundle for benchmarks: N jobs in N files (plus the root), like a large monorepo.

    python bench/generate.py OUT_DIR --jobs 1000 [--clusters 2] [--tasks 5] [--targets 2] [--no-scripts] [--bad 0.1] [--script-per-task]

Each job has ``--clusters`` job clusters and ``--tasks`` spark_python_tasks, and one small job script (a one-line
script with ``--no-scripts``); ``--bad`` is the fraction of jobs seeded with violations (a spark_version without
-cpu-, a missing data_security_mode, ``__file__`` in the script). The output is deterministic for the same arguments.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

ROOT = """\
bundle:
  name: bench_{jobs}

include:
  - resources/*.yml

variables:
  catalog:
    default: main
  schema:
    default: bench

targets:
{targets}
"""

TARGET = """\
  {name}:
    mode: {mode}
{default}    workspace:
      host: https://adb-1234567890123456.7.azuredatabricks.net
      root_path: /Workspace/Shared/.bundle/${{bundle.name}}/${{bundle.target}}
"""

SCRIPT_GOOD = '''\
"""Job {i}: log a model."""
import mlflow
from mlflow.models import infer_signature

CATALOG = "main"
MODEL = f"{{CATALOG}}.bench.model_{i}"


def main() -> None:
    mlflow.set_registry_uri("databricks-uc")
    signature = infer_signature([[1.0, 2.0]], [0])
    with mlflow.start_run():
        mlflow.sklearn.log_model(object(), artifact_path="model", signature=signature, registered_model_name=MODEL)


if __name__ == "__main__":
    main()
'''

SCRIPT_BAD = '''\
"""Job {i}: uses __file__, which spark_python_task does not define."""
import pathlib

HERE = pathlib.Path(__file__).parent
print(HERE)
'''


def job_yaml(i: int, clusters: int, tasks: int, bad: bool, script_per_task: bool = False) -> str:
    lines = ["resources:", "  jobs:", f"    job_{i}:", f"      name: job-{i}-${{bundle.target}}", "      max_concurrent_runs: 1",
             "      queue:", "        enabled: true", "      job_clusters:"]
    for c in range(clusters):
        version = "16.4.x-ml-scala2.12" if bad and c == 0 else "16.4.x-cpu-ml-scala2.12"
        lines += [
            f"        - job_cluster_key: cluster_{c}",
            "          new_cluster:",
            f"            spark_version: {version}",
            "            node_type_id: i3.xlarge",
            "            num_workers: 0",
        ]
        if not (bad and c == 0):
            lines.append("            data_security_mode: SINGLE_USER")
        lines += [
            "            spark_conf:",
            '              spark.master: "local[*]"',
            "              spark.databricks.cluster.profile: singleNode",
            "            custom_tags:",
            "              ResourceClass: SingleNode",
        ]
    lines.append("      tasks:")
    for t in range(tasks):
        lines += [f"        - task_key: task_{t}", f"          job_cluster_key: cluster_{t % clusters}"]
        if t:
            lines += ["          depends_on:", f"            - task_key: task_{t - 1}"]
        lines += [
            "          spark_python_task:",
            f"            python_file: ../src/job_{i}_{t}.py" if script_per_task else f"            python_file: ../src/job_{i}.py",
            '            parameters: ["--catalog", "${var.catalog}", "--schema", "${var.schema}"]',
        ]
    return "\n".join(lines) + "\n"


def generate(
    out: Path, jobs: int, clusters: int = 2, tasks: int = 5, targets: int = 2, scripts: bool = True, bad: float = 0.0, script_per_task: bool = False
) -> Path:
    """Write the bundle; with ``script_per_task`` every task runs a script of its own (jobs x tasks scripts)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "resources").mkdir(parents=True)
    (out / "src").mkdir()
    rng = random.Random(jobs)
    names = ["dev", "prod", "staging", "test", "qa"]
    target_text = "".join(
        TARGET.format(name=names[t % len(names)] + (str(t) if t >= len(names) else ""), mode="development" if t == 0 else "production", default="    default: true\n" if t == 0 else "")
        for t in range(targets)
    )
    (out / "databricks.yml").write_text(ROOT.format(jobs=jobs, targets=target_text))
    for i in range(jobs):
        is_bad = rng.random() < bad
        (out / "resources" / f"job_{i}.yml").write_text(job_yaml(i, clusters, tasks, is_bad, script_per_task))
        names = [f"job_{i}_{t}" for t in range(tasks)] if script_per_task else [f"job_{i}"]
        for name in names:
            if scripts:
                script_bad = rng.random() < bad if script_per_task else is_bad
                (out / "src" / f"{name}.py").write_text((SCRIPT_BAD if script_bad else SCRIPT_GOOD).format(i=name))
            else:
                (out / "src" / f"{name}.py").write_text("print('hello')\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--targets", type=int, default=2)
    parser.add_argument("--no-scripts", dest="scripts", action="store_false")
    parser.add_argument("--bad", type=float, default=0.0)
    parser.add_argument("--script-per-task", action="store_true", help="every task runs a script of its own")
    args = parser.parse_args()
    generate(args.out, args.jobs, args.clusters, args.tasks, args.targets, args.scripts, args.bad, args.script_per_task)
    print(f"wrote {args.jobs} jobs to {args.out}")


if __name__ == "__main__":
    main()
