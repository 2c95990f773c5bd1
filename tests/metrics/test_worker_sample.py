"""A real sample of this machine, and the metric set it becomes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from airflow_mwaa_extras.metrics.datum import MetricValidationError, shape_datums
from airflow_mwaa_extras.metrics.worker_sample import sample_worker


def test_real_sample_of_this_machine(tmp_path: Path) -> None:
    started = time.monotonic()
    sample = sample_worker(0.2, {"Here": str(tmp_path), "Gone": str(tmp_path / "missing")})
    assert time.monotonic() - started >= 0.2  # CPU was measured over a real interval
    assert 0 < sample.memory_used_bytes <= sample.memory_limit_bytes <= psutil.virtual_memory().total
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert sample.cpu_limit_cores > 0
    assert sample.process_count >= 1
    assert sample.load_average == pytest.approx(os.getloadavg(), abs=5)
    assert set(sample.disks) == {"Here"}  # a missing folder is skipped, not an error
    usage = psutil.disk_usage(str(tmp_path))
    assert sample.disks["Here"].used_percent == pytest.approx(usage.percent, abs=1)


def test_metric_set_is_valid_and_bounded(tmp_path: Path) -> None:
    sample = sample_worker(0.05, {"AirflowHome": str(tmp_path), "Temp": str(tmp_path)})
    datums = sample.to_datums()
    names = [d.name for d in datums]
    assert names == [
        "MemoryUsed",
        "MemoryLimit",
        "MemoryUtilization",
        "CPUUtilization",
        "CPULimit",
        "LoadAverage1Min",
        "LoadAverage5Min",
        "LoadAverage15Min",
        "ProcessCount",
        "DiskUtilization",
        "DiskFree",
        "DiskUtilization",
        "DiskFree",
    ]
    entries = shape_datums(datums, default_dimensions={"Environment": "e"})
    assert {e["Timestamp"] for e in entries} == {sample.timestamp}
    assert all(dim["Name"] in {"Environment", "Volume"} for e in entries for dim in e["Dimensions"])


@pytest.mark.parametrize("interval", [0, -1, 61], ids=["zero", "negative", "too-long"])
def test_bad_cpu_interval(interval: float) -> None:
    with pytest.raises(MetricValidationError, match="cpu_interval"):
        sample_worker(interval)
