"""cgroup v2 and v1 readings from cgroup file trees laid out as the kernel shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_mwaa_extras.metrics.cgroup import read_cgroup
from airflow_mwaa_extras.metrics.worker_sample import sample_worker

GIB = 1 << 30


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def v2(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    _write(
        root,
        {
            "cgroup.controllers": "cpu memory pids\n",
            "memory.max": f"{GIB}\n",
            "memory.current": f"{600 * (1 << 20)}\n",
            "memory.stat": f"anon 1\ninactive_file {100 * (1 << 20)}\nactive_file 5\n",
            "cpu.max": "200000 100000\n",
            "cpu.stat": "usage_usec 5000000\nuser_usec 1\n",
        },
    )
    proc = tmp_path / "proc_cgroup"
    proc.write_text("0::/\n")
    return root, proc


def test_v2_limits_and_working_set(v2: tuple[Path, Path]) -> None:
    sample = read_cgroup(*v2)
    assert sample is not None
    assert sample.version == 2
    assert sample.memory_limit_bytes == GIB
    assert sample.memory_used_bytes == 500 * (1 << 20)  # current minus inactive page cache
    assert sample.cpu_limit_cores == 2.0
    assert sample.cpu_usage_seconds == 5.0


def test_v2_follows_the_process_group(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(
        root, {"cgroup.controllers": "", "memory.max": "max\n", "system.slice/w.scope/memory.max": "1000\n"}
    )
    proc = tmp_path / "proc_cgroup"
    proc.write_text("0::/system.slice/w.scope\n")
    sample = read_cgroup(root, proc)
    assert sample is not None
    assert sample.memory_limit_bytes == 1000


def test_v2_without_limits(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(root, {"cgroup.controllers": "", "memory.max": "max\n", "cpu.max": "max 100000\n"})
    sample = read_cgroup(root, tmp_path / "missing")
    assert sample is not None
    assert (sample.memory_limit_bytes, sample.cpu_limit_cores, sample.cpu_usage_seconds) == (None, None, None)


def test_v1_limits(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(
        root,
        {
            "memory/memory.limit_in_bytes": f"{2 * GIB}\n",
            "memory/memory.usage_in_bytes": f"{GIB}\n",
            "memory/memory.stat": f"cache 5\ntotal_inactive_file {GIB // 4}\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "50000\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/cpuacct.usage": "2500000000\n",
        },
    )
    sample = read_cgroup(root, tmp_path / "missing")
    assert sample is not None
    assert sample.version == 1
    assert sample.memory_limit_bytes == 2 * GIB
    assert sample.memory_used_bytes == GIB - GIB // 4
    assert sample.cpu_limit_cores == 0.5
    assert sample.cpu_usage_seconds == 2.5


def test_v1_unlimited_sentinel_and_no_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    _write(
        root,
        {
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
            "cpu/cpu.cfs_quota_us": "-1\n",
            "cpu/cpu.cfs_period_us": "100000\n",
        },
    )
    sample = read_cgroup(root, tmp_path / "missing")
    assert sample is not None
    assert (sample.memory_limit_bytes, sample.cpu_limit_cores) == (None, None)


def test_no_cgroup_at_all(tmp_path: Path) -> None:
    assert read_cgroup(tmp_path, tmp_path / "missing") is None


def test_sample_prefers_the_container_limit(v2: tuple[Path, Path], tmp_path: Path) -> None:
    root, proc = v2
    sample = sample_worker(0.05, {"Here": str(tmp_path)}, cgroup_root=root, proc_cgroup=proc)
    assert sample.source == "cgroup v2"
    assert sample.memory_limit_bytes == GIB
    assert sample.memory_used_bytes == 500 * (1 << 20)
    assert sample.memory_percent == pytest.approx(100 * 500 / 1024)
    # The counter did not move between the two readings of the file tree: no CPU was used.
    assert sample.cpu_percent == 0.0
    assert sample.cpu_limit_cores <= 2.0
