"""The container's own memory and CPU limits from cgroup v2 or v1.

MWAA workers run in Fargate containers, where psutil's ``virtual_memory()`` reports the host VM
(the user guide's sample shows 16 GB on a small environment). The cgroup files say what the
container may really use. Returns ``None`` outside a cgroup (macOS, a bare VM without limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_PROC_CGROUP", "DEFAULT_ROOT", "CgroupSample", "read_cgroup"]

DEFAULT_ROOT = Path("/sys/fs/cgroup")
DEFAULT_PROC_CGROUP = Path("/proc/self/cgroup")
# cgroup v1 reports "no limit" as a huge page-aligned number (0x7FFFFFFFFFFFF000 on 64-bit).
_V1_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class CgroupSample:
    """One reading of the cgroup counters; ``None`` where a value is unlimited or unavailable."""

    version: int
    memory_limit_bytes: int | None
    memory_used_bytes: int | None
    cpu_limit_cores: float | None
    cpu_usage_seconds: float | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _stat(path: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (_read(path) or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


def _v2_dir(root: Path, proc_cgroup: Path) -> Path:
    # "0::/some/path" names this process's group; inside a container it is usually "/".
    for line in (_read(proc_cgroup) or "").splitlines():
        if line.startswith("0::"):
            candidate = root / line[3:].lstrip("/")
            if (candidate / "memory.max").exists() or (candidate / "cpu.max").exists():
                return candidate
    return root


def _working_set(usage: int | None, inactive_file: int | None) -> int | None:
    # Page cache that can be dropped does not count, as in `docker stats`.
    if usage is None:
        return None
    return max(usage - (inactive_file or 0), 0)


def _read_v2(folder: Path) -> CgroupSample:
    limit_text = _read(folder / "memory.max")
    limit = int(limit_text) if limit_text and limit_text.isdigit() else None
    used = _working_set(_int(folder / "memory.current"), _stat(folder / "memory.stat").get("inactive_file"))
    cores = None
    quota, _, period = (_read(folder / "cpu.max") or "max").partition(" ")
    if quota.isdigit() and period.isdigit() and int(period) > 0:
        cores = int(quota) / int(period)
    usage_usec = _stat(folder / "cpu.stat").get("usage_usec")
    return CgroupSample(
        version=2,
        memory_limit_bytes=limit,
        memory_used_bytes=used,
        cpu_limit_cores=cores,
        cpu_usage_seconds=usage_usec / 1e6 if usage_usec is not None else None,
    )


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return None


def _read_v1(root: Path) -> CgroupSample:
    memory = root / "memory"
    limit = _int(memory / "memory.limit_in_bytes")
    used = _working_set(
        _int(memory / "memory.usage_in_bytes"), _stat(memory / "memory.stat").get("total_inactive_file")
    )
    cpu = _first_dir(root, ("cpu", "cpu,cpuacct"))
    cores = None
    if cpu is not None:
        quota, period = _int(cpu / "cpu.cfs_quota_us"), _int(cpu / "cpu.cfs_period_us")
        if quota is not None and quota > 0 and period:
            cores = quota / period
    acct = _first_dir(root, ("cpuacct", "cpu,cpuacct"))
    usage_ns = _int(acct / "cpuacct.usage") if acct is not None else None
    return CgroupSample(
        version=1,
        memory_limit_bytes=limit if limit is not None and limit < _V1_UNLIMITED else None,
        memory_used_bytes=used,
        cpu_limit_cores=cores,
        cpu_usage_seconds=usage_ns / 1e9 if usage_ns is not None else None,
    )


def read_cgroup(root: Path = DEFAULT_ROOT, proc_cgroup: Path = DEFAULT_PROC_CGROUP) -> CgroupSample | None:
    """Read this process's cgroup counters (v2 preferred), or ``None`` when there is no cgroup.

    :param root: where the cgroup file system is mounted.
    :param proc_cgroup: the process's cgroup membership file.
    """
    if (root / "cgroup.controllers").exists():
        return _read_v2(_v2_dir(root, proc_cgroup))
    if (root / "memory" / "memory.limit_in_bytes").exists():
        return _read_v1(root)
    return None
