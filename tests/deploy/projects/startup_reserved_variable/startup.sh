#!/bin/sh
set -eu
export ENVIRONMENT_STAGE='dev'
export AIRFLOW__CORE__PARALLELISM=64
if [ "${MWAA_AIRFLOW_COMPONENT:-}" != "webserver" ]; then
    sudo yum -y install libaio
fi
