"""Same-fills storm (SPEC 4.1 rule 2 under contention): 8 processes post the same 3,000 fills at once, each
in its own shuffled order and with its own request sizes (a bot and an exchange feed racing, many times over).

Held: every answer is 2xx (an item posted again with the same content is a duplicate,
never an error, however the requests interleave); each fill is reported created by
exactly one answer; exactly 3,000 rows; the books equal an independent recomputation;
and the database logs no deadlock (requests that take their locks in one order cannot
deadlock; a server that retries deadlocks still makes every writer wait for the
deadlock timeout).
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from tests.faults.harness import (
    deadlocks_in,
    knob,
    manage,
    print_figures,
    server_errors_in_log,
)
from tests.faults.storms import (
    chunked,
    content_differences,
    make_fills,
    position_differences,
    run_lists,
    stored_fills,
)

pytestmark = [pytest.mark.faults]

FILLS = knob("FAULTS_SAME_FILLS", 3_000)
PROCESSES = 8
# Request sizes per process: from one fill a request to the whole set in one, and two that mix.
SIZES_PER_PROCESS = [[1], [7], [40], [125], [333], [1000], [1, 5, 50, 500], [3, 30, 300, 3000]]


@pytest.mark.timeout(300)
def test_the_same_fills_from_many_processes_are_stored_once(template, database, served, tmp_path):
    started = time.time()
    cluster, env, server, log_offset = served.cluster, served.env, served.server, served.log_offset

    fills = make_fills(FILLS, "s", seed=23)
    by_id = {f["id"]: f for f in fills}
    per_client = []
    for process, sizes in enumerate(SIZES_PER_PROCESS[:PROCESSES]):
        rng = random.Random(100 + process)
        order = fills[:]
        rng.shuffle(order)
        per_client.append(chunked(order, sizes, rng, f"process {process} (sizes {sizes})"))
    done = run_lists(server.port, template.token, per_client, tmp_path / "storm", timeout=240)

    failures: list[str] = []
    created: Counter = Counter()
    by_kind: Counter = Counter()
    bad_answers = Counter()
    samples: list[str] = []
    for answer in done["answers"]:
        status, items = answer["status"], answer["items"]
        kind = "single" if len(items) == 1 else ("batch of <= 125" if len(items) <= 125 else "batch of > 125")
        by_kind[f"{kind} -> {status}"] += 1
        if status is None or not 200 <= status < 300:
            bad_answers[f"{status or answer.get('error')} to a {kind}"] += 1
            if len(samples) < 8:
                samples.append(f"{answer['tag']}: {status or answer.get('error')}: {str(answer.get('body'))[:300]}")
            continue
        created.update(answer.get("created", []))
    rows = stored_fills(cluster, database, template.account)
    ids = Counter(row[1] for row in rows)
    differing = content_differences(rows, by_id)
    never_created = [i for i in by_id if created[i] == 0]
    created_twice = {i: n for i, n in created.items() if n > 1}
    differences = position_differences(server.port, template.token, template.account, fills)
    verify = manage(env, "verify_ledger", "--account", template.account, check=False)
    logged_errors = server_errors_in_log(server.log_text())
    locks = deadlocks_in(cluster.log_since(log_offset))
    five_xx = {s: n for s, n in done["statuses"].items() if s >= 500}

    print_figures("same-fills storm: 8 processes, the same fills at once", {
        "fills": FILLS,
        "processes": PROCESSES,
        "requests": done["requests"],
        "load wall time (s)": f"{done['seconds']:.1f}",
        "slowest request (s)": done["slowest_request_s"],
        "statuses": dict(sorted(done["statuses"].items())),
        "answers by request kind": dict(sorted(by_kind.items())),
        "connection errors": dict(done["conn_errors"]) or 0,
        "non-2xx answers": dict(bad_answers),
        "non-2xx samples": samples,
        "500s in gunicorn's log (path, exception)": dict(logged_errors),
        "rows stored": len(rows),
        "distinct ids stored": len(ids),
        "fills reported created by no answer": len(never_created),
        "fills reported created by several answers": len(created_twice),
        "rows whose content is not what was sent": len(differing),
        "position differences": differences,
        "verify_ledger exit code": verify.returncode,
        "deadlocks in the database log": locks["deadlocks"],
        "deadlocked statements": dict(locks["deadlock_statements"]),
        "lock waits logged (over deadlock_timeout)": locks["lock_waits_logged"],
        "wall time (s)": f"{time.time() - started:.1f}",
    })

    if len(rows) != FILLS or len(ids) != FILLS:
        failures.append(f"{len(rows)} rows ({len(ids)} distinct ids) stored, expected exactly {FILLS}")
    if five_xx:
        failures.append(f"5xx answers: {five_xx}; logged: {dict(logged_errors)}")
    if bad_answers:
        failures.append(f"non-2xx answers to the same content posted again: {dict(bad_answers)}; e.g. {samples[:3]}")
    if never_created or created_twice:
        failures.append(f"each fill must be reported created exactly once: {len(never_created)} by no answer, "
                        f"{len(created_twice)} by several (e.g. {list(created_twice.items())[:3]})")
    if differing:
        failures.append(f"{len(differing)} stored fills differ from what was sent, e.g. {differing[:5]}")
    if differences:
        failures.append(f"positions differ from the recomputation: {differences[:8]}")
    if verify.returncode != 0:
        failures.append(f"verify_ledger exited {verify.returncode}: {(verify.stdout + verify.stderr)[-1500:]}")
    if locks["deadlocks"]:
        failures.append(f"{locks['deadlocks']} deadlocks in the database log: "
                        f"{dict(locks['deadlock_statements'])}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
