"""How long the local emulator takes for one TransactWriteItems as its table grows,
with infra/moto_server.py's patch as it is (a transaction copies only the items it
names) and as it was before (each transaction copied its whole tables, their streams
shared; then, from 2026-12-06, the partitions it wrote), in one run:

    .venv/bin/python infra/bench/moto_transactions.py

In-process (no HTTP): the figures are moto's own work, which its single thread
makes every other caller wait for. Results in infra/bench/RESULTS.md."""

import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import moto_server  # noqa: E402
from moto_server_test import put, table_with_stream  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

moto_transact = DynamoDBBackend.transact_write_items
moto_server.apply_patches()


def whole_table_copies(self, transact_items):
    """The patch before 2026-12-06: scratch copies of whole tables (streams shared),
    and moto's own rollback copies on top."""
    names = {next(iter(op.values())).get("TableName") for op in transact_items}
    real = {name: self.tables[name] for name in names if name in self.tables}
    for name, table in real.items():
        scratch = copy.deepcopy(table)
        scratch.stream_shard = None
        self.tables[name] = scratch
    try:
        moto_transact(self, transact_items)
    finally:
        self.tables.update(real)
    moto_transact(self, transact_items)


def sharing_stream(table, memo):
    if table.stream_shard is not None:
        memo[id(table.stream_shard)] = table.stream_shard
    clone = Table.__new__(Table)
    memo[id(table)] = clone
    clone.__dict__.update(copy.deepcopy(table.__dict__, memo))
    return clone


def median_transaction_ms(backend, runs: int) -> float:
    """The median of `runs` transactions that add an item and update another in the
    partition `p` (a create's shape)."""
    backend.put_item("t", put("item0", "x")["Put"]["Item"])
    times = []
    for run in range(runs):
        started = time.perf_counter()
        backend.transact_write_items([put(f"new{run}", "1"), put("item0", "2", "attribute_exists(pk)")])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def per_transaction_ms(partitions: int, runs: int = 20) -> float:
    backend = table_with_stream()
    for n in range(partitions):
        # Other intercoms' partitions, a few items each.
        for i in range(3):
            item = put(f"item{i}", "x" * 200)["Put"]["Item"]
            item["pk"] = {"S": f"intercom{n}"}
            backend.put_item("t", item)
    return median_transaction_ms(backend, runs)


def in_one_partition_ms(items: int, runs: int = 20) -> float:
    """A create's transaction on an estate's partition of `items` items."""
    backend = table_with_stream()
    for i in range(items):
        backend.put_item("t", put(f"neighbour{i}", "x" * 200)["Put"]["Item"])
    return median_transaction_ms(backend, runs)


print("| partitions in the table (3 items each) | whole tables copied (before) | named items copied (now) |")
print("|---:|---:|---:|")
now_transact = DynamoDBBackend.transact_write_items
for partitions in (0, 1000, 5000, 20000):
    DynamoDBBackend.transact_write_items = whole_table_copies
    Table.__deepcopy__ = sharing_stream
    before = per_transaction_ms(partitions)
    del Table.__deepcopy__
    DynamoDBBackend.transact_write_items = now_transact
    now = per_transaction_ms(partitions)
    print(f"| {partitions} | {before:.1f} ms | {now:.1f} ms |")

print()
print("| items in the written partition (an estate's codes, SMS items, places, reservations) | its whole partition copied (before) | named items copied (now) |")
print("|---:|---:|---:|")
for items in (0, 1000, 4000):
    moto_server.COPY_WHOLE_PARTITIONS = True
    before = in_one_partition_ms(items)
    moto_server.COPY_WHOLE_PARTITIONS = False
    now = in_one_partition_ms(items)
    print(f"| {items} | {before:.1f} ms | {now:.1f} ms |")
