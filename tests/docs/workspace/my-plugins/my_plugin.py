"""A user's own plugin, as the docs' `plugins build` examples zip it."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class MyPlugin(AirflowPlugin):
    name = "my_plugin"
