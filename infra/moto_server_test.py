"""infra/moto_server.py's changes to moto's DynamoDB, on an in-process backend (no
server, no network). Run by `make test` with the project's moto venv
(`.venv/bin/python -m unittest infra/moto_server_test.py`)."""

import copy
import sys
import unittest
from pathlib import Path

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import StreamRecord

sys.path.insert(0, str(Path(__file__).resolve().parent))
import moto_server  # noqa: E402

moto_server.transactions_leave_no_trace_in_streams()


def table_with_stream():
    backend = DynamoDBBackend("us-east-1", "123456789012")
    backend.create_table(
        "t",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=None,
        global_indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    return backend


def put(sk, value, condition=None):
    op = {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"S": value}}}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def stream(backend):
    return [(r.record["eventName"], r.record["dynamodb"]["Keys"]["sk"]["S"]) for r in backend.tables["t"].stream_shard.items]


class Transactions(unittest.TestCase):
    def test_a_committed_transaction_streams_each_write_once(self):
        backend = table_with_stream()
        backend.transact_write_items([put("a", "1"), put("b", "1")])
        backend.transact_write_items([put("a", "2", "attribute_exists(pk)")])
        self.assertEqual(stream(backend), [("INSERT", "a"), ("INSERT", "b"), ("MODIFY", "a")])

    def test_a_cancelled_transaction_leaves_no_stream_record_and_no_write(self):
        backend = table_with_stream()
        backend.transact_write_items([put("a", "1")])
        with self.assertRaises(Exception):
            backend.transact_write_items([put("b", "1"), put("a", "2", "attribute_not_exists(pk)")])
        self.assertEqual(stream(backend), [("INSERT", "a")])
        self.assertIsNone(backend.get_item("t", {"pk": {"S": "p"}, "sk": {"S": "b"}}))
        backend.transact_write_items([put("c", "1")])
        self.assertEqual(stream(backend), [("INSERT", "a"), ("INSERT", "c")], "the stream goes on after a cancel")

    def test_a_transaction_copies_none_of_the_stream(self):
        """moto copies a transaction's tables for its rollback. Copying their streams
        too made every transaction slower as a table's history grew (0.4 s a
        transaction at 5,000 writes, more under load), and the single-threaded
        emulator then kept every other test's calls waiting past their timeouts."""
        backend = table_with_stream()
        for n in range(50):
            backend.put_item("t", put(f"item{n}", "1")["Put"]["Item"])
        copied = []
        original = getattr(StreamRecord, "__deepcopy__", None)

        def counted(record, memo):
            copied.append(record)
            clone = StreamRecord.__new__(StreamRecord)
            memo[id(record)] = clone
            clone.__dict__.update(copy.deepcopy(record.__dict__, memo))
            return clone

        StreamRecord.__deepcopy__ = counted
        try:
            backend.transact_write_items([put("a", "1")])
            with self.assertRaises(Exception):
                backend.transact_write_items([put("b", "1"), put("a", "2", "attribute_not_exists(pk)")])
        finally:
            if original is None:
                del StreamRecord.__deepcopy__
            else:
                StreamRecord.__deepcopy__ = original
        self.assertEqual(len(copied), 0, "stream records copied by two transactions")
        self.assertEqual(len(stream(backend)), 51)


if __name__ == "__main__":
    unittest.main()
