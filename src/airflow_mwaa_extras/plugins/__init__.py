"""The package's Airflow plugins.

Airflow is imported here, before any plugin module runs. With ``core.lazy_load_plugins = False``
(MWAA's requirement), ``import airflow`` loads every entry-point plugin, ours included: were a
plugin module the first to import Airflow, Airflow would find that module half-initialised and
record a circular-import error instead of the plugin. In an Airflow process this costs nothing
(Airflow is already imported); without Airflow the plugin modules fail on use, as before.
"""

from __future__ import annotations

try:
    import airflow  # noqa: F401 - imported for its side effect, see above
except ImportError:  # pragma: no cover - Airflow is optional for the package
    pass
