#!/bin/sh
set -eu
export ENVIRONMENT_STAGE='dev'
if [ "${MWAA_AIRFLOW_COMPONENT:-}" != "webserver" ]; then
    sudo yum -y install libaio
fi
