"""gunicorn hooks for the benchmarks: each worker, once it has loaded the app, leaves a file
named by its pid in BENCH_READY_DIR. The benchmark opens its client connections only when
every worker is ready: a connection accepted while a worker is still booting lands on one
that is up and stays there (keep-alive), so one process would serve every client."""

import os
from pathlib import Path


def post_worker_init(worker) -> None:
    ready = os.environ.get("BENCH_READY_DIR")
    if ready:
        Path(ready, str(worker.pid)).touch()
