"""Local copies of the wheels for plugins.zip: downloaded (sha256 checked, cached, retried) or built.

A download lands under a temporary name and is renamed only once its hash matches, so an
interrupted run never leaves a wheel that a later run would trust.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit

from airflow_mwaa_extras import __version__
from airflow_mwaa_extras.deploy import requirements
from airflow_mwaa_extras.deploy.wheel_lock import LockedWheel, find_uv
from airflow_mwaa_extras.exceptions import MwaaExtrasError, UsageError
from airflow_mwaa_extras.processes import run_captured

__all__ = ["DOWNLOAD_ATTEMPTS", "build_self_wheel", "cache_dir", "fetch_wheel"]

DOWNLOAD_ATTEMPTS = 3


def cache_dir() -> Path:
    if env := os.environ.get("MWAA_EXTRAS_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "airflow-mwaa-extras", "wheels")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(wheel: LockedWheel, *, base_dir: Path | None = None, cache: Path | None = None) -> Path:
    """A local copy of ``wheel`` with its sha256 checked.

    Downloads go to a temporary name and are renamed only once the hash matches, so an
    interrupted or corrupted download is never used and a retry starts clean.
    """
    parts = urlsplit(wheel.source)
    if parts.scheme in ("", "file"):
        local = Path(parts.path if parts.scheme else wheel.source)
        if not local.is_absolute() and base_dir is not None:
            local = base_dir / local
        if not local.is_file():
            raise MwaaExtrasError(f"wheel not found: {local}")
        if wheel.sha256 and _sha256(local) != wheel.sha256:
            raise MwaaExtrasError(f"{wheel.filename}: sha256 does not match the resolution")
        return local
    if not wheel.sha256:
        raise MwaaExtrasError(f"{wheel.filename}: the index gave no sha256; refusing an unchecked download")
    folder = (cache or cache_dir()) / wheel.sha256[:2] / wheel.sha256
    target = folder / wheel.filename
    if target.is_file() and _sha256(target) == wheel.sha256:
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MwaaExtrasError(f"cannot use the wheel cache {folder.parent.parent}: {err.strerror}") from err
    last = "no attempt"
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        tmp = folder / f".{wheel.filename}.{os.getpid()}.part"
        try:
            with urllib.request.urlopen(wheel.source, timeout=60) as resp, tmp.open("wb") as out:
                shutil.copyfileobj(resp, out)
            if _sha256(tmp) == wheel.sha256:
                os.replace(tmp, target)
                return target
            last = "sha256 mismatch"
        except (URLError, OSError, TimeoutError) as err:
            last = str(getattr(err, "reason", err))
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < DOWNLOAD_ATTEMPTS:
            time.sleep(0.5 * attempt)
    host = parts.hostname or "the index"
    raise MwaaExtrasError(f"cannot download {wheel.filename} from {host} ({DOWNLOAD_ATTEMPTS} tries): {last}")


def build_self_wheel(out_dir: Path, *, timeout: float = 300.0) -> Path:
    """A wheel of this package, built from its source checkout (``uv build``)."""
    root = Path(__file__).resolve().parents[3]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or 'name = "airflow-mwaa-extras"' not in pyproject.read_text(encoding="utf-8"):
        raise UsageError(
            "--self needs a source checkout of airflow-mwaa-extras; an installed copy: list "
            f"airflow-mwaa-extras=={__version__} in requirements.txt instead (it is on PyPI)"
        )
    cmd = [find_uv(), "build", "--quiet", "--wheel", "--out-dir", str(out_dir), str(root)]
    proc = run_captured(cmd, timeout=timeout)
    built = sorted(out_dir.glob("airflow_mwaa_extras-*.whl"))
    if proc.returncode != 0 or not built:
        raise MwaaExtrasError(f"uv build failed: {requirements.resolver_error(proc.stderr)}")
    return built[-1]
