"""The machine a report ran on, for the report scripts' headers (asv_bench/report.py, blocked_report.py,
dask_report.py): the one place that reads the CPU's name."""
from pathlib import Path


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, or "unknown" (another OS, or no such line)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
