"""Replay storm (SPEC 4.1 rule 2): 10,000 fills posted three times by 8 concurrent clients, in shuffled
orders and requests of mixed sizes — the second time with one price in ten changed.

Held: exactly 10,000 rows, stored as first sent; the first pass creates each fill
once; a request holding a changed item answers 409 naming every changed item (its
index in that request, field `price`) and nothing else; a request of unchanged
items is all duplicates; no answer is a 5xx.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from decimal import Decimal

import pytest

from tests.faults.harness import deadlocks_in, knob, manage, print_figures
from tests.faults.storms import (
    chunked,
    content_differences,
    make_fills,
    position_differences,
    run_lists,
    stored_fills,
)

pytestmark = [pytest.mark.faults]

FILLS = knob("FAULTS_REPLAY_FILLS", 10_000)
CLIENTS = knob("FAULTS_REPLAY_CLIENTS", 8)
CHANGED_EVERY = 10  # one fill in ten gets another price in the second pass
SIZES = [1, 1, 1, 1, 2, 5, 10, 50, 200]  # request sizes, drawn per request
PASSES = ("first", "changed", "replay")


def changed(fill: dict) -> dict:
    return {**fill, "price": str(Decimal(fill["price"]) + Decimal("0.5"))}


@pytest.mark.timeout(420)
def test_replayed_and_changed_fills_are_duplicates_and_conflicts(template, database, served, tmp_path):
    started = time.time()
    cluster, env, server, log_offset = served.cluster, served.env, served.server, served.log_offset

    fills = make_fills(FILLS, "r", seed=11)
    by_id = {f["id"]: f for f in fills}
    changed_ids = {f["id"] for i, f in enumerate(fills) if i % CHANGED_EVERY == CHANGED_EVERY - 1}
    rng = random.Random(5)
    figures: dict = {"fills": FILLS, "clients": CLIENTS, "changed in the second pass": len(changed_ids)}
    failures: list[str] = []
    statuses_all: Counter = Counter()
    created_first: Counter = Counter()
    conflicts = {"changed items named (index, price)": 0, "changed items not named": 0,
                 "unchanged items named": 0, "errors on another field": 0}

    for number, name in enumerate(PASSES, 1):
        order = fills[:]
        rng.shuffle(order)
        if name == "changed":
            order = [changed(f) if f["id"] in changed_ids else f for f in order]
        requests = chunked(order, SIZES, rng, f"pass {number}")
        per_client = [requests[i::CLIENTS] for i in range(CLIENTS)]
        done = run_lists(server.port, template.token, per_client, tmp_path / f"pass-{number}", timeout=300)
        statuses_all.update(done["statuses"])
        kinds: Counter = Counter()
        for answer in done["answers"]:
            status = answer["status"]
            items = answer["items"]
            holds_changed = name == "changed" and any(i in changed_ids for i in items)
            kind = "single" if len(items) == 1 else "batch"
            kinds[f"{kind} -> {status}"] += 1
            if status is None or status >= 500:
                failures.append(f"pass {number} ({name}): {answer['tag']} answered "
                                f"{status or answer.get('error')}: {str(answer.get('body'))[:300]}")
                continue
            if holds_changed:
                if status != 409:
                    failures.append(f"pass {number}: {answer['tag']} holds changed prices but answered {status}")
                    continue
                errors = (answer.get("body") or {}).get("errors", []) if isinstance(answer.get("body"), dict) else []
                want = {index for index, i in enumerate(items) if i in changed_ids}
                named = {e.get("index") for e in errors if e.get("field") == "price"}
                conflicts["changed items named (index, price)"] += len(want & named)
                conflicts["changed items not named"] += len(want - named)
                conflicts["unchanged items named"] += len({e.get("index") for e in errors} - want)
                conflicts["errors on another field"] += sum(1 for e in errors if e.get("field") != "price")
                if want != named or any(e.get("field") != "price" for e in errors):
                    failures.append(f"pass {number}: {answer['tag']}: the 409 names {sorted(named)} (price), "
                                    f"the changed items are {sorted(want)}; errors: {errors[:5]}")
                continue
            expected_status = 201 if name == "first" else 200
            if status != expected_status:
                failures.append(f"pass {number} ({name}): {answer['tag']} answered {status}, expected "
                                f"{expected_status}: {str(answer.get('body'))[:300]}")
                continue
            created = answer.get("created", [])
            counts = answer.get("counts") or {}
            if name == "first":
                created_first.update(created)
                if sorted(created) != sorted(items):
                    failures.append(f"pass 1: {answer['tag']} created {len(created)} of its {len(items)} new fills")
            elif created or counts.get("duplicate") != len(items):
                failures.append(f"pass {number} ({name}): {answer['tag']} created {created[:5]}, "
                                f"counts {counts}: a replay must be all duplicates")
        figures[f"pass {number} ({name})"] = {
            "requests": done["requests"], "wall time (s)": round(done["seconds"], 1),
            "slowest request (s)": done["slowest_request_s"], "statuses": dict(sorted(done["statuses"].items())),
            "connection errors": dict(done["conn_errors"]) or 0, "answers by kind": dict(sorted(kinds.items())),
        }

    rows = stored_fills(cluster, database, template.account)
    ids = Counter(row[1] for row in rows)
    differing = content_differences(rows, by_id)
    twice_created = {i: n for i, n in created_first.items() if n > 1}
    differences = position_differences(server.port, template.token, template.account, fills)
    verify = manage(env, "verify_ledger", "--account", template.account, check=False)
    locks = deadlocks_in(cluster.log_since(log_offset))
    five_xx = {s: n for s, n in statuses_all.items() if s >= 500}
    figures.update({
        "409 answers": statuses_all.get(409, 0),
        "409 naming": conflicts,
        "5xx answers": five_xx or 0,
        "rows stored": len(rows),
        "distinct ids stored": len(ids),
        "rows whose content is not the first post's": len(differing),
        "fills created more than once (pass 1)": len(twice_created),
        "position differences": differences,
        "verify_ledger exit code": verify.returncode,
        "deadlocks in the database log": locks["deadlocks"],
        "deadlocked statements": dict(locks["deadlock_statements"]),
        "lock waits logged": locks["lock_waits_logged"],
        "wall time (s)": f"{time.time() - started:.1f}",
    })
    print_figures("replay storm: 3 passes, one with changed prices", figures)

    if len(rows) != FILLS or len(ids) != FILLS:
        failures.append(f"{len(rows)} rows ({len(ids)} distinct ids) stored, expected exactly {FILLS}")
    if differing:
        failures.append(f"{len(differing)} stored fills differ from their first post, e.g. {differing[:5]}")
    if twice_created:
        failures.append(f"{len(twice_created)} fills reported created twice, e.g. {list(twice_created)[:5]}")
    if differences:
        failures.append(f"positions differ from the recomputation: {differences[:8]}")
    if verify.returncode != 0:
        failures.append(f"verify_ledger exited {verify.returncode}: {(verify.stdout + verify.stderr)[-1500:]}")
    if five_xx:
        failures.append(f"5xx answers: {five_xx}")
    if failures:
        pytest.fail(f"{len(failures)} failures:\n" + "\n".join(failures[:40]), pytrace=False)
