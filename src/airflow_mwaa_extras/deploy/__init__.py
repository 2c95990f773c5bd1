"""L1: getting a project onto MWAA: requirements.txt, plugins.zip, wheels, startup scripts, doctor.

Checks and builders that run on a laptop or in CI, before a 20-minute environment update:
``requirements`` (what MWAA's pip will do), ``plugins_zip`` (the zip MWAA unpacks),
``wheels``/``offline`` (private and offline installs), ``startup_script``, ``doctor`` (all of
them over a project folder) and ``local_*`` (``mwaa-extras local``: the project in a local
Airflow built like MWAA's image). MWAA's shipped lists are read by ``mwaa_data`` only, a
requirements.txt by ``requirements_file`` only; findings are ``report.Finding``. May import L0
(``mwaa/``) and ``testing.airflow_home``; never Airflow at module level.
"""

from __future__ import annotations
