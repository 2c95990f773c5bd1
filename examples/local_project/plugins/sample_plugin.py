"""A plugin with nothing but a name: Airflow loads it at start-up, as MWAA does."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class SamplePlugin(AirflowPlugin):
    name = "sample_plugin"
