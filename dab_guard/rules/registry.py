"""The one list of rules. A rule that is not listed here does not exist."""

from __future__ import annotations

from dab_guard.rules.base import Rule
from dab_guard.rules.cli_usage import CliUsage
from dab_guard.rules.clusters import AccessMode, Pool, PoolAdvice, Runtime, Serverless, SingleNode, SparkVersion
from dab_guard.rules.config_errors import ReadOnlyField, RequiredResourceField, RunAs, Scripts, VolumeWorkspacePath
from dab_guard.rules.jobs import MissingFile, Queue, TaskGraph
from dab_guard.rules.libraries import Libraries
from dab_guard.rules.loading import Duplicate, Include, Reference, VariableValue, YamlSyntax
from dab_guard.rules.python_agents import AgentNodeGuard, AgentsDeploy, ToolErrors
from dab_guard.rules.python_entry import DunderFile, NotebookPip, PathBeforeLog, WorkspaceImport
from dab_guard.rules.python_mlflow import MlflowApi, PipRequirements, StaleLangchain, UcModelName, UcSignature
from dab_guard.rules.schema import Schema, UnknownField
from dab_guard.rules.secrets import PlaintextSecret
from dab_guard.rules.targets import Targets, WorkspaceTarget
from dab_guard.rules.workspace import (
    ClusterPolicy,
    EndpointType,
    ExistingCluster,
    NodeTypeAvailable,
    PoolExists,
    SparkVersionAvailable,
    UcSchemaExists,
)

ALL_RULES: tuple[type[Rule], ...] = (
    YamlSyntax,
    Schema,
    UnknownField,
    Include,
    Duplicate,
    Reference,
    MissingFile,
    TaskGraph,
    Targets,
    VariableValue,
    RunAs,
    ReadOnlyField,
    RequiredResourceField,
    VolumeWorkspacePath,
    Scripts,
    AccessMode,
    SparkVersion,
    Runtime,
    Pool,
    PoolAdvice,
    SingleNode,
    Serverless,
    Queue,
    Libraries,
    WorkspaceTarget,
    PlaintextSecret,
    CliUsage,
    DunderFile,
    WorkspaceImport,
    PathBeforeLog,
    UcSignature,
    PipRequirements,
    MlflowApi,
    ToolErrors,
    AgentNodeGuard,
    StaleLangchain,
    UcModelName,
    AgentsDeploy,
    NotebookPip,
    SparkVersionAvailable,
    NodeTypeAvailable,
    PoolExists,
    UcSchemaExists,
    EndpointType,
    ClusterPolicy,
    ExistingCluster,
)


def rules_by_id() -> dict[str, type[Rule]]:
    return {rule.id: rule for rule in ALL_RULES}
