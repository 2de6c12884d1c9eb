"""gunicorn's settings for tradebook: gunicorn reads this file from the working directory by default,
so `gunicorn tradebook.wsgi …` from the repository gets it; options on the command line still win.

Why a file at all: one metrics folder for all of a master's workers must be in the environment
before a worker imports prometheus-client, and only the master, before it forks, can put it
there. Everything else is gunicorn's default, written down where it matters for a clean stop.
"""

import os
import shutil
from pathlib import Path

# SIGTERM to the master is a graceful stop: workers stop accepting, finish the requests in
# flight (a 10,000-fill batch takes about a second) and exit; past this many seconds they are
# killed (and a bot sends the request again: writes are idempotent). gunicorn's default, said
# here because a supervisor must wait longer than this before its own SIGKILL (systemd's
# TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))

# The metrics folder (core.metrics). An operator's PROMETHEUS_MULTIPROC_DIR is used as it is
# (shared with the machine's Celery workers, emptied by whoever runs the machine, e.g. systemd's
# RuntimeDirectory); without one, each master gets its own under the data folder, removed
# when it stops, and folders left by masters that died (kill -9) are removed at the next start.
_METRICS_ROOT = Path(os.environ.get("TRADEBOOK_DATA_DIR") or Path(__file__).resolve().parent / "data") / "metrics"
_own_folder = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    """In the master, after it daemonized and before it forks a worker."""
    global _own_folder
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _own_folder = _METRICS_ROOT / f"gunicorn-{os.getpid()}"
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_own_folder)
        for folder in _METRICS_ROOT.glob("gunicorn-*"):
            pid = folder.name.removeprefix("gunicorn-")
            if folder != _own_folder and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_exit(server):
    if _own_folder is not None:
        shutil.rmtree(_own_folder, ignore_errors=True)
