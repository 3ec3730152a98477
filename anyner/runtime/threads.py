"""How many threads fit this machine: its physical cores, within what the process may use.

Hyper-threads of one core share its matrix units, so a second thread per core adds little
to a matrix-multiply-bound forward pass; a container's CPU quota or affinity mask lowers
the count further (libraries that read the host's core count oversubscribe there).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def physical_cores() -> int:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        try:  # the CPUs sharing this one's core, e.g. "0,32" or "0-1"
            siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text()
            cores.add(siblings.strip())
        except OSError:  # no sysfs (not Linux): count logical CPUs
            cores.add(str(cpu))
    return max(1, min(len(cores), _cgroup_quota() or len(cores)))


def _cgroup_quota() -> int | None:
    """CPUs allowed by a cgroup v2 quota ("max" or "200000 100000" in cpu.max), if any."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))
