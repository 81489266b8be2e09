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
import os
import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true")
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, app, threaded=False)
    print(f"MOTO_PORT={server.server_port}", flush=True)
    exit_when_parent_goes(not args.no_stdin_watch)
    server.serve_forever()


if __name__ == "__main__":
    main()
