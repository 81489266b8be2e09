"""infra/moto_server.py's changes to moto (DynamoDB transactions and streams, the
objects it keeps, the SMS it sent), in process (no server, no network). Run by `make test` with the project's moto venv
(`.venv/bin/python -m unittest infra/moto_server_test.py`)."""

import contextlib
import copy
import json
import sys
import unittest
from pathlib import Path

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord
from moto.sns.models import sns_backends

sys.path.insert(0, str(Path(__file__).resolve().parent))
import moto_server  # noqa: E402

moto_server.apply_patches()


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


@contextlib.contextmanager
def copies_counted(cls):
    """Every deep copy of a `cls` made inside the block, in a list."""
    copied = []
    original = cls.__dict__.get("__deepcopy__")

    def counted(instance, memo):
        copied.append(instance)
        clone = cls.__new__(cls)
        memo[id(instance)] = clone
        clone.__dict__.update(copy.deepcopy(instance.__dict__, memo))
        return clone

    cls.__deepcopy__ = counted
    try:
        yield copied
    finally:
        if original is None:
            del cls.__deepcopy__
        else:
            cls.__deepcopy__ = original


def commit_then_cancel(test, backend):
    """One transaction that commits, then one its condition cancels."""
    backend.transact_write_items([put("a", "1")])
    with test.assertRaises(Exception):
        backend.transact_write_items([put("b", "1"), put("a", "2", "attribute_not_exists(pk)")])


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

    def test_a_transaction_copies_only_the_partitions_it_writes(self):
        """A transaction's cost must not grow with its table: a fleet's capacity run
        made thousands of partitions, and whole-table copies made it quadratic."""
        backend = table_with_stream()
        for n in range(300):
            item = put("x", "1")["Put"]["Item"]
            item["pk"] = {"S": f"other{n}"}
            backend.put_item("t", item)
        with copies_counted(Item) as copied:
            commit_then_cancel(self, backend)
        self.assertLess(len(copied), 10, f"{len(copied)} items copied by two one-partition transactions")
        self.assertEqual(stream(backend)[-1], ("INSERT", "a"), "the cancelled one left no record")
        self.assertIsNone(backend.get_item("t", {"pk": {"S": "p"}, "sk": {"S": "b"}}))

    def test_a_transaction_copies_only_the_items_it_names(self):
        """An estate's partition holds thousands of items (its codes, their SMS items,
        its places and code reservations); a create names seven of them."""
        backend = table_with_stream()
        for n in range(300):
            backend.put_item("t", put(f"neighbour{n}", "1")["Put"]["Item"])
        with copies_counted(Item) as copied:
            commit_then_cancel(self, backend)
        self.assertLess(len(copied), 10, f"{len(copied)} items copied by two transactions in a 300-item partition")

    def test_a_cancelled_update_leaves_the_real_item_as_it_was(self):
        """moto updates an item in place: the scratch run must change a copy."""
        backend = table_with_stream()
        backend.transact_write_items([put("a", "1")])
        update = {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"S": "changed"}},
            }
        }
        with self.assertRaises(Exception):
            backend.transact_write_items([update, put("a", "2", "attribute_not_exists(pk)")])
        item = backend.get_item("t", {"pk": {"S": "p"}, "sk": {"S": "a"}})
        self.assertEqual(item.to_json()["Attributes"]["v"], {"S": "1"})

    def test_a_transaction_copies_none_of_the_stream(self):
        """moto copies a transaction's tables for its rollback. Copying their streams
        too made every transaction slower as a table's history grew (0.4 s a
        transaction at 5,000 writes, more under load), and the single-threaded
        emulator then kept every other test's calls waiting past their timeouts."""
        backend = table_with_stream()
        for n in range(50):
            backend.put_item("t", put(f"item{n}", "1")["Put"]["Item"])
        with copies_counted(StreamRecord) as copied:
            commit_then_cancel(self, backend)
        self.assertEqual(len(copied), 0, "stream records copied by two transactions")
        self.assertEqual(len(stream(backend)), 51)


class Emulator(unittest.TestCase):
    """What the local stack and the tests read from the emulator besides AWS's APIs."""

    def test_the_sms_sent_are_read_without_walking_the_emulators_whole_state(self):
        """moto's /moto-api/data.json serialises every object it ever made: seconds
        into a test run it took 2 to 5 s, and the single thread answered no AWS call
        meanwhile (a function's call then timed out: CI's `unavailable`)."""
        sns = sns_backends["123456789012"]["us-east-1"]
        first = sns.publish("Your code 1234", arn=None, phone_number="+27825550101")
        second = sns.publish("Your code 5678", arn=None, phone_number="+27825550102")
        app = moto_server.emulator()
        answer = {}

        def start_response(status, headers):
            answer["status"] = status
            answer["type"] = dict(headers).get("Content-Type")

        body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/ota/sms", "QUERY_STRING": ""}, start_response))
        self.assertEqual(answer["status"], "200 OK")
        self.assertEqual(answer["type"], "application/json")
        sent = [m for m in json.loads(body) if m["id"] in (first, second)]
        self.assertEqual(
            sent,
            [
                {"id": first, "to": "+27825550101", "message": "Your code 1234"},
                {"id": second, "to": "+27825550102", "message": "Your code 5678"},
            ],
        )

    def test_the_emulator_keeps_no_object_it_no_longer_needs(self):
        """moto remembers every object it makes, for its dashboard; every table copy
        a transaction takes then stayed in memory for good."""
        backend = table_with_stream()
        before = len(Item.instances_tracked)
        for n in range(20):
            backend.transact_write_items([put(f"item{n}", "1")])
        self.assertEqual(len(Item.instances_tracked), before)


if __name__ == "__main__":
    unittest.main()
