"""Runs moto in server mode on a loopback port, single-threaded.

Why not `moto_server`: it serves requests on threads, which lets two concurrent
conditional writes to the same DynamoDB item both succeed. Real DynamoDB never
does that, so race tests against a threaded moto would lie. One thread makes
moto serialise requests the way DynamoDB serialises writes to an item.

Prints `MOTO_PORT=<port>` on stdout once it is listening (port 0 picks a free
one). Exits when its standard input closes, so a parent that dies (a test run,
the local stack) never leaves it behind.
"""

import argparse
import copy
from collections import defaultdict
import json
import os
import sys
import threading

from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.sns.models import sns_backends
from werkzeug.serving import make_server


def exit_when_parent_goes(watch_stdin: bool) -> None:
    if not watch_stdin:
        return

    def wait() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=wait, daemon=True).start()


# The patch before places copied each written partition whole; only the benchmark
# (infra/bench/moto_transactions.py) turns this on, to compare in one run.
COPY_WHOLE_PARTITIONS = False


def transactions_leave_no_trace_in_streams() -> None:
    """A cancelled TransactWriteItems must leave no stream record (DynamoDB never
    streams one). moto applies a transaction's writes one by one and, on a failed
    condition, puts back copies of the tables it took first; with streams on, the
    outbox then met records of writes that never happened and missed later ones.
    So each transaction is first tried on scratch tables, streams off, and applied
    to the real tables only if it would commit.

    The scratch tables copy only the items the transaction names (moto changes an
    item in place, so those are deep copies); the rest of each named partition is a
    shallow copy of its index by key, every other partition shared, untouched, with
    the real table. And neither run copies a table for moto's own rollback: the
    scratch run is thrown away if it fails, and the real run repeats a run that
    committed, on the same state, in this single thread, so it commits. Copying
    whole tables made each transaction cost the table's size (0.6 s at ~20,000
    items; a fleet's capacity run grew quadratically), and copying whole partitions
    made a busy estate's creates cost its partition's size (4,000 items at 1,000
    codes out), while every other caller waited."""
    apply = DynamoDBBackend.transact_write_items

    def touched(table: Table, transact_items) -> dict:
        """The items named, by partition: their sort keys (`None` where the table
        has none)."""
        keys = defaultdict(set)
        for op in transact_items:
            body = next(iter(op.values()))
            if body.get("TableName") != table.name:
                continue
            key = body.get("Key") or body.get("Item") or {}
            if table.hash_key_attr in key:
                sort = key.get(table.range_key_attr) if table.range_key_attr else None
                keys[DynamoType(key[table.hash_key_attr])].add(DynamoType(sort) if sort else None)
        return keys

    def scratch_of(table: Table, named: dict) -> Table:
        scratch = Table.__new__(Table)
        scratch.__dict__.update(table.__dict__)
        scratch.stream_shard = None
        scratch.items = defaultdict(dict, table.items)
        for partition, sort_keys in named.items():
            if partition not in table.items:
                continue
            if not table.range_key_attr:
                scratch.items[partition] = copy.deepcopy(table.items[partition])
                continue
            if COPY_WHOLE_PARTITIONS:
                scratch.items[partition] = copy.deepcopy(table.items[partition])
                continue
            scratch.items[partition] = dict(table.items[partition])
            for sort in sort_keys:
                if sort in table.items[partition]:
                    scratch.items[partition][sort] = copy.deepcopy(table.items[partition][sort])
        return scratch

    def try_first(self, transact_items):
        names = {next(iter(op.values())).get("TableName") for op in transact_items}
        real = {name: self.tables[name] for name in names if name in self.tables}
        copies = Table.__deepcopy__ if "__deepcopy__" in Table.__dict__ else None
        Table.__deepcopy__ = lambda table, memo: table
        try:
            for name, table in real.items():
                self.tables[name] = scratch_of(table, touched(table, transact_items))
            try:
                apply(self, transact_items)
            finally:
                self.tables.update(real)
            apply(self, transact_items)
        finally:
            if copies is None:
                del Table.__deepcopy__
            else:
                Table.__deepcopy__ = copies

    DynamoDBBackend.transact_write_items = try_first


def index_reads_unsorted() -> None:
    """moto answers a Query on a global secondary index by walking every item of the
    table, after sorting them all by primary key (`Table.all_items`) — a sort of
    DynamoType comparisons on every index read, which the sweep makes 387 times a run:
    ~0.2 s a read at 15,000 items, most of a fleet's capacity run. The walk needs no
    order (the index's results are sorted by the index's own keys afterwards, and a
    Scan's order is not one DynamoDB promises), so the items are walked as stored."""

    def all_items(self):
        if self.range_key_attr:
            return [item for partition in self.items.values() for item in partition.values()]
        return list(self.items.values())

    Table.all_items = all_items


def objects_untracked() -> None:
    """moto keeps every object it ever makes (each BaseModel's `instances_tracked`)
    for its dashboard and `/moto-api/data.json`: every copy of a table that a
    transaction took stayed in memory for good, and data.json, which walks them
    all, took 2 to 5 s a call late in a test run while this single thread answered
    nothing else. Nothing here uses the dashboard, so objects are not tracked."""

    def untracked(cls, *args, **kwargs):
        return super(BaseModel, cls).__new__(cls)

    BaseModel.__new__ = staticmethod(untracked)


_patched = False


def apply_patches() -> None:
    """Every change above, once per process (the tests and the benchmark import this
    module beside each other)."""
    global _patched
    if _patched:
        return
    _patched = True
    transactions_leave_no_trace_in_streams()
    index_reads_unsorted()
    objects_untracked()


SMS_PATH = "/ota/sms"


def sent_sms() -> list:
    """Every SMS SNS "sent" to a phone number, oldest first, as `{id, to, message}`."""
    sent = []
    for regions in sns_backends.values():
        for backend in regions.values():
            for message_id, (to, message) in backend.sms_messages.items():
                sent.append({"id": message_id, "to": to, "message": message})
    return sent


def emulator():
    """moto's server application, and at `GET /ota/sms` the SMS it sent: read
    straight from SNS's backends (moto has no AWS API for them)."""
    moto = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("PATH_INFO") != SMS_PATH:
            return moto(environ, start_response)
        body = json.dumps(sent_sms()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true")
    args = parser.parse_args()

    apply_patches()
    server = make_server(args.host, args.port, emulator(), threaded=False)
    print(f"MOTO_PORT={server.server_port}", flush=True)
    exit_when_parent_goes(not args.no_stdin_watch)
    server.serve_forever()


if __name__ == "__main__":
    main()
