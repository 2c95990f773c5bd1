"""Sample a worker's resources (memory, CPU, disk, load, processes) as metric data.

Differences from the user guide's DAG, on purpose: CPU is measured over a real interval (a
first ``cpu_percent(interval=0)`` in a fresh process is meaningless), memory and CPU come from
the container's cgroup when it has limits (psutil alone reports the host VM), and no IP address
becomes a dimension.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from airflow_mwaa_extras.metrics.cgroup import DEFAULT_PROC_CGROUP, DEFAULT_ROOT, CgroupSample, read_cgroup
from airflow_mwaa_extras.metrics.datum import MetricDatum, MetricValidationError

__all__ = ["VOLUME_DIMENSION", "DiskSample", "WorkerSample", "default_paths", "sample_worker"]

VOLUME_DIMENSION = "Volume"


def default_paths() -> dict[str, str]:
    """The folders whose file systems matter on a worker: the Airflow home and the temp dir."""
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return {"AirflowHome": home, "Temp": tempfile.gettempdir()}


@dataclass(frozen=True)
class DiskSample:
    used_percent: float
    free_bytes: int


@dataclass(frozen=True)
class WorkerSample:
    """One reading of a worker's resources; ``source`` says where memory and CPU came from."""

    source: str
    memory_used_bytes: int
    memory_limit_bytes: int
    cpu_percent: float
    cpu_limit_cores: float
    load_average: tuple[float, float, float]
    process_count: int
    disks: dict[str, DiskSample] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def memory_percent(self) -> float:
        return 100.0 * self.memory_used_bytes / self.memory_limit_bytes if self.memory_limit_bytes else 0.0

    def to_datums(self) -> list[MetricDatum]:
        """The metric set, all stamped with the sample's time."""
        ts = self.timestamp
        datums = [
            MetricDatum("MemoryUsed", self.memory_used_bytes, "Bytes", timestamp=ts),
            MetricDatum("MemoryLimit", self.memory_limit_bytes, "Bytes", timestamp=ts),
            MetricDatum("MemoryUtilization", round(self.memory_percent, 3), "Percent", timestamp=ts),
            MetricDatum("CPUUtilization", round(self.cpu_percent, 3), "Percent", timestamp=ts),
            MetricDatum("CPULimit", self.cpu_limit_cores, "None", timestamp=ts),
            MetricDatum("LoadAverage1Min", self.load_average[0], "None", timestamp=ts),
            MetricDatum("LoadAverage5Min", self.load_average[1], "None", timestamp=ts),
            MetricDatum("LoadAverage15Min", self.load_average[2], "None", timestamp=ts),
            MetricDatum("ProcessCount", self.process_count, "Count", timestamp=ts),
        ]
        for label, disk in sorted(self.disks.items()):
            dims = {VOLUME_DIMENSION: label}
            datums.append(MetricDatum("DiskUtilization", disk.used_percent, "Percent", dims, ts))
            datums.append(MetricDatum("DiskFree", disk.free_bytes, "Bytes", dims, ts))
        return datums


def sample_worker(
    cpu_interval: float = 1.0,
    paths: Mapping[str, str] | None = None,
    *,
    cgroup_root: Path = DEFAULT_ROOT,
    proc_cgroup: Path = DEFAULT_PROC_CGROUP,
) -> WorkerSample:
    """Take one sample; blocks for ``cpu_interval`` seconds to measure CPU.

    :param cpu_interval: seconds over which CPU use is measured (more than 0).
    :param paths: label -> folder whose file system is measured (default: Airflow home, temp dir).
    :param cgroup_root: where the cgroup file system is mounted.
    :param proc_cgroup: the process's cgroup membership file.
    """
    import psutil

    if not 0 < cpu_interval <= 60:
        raise MetricValidationError(
            f"cpu_interval must be more than 0 and at most 60 seconds, got {cpu_interval}"
        )
    host_memory = psutil.virtual_memory()
    host_cores = float(psutil.cpu_count() or 1)

    before = read_cgroup(cgroup_root, proc_cgroup)
    cgroup: CgroupSample | None = before
    if before is not None and before.cpu_usage_seconds is not None:
        started = time.monotonic()
        time.sleep(cpu_interval)
        elapsed = time.monotonic() - started
        after = read_cgroup(cgroup_root, proc_cgroup)
        cores = min(before.cpu_limit_cores or host_cores, host_cores)
        used = (after.cpu_usage_seconds if after and after.cpu_usage_seconds is not None else 0.0) - (
            before.cpu_usage_seconds
        )
        cpu_percent = min(max(100.0 * used / (elapsed * cores), 0.0), 100.0)
        cgroup = after or before
    else:
        cores = host_cores
        cpu_percent = float(psutil.cpu_percent(interval=cpu_interval))

    # A cgroup limit above the host's memory means "no real limit": the host is what binds.
    if cgroup is not None and cgroup.memory_limit_bytes and cgroup.memory_limit_bytes < host_memory.total:
        memory_limit = cgroup.memory_limit_bytes
        memory_used = cgroup.memory_used_bytes or 0
        source = f"cgroup v{cgroup.version}"
    else:
        memory_limit = int(host_memory.total)
        memory_used = int(host_memory.total - host_memory.available)
        source = "host" if cgroup is None else f"host (cgroup v{cgroup.version} without memory limit)"

    disks = {}
    for label, folder in (paths if paths is not None else default_paths()).items():
        if os.path.isdir(folder):
            usage = psutil.disk_usage(folder)
            disks[label] = DiskSample(used_percent=float(usage.percent), free_bytes=int(usage.free))

    return WorkerSample(
        source=source,
        memory_used_bytes=int(memory_used),
        memory_limit_bytes=int(memory_limit),
        cpu_percent=cpu_percent,
        cpu_limit_cores=cores,
        load_average=os.getloadavg(),
        process_count=len(psutil.pids()),
        disks=disks,
    )
