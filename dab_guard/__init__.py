"""dab-guard: check Databricks Asset Bundles, and the Python their jobs run, before they deploy."""

__version__ = "0.1.0"
