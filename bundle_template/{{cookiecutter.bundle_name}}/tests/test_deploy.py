{%- if cookiecutter.model_kind == "agent" -%}
"""deploy_agent.py: the endpoint name, and the endpoint-type check that runs before agents.deploy()."""

from __future__ import annotations

import argparse

import pytest

from deploy_agent import default_endpoint_name, flavour_of, parse_args, parse_bool, type_conflict


def test_endpoint_name_follows_the_agents_convention() -> None:
    assert default_endpoint_name("main.agents.helper") == "agents_main-agents-helper"


def test_endpoint_name_is_at_most_63_characters() -> None:
    name = default_endpoint_name("c" * 40 + "." + "s" * 40 + "." + "m" * 40)
    assert len(name) <= 63 and name.startswith("agents_") and "." not in name
    assert not name.endswith(("-", "_"))


def test_flavour_of_a_logged_model() -> None:
    assert flavour_of({"langchain": {}, "python_function": {}}) == "langchain"
    assert flavour_of({"python_function": {}}) == "pyfunc"


def test_same_type_or_no_endpoint_may_deploy() -> None:
    assert type_conflict("agents_x", None, "pyfunc", recreate=False) is None
    assert type_conflict("agents_x", "pyfunc", "pyfunc", recreate=False) is None


def test_other_type_stops_unless_recreate_was_asked_for() -> None:
    message = type_conflict("agents_x", "langchain", "pyfunc", recreate=False)
    assert message and "langchain" in message and "--recreate-endpoint" in message
    assert type_conflict("agents_x", "langchain", "pyfunc", recreate=True) is None


def test_recreate_flag_forms() -> None:
    base = ["--catalog", "c", "--schema", "s", "--model-name", "m", "--flavour", "pyfunc"]
    assert parse_args(base).recreate_endpoint is False
    assert parse_args([*base, "--recreate-endpoint"]).recreate_endpoint is True
    assert parse_args([*base, "--recreate-endpoint=true"]).recreate_endpoint is True
    assert parse_args([*base, "--recreate-endpoint=false"]).recreate_endpoint is False
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")
{%- else -%}
"""deploy_model.py: the endpoint name it derives from the registered model."""

from __future__ import annotations

from deploy_model import default_endpoint_name, parse_args


def test_endpoint_name_from_the_registered_name() -> None:
    assert default_endpoint_name("main.models.scorer") == "main-models-scorer"


def test_endpoint_name_is_at_most_63_characters() -> None:
    name = default_endpoint_name("c" * 40 + "." + "s" * 40 + "." + "m" * 40)
    assert len(name) <= 63 and "." not in name and not name.endswith(("-", "_"))


def test_job_parameters_parse() -> None:
    args = parse_args(["--catalog", "c", "--schema", "s", "--model-name", "m"])
    assert (args.catalog, args.schema, args.model_name, args.endpoint_name) == ("c", "s", "m", None)
{%- endif %}
