"""Which jobs a run reads: the one rule that the instances, node-run and alarm streams share.

A run reads the configured ``job_names`` (or, when there are none, every batch job of the
workspace and the sub-jobs of its real-time jobs), plus the sub-jobs that ``realtime_job_nodes``
configures, and of those only its shard's share: shards split a workspace so that no job is read
twice and none is left out.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tap_dlf_instances.config.settings import Settings


def shard_of(job_name: str, shard_count: int) -> int:
    """A job's shard: stable across runs, machines and Python versions (unlike ``hash``)."""
    return zlib.crc32(job_name.encode("utf-8")) % shard_count


def in_this_shard(job_name: str, settings: Settings) -> bool:
    return shard_of(job_name, settings.shard_count) == settings.shard_index


def configured_sub_jobs(settings: Settings) -> list[str]:
    """The real-time sub-jobs ``<job>_<node>`` that ``realtime_job_nodes`` names."""
    return [f"{job}_{node}" for job, nodes in settings.realtime_job_nodes.items() for node in nodes]


def configured_job_names(settings: Settings) -> list[str] | None:
    """``job_names`` with the configured sub-jobs, or ``None`` where ``job_names`` is not set
    (every job of the workspace is read)."""
    if settings.job_names is None:
        return None
    return list(dict.fromkeys([*settings.job_names, *configured_sub_jobs(settings)]))
