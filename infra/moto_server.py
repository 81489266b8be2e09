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
import json
import os
import sys
import threading

from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
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


def transactions_leave_no_trace_in_streams() -> None:
    """A cancelled TransactWriteItems must leave no stream record (DynamoDB never
    streams one). moto applies a transaction's writes one by one and, on a failed
    condition, puts back copies of the tables it took first; with streams on, the
    outbox then met records of writes that never happened and missed later ones.
    So each transaction is first tried on scratch copies of its tables, streams
    off, and applied to the real tables only if it would commit.

    Copies of a table share its stream instead of copying it: a stream only grows,
    so copying it made every transaction slower as its table's history grew (0.4 s
    a transaction at 5,000 writes, more under load), and this single-threaded
    emulator kept every other caller waiting meanwhile. Sharing is safe because the
    real tables are only ever changed by a transaction that commits, and moto's
    other copies of a table (backups) never write to a stream."""
    apply = DynamoDBBackend.transact_write_items

    def copy_sharing_stream(table: Table, memo: dict) -> Table:
        if table.stream_shard is not None:
            memo[id(table.stream_shard)] = table.stream_shard
        clone = Table.__new__(Table)
        memo[id(table)] = clone
        clone.__dict__.update(copy.deepcopy(table.__dict__, memo))
        return clone

    def try_first(self, transact_items):
        names = {next(iter(op.values())).get("TableName") for op in transact_items}
        real = {name: self.tables[name] for name in names if name in self.tables}
        for name, table in real.items():
            scratch = copy.deepcopy(table)
            scratch.stream_shard = None
            self.tables[name] = scratch
        try:
            apply(self, transact_items)
        finally:
            self.tables.update(real)
        apply(self, transact_items)

    Table.__deepcopy__ = copy_sharing_stream
    DynamoDBBackend.transact_write_items = try_first


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
