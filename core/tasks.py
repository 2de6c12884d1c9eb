"""What every Celery task of tradebook shares."""

from django.db import InterfaceError, OperationalError

# The options of every tradebook task: each is idempotent (the database refuses a second
# snapshot of an interval, roll-ups and retention converge), hence `acks_late` +
# `reject_on_worker_lost`: a task whose worker dies mid-way is redelivered and simply runs
# again. Retried only on transient database errors (a dropped connection, SQLite's
# "database is locked", serialization failures and deadlocks: Django raises all of them as
# OperationalError/InterfaceError), a bounded number of times, with exponential backoff.
IDEMPOTENT = dict(
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError), max_retries=5, retry_backoff=2, retry_backoff_max=60,
    retry_jitter=True,
)
