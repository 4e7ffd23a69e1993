#!/usr/bin/env python3
# A kazoo session driven over stdin/stdout, one JSON object a line, for the
# end-to-end tests (test/support/kazoo-driver.ts is the other end).
#
#   usage: kazoo-driver.py HOST:PORT
#   in:  {"id": 1, "op": "create", "path": "/a", "data": "x", "sequence": false, "ephemeral": false}
#   out: {"id": 1, "ok": true, "path": "/a"}   or   {"id": 1, "ok": false, "error": "NodeExistsError"}
#
# ops: create, get, set, children, exists, delete, watch (a one-shot data
# watch; the event arrives later as {"id": N, "event": "CHANGED", "path": ...}),
# lock (kazoo's Lock recipe, {"path", "timeoutS"} -> {"acquired": bool}),
# unlock, quit. Commands run one at a time, in order; watch events come from
# kazoo's own thread, so every line is written under one lock. The first
# line, once the session is up, is {"event": "connected"}.

import json
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout

connect_timeout_s = 10
session_timeout_s = 10

out_lock = threading.Lock()


def emit(message):
    with out_lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def stat_of(stat):
    return {"version": stat.version, "cversion": stat.cversion, "numChildren": stat.numChildren}


def run(client, locks, command):
    op = command["op"]
    path = command.get("path")
    if op == "create":
        made = client.create(
            path,
            command.get("data", "").encode(),
            ephemeral=command.get("ephemeral", False),
            sequence=command.get("sequence", False),
        )
        return {"path": made}
    if op == "get":
        data, stat = client.get(path)
        return {"data": data.decode(), "stat": stat_of(stat)}
    if op == "set":
        return {"stat": stat_of(client.set(path, command.get("data", "").encode()))}
    if op == "children":
        return {"children": sorted(client.get_children(path))}
    if op == "exists":
        stat = client.exists(path)
        return {"stat": None if stat is None else stat_of(stat)}
    if op == "delete":
        client.delete(path)
        return {}
    if op == "watch":
        ident = command["id"]

        def watcher(event):
            emit({"id": ident, "event": event.type, "path": event.path})

        data, _stat = client.get(path, watch=watcher)
        return {"data": data.decode()}
    if op == "lock":
        lock = client.Lock(path, command.get("identifier", "kazoo"))
        try:
            acquired = lock.acquire(timeout=command["timeoutS"])
        except LockTimeout:
            acquired = False
        if acquired:
            locks[path] = lock
        return {"acquired": bool(acquired)}
    if op == "unlock":
        locks.pop(path).release()
        return {}
    raise ValueError("unknown op " + repr(op))


def main():
    client = KazooClient(hosts=sys.argv[1], timeout=session_timeout_s)
    client.start(timeout=connect_timeout_s)
    emit({"event": "connected"})
    locks = {}
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            if command["op"] == "quit":
                break
            try:
                result = run(client, locks, command)
                emit(dict(result, id=command["id"], ok=True))
            except Exception as error:  # reported to the test, which decides
                emit({"id": command["id"], "ok": False, "error": type(error).__name__, "message": str(error)})
    finally:
        client.stop()
        client.close()


if __name__ == "__main__":
    main()
