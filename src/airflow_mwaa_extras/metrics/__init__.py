"""L1: worker metrics for CloudWatch: sampling a worker, shaping and sending PutMetricData.

``worker_sample``/``cgroup`` (what a worker measures), ``datum``/``dimensions``/``batching``
(PutMetricData's rules and limits), ``publish`` (never twice, a time budget per call) and ``background`` (a sender
thread for the task metrics listener). May import L0; never Airflow.
"""

from __future__ import annotations
