"""How long the local emulator takes for one TransactWriteItems as a table's stream
grows, with infra/moto_server.py's patch as it is and with its tables' copies
copying their streams (as before 2026-12-05), in one run:

    .venv/bin/python infra/bench/moto_transactions.py

In-process (no HTTP): the figures are moto's own work, which its single thread
makes every other caller wait for. Results in infra/bench/RESULTS.md."""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import moto_server  # noqa: E402
from moto_server_test import put, table_with_stream  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

moto_server.apply_patches()
sharing = Table.__deepcopy__


def per_transaction_ms(writes_before: int, runs: int = 20) -> float:
    backend = table_with_stream()
    for n in range(writes_before):
        # A few items rewritten many times, as an intercom's invites are.
        backend.put_item("t", put(f"item{n % 40}", "x" * 200)["Put"]["Item"])
    backend.put_item("t", put("item0", "x")["Put"]["Item"])
    times = []
    for run in range(runs):
        started = time.perf_counter()
        backend.transact_write_items([put(f"new{run}", "1"), put("item0", "2", "attribute_exists(pk)")])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


print("| writes in the table's stream | stream copied (before) | stream shared (now) |")
print("|---:|---:|---:|")
for writes in (0, 500, 2000, 5000):
    del Table.__deepcopy__
    before = per_transaction_ms(writes)
    Table.__deepcopy__ = sharing
    now = per_transaction_ms(writes)
    print(f"| {writes} | {before:.1f} ms | {now:.1f} ms |")
