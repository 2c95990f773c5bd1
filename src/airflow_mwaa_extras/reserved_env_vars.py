"""Environment variables MWAA reserves for itself (MWAA user guide, "reserved environment variables").

MWAA resets these to its own values when a startup script or a plugin overrides them, so our
environment-variables plugin refuses them and the deployment checks flag them. Imports nothing:
the startup-script linter, the plugins and a Lambda function can all use it.
"""

from __future__ import annotations

RESERVED_ENV_VARS: frozenset[str] = frozenset(
    {
        # The guide spells it MWAA__AIRFLOW__COMPONENT in the reserved list; the variable the
        # startup script sees is MWAA_AIRFLOW_COMPONENT. Both spellings are refused.
        "MWAA_AIRFLOW_COMPONENT",
        "MWAA__AIRFLOW__COMPONENT",
        "AIRFLOW__WEBSERVER__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW_HOME",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__METRICS__METRICS_BLOCK_LIST",
        "SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__DEFAULT_QUEUE",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE",
        "AIRFLOW_VERSION",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "PYTHONUNBUFFERED",
        "AIRFLOW__METRICS__STATSD_ALLOW_LIST",
        "AIRFLOW__METRICS__STATSD_ON",
        "AIRFLOW__METRICS__STATSD_HOST",
        "AIRFLOW__METRICS__STATSD_PORT",
        "AIRFLOW__METRICS__STATSD_PREFIX",
        # Reserved for startup scripts and plugins, although settable as console config options.
        "AIRFLOW__CELERY__WORKER_AUTOSCALE",
        "AIRFLOW__CORE__DAG_CONCURRENCY",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
        "AIRFLOW__CORE__PARALLELISM",
        "AIRFLOW__SCHEDULER__PARSING_PROCESSES",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__REGION",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__PREDEFINED_QUEUES",
        "AIRFLOW_SCHEDULER_ALLOWED_RUN_ID_PATTERN",
        "AIRFLOW__WEBSERVER__BASE_URL",
    }
)

# Variables the guide names as safe to override (extend, not replace, for the PATH-like ones).
OVERRIDABLE_EXAMPLES: tuple[str, ...] = ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "CLASSPATH")


def is_reserved(name: str) -> bool:
    """``True`` when MWAA reserves the environment variable ``name`` (compared case-sensitively,
    as environment variables are on Linux).

    :param name: the environment variable name
    """
    return name in RESERVED_ENV_VARS
