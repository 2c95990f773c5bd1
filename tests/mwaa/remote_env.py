"""One second "MWAA environment" per test process: a home with the target DAG registered.

Registering the DAG costs an ``airflow dags reserialize`` (10-30 s), so the home is made once per
process and shared by the stand-in tests of every folder; it is removed at exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from airflow_mwaa_extras.testing.airflow_home import AirflowHome
from airflow_mwaa_extras.testing.mwaa_standin_target import prepare_remote_home

_homes: dict[str, AirflowHome] = {}


def shared_remote_home() -> AirflowHome:
    if "remote" not in _homes:
        folder = Path(tempfile.mkdtemp(prefix="mwaa-extras-remote-"))
        atexit.register(shutil.rmtree, folder, True)
        home = prepare_remote_home(folder / "home")
        atexit.register(home.cleanup)
        _homes["remote"] = home
    return _homes["remote"]
