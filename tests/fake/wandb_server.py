#!/usr/bin/env python3
"""A fake Weights & Biases server for the wandb sink's tests (standard
library only). It listens on 127.0.0.1 and nowhere else.

  POST /graphql                    UpsertBucket, CreateRunFiles, Viewer,
                                   ServerFeaturesQuery (by operationName,
                                   else by the start of the query)
  POST /files/E/P/R/file_stream    stores line[offset + i] = content[i] per
                                   file, answers {}
  PUT  /upload/E/P/R/NAME          the upload URLs CreateRunFiles hands out
  POST /_faults                    replace the fault rules (JSON list)

Every request is appended to --log as one JSON line:
  {"t": <monotonic s>, "method", "path", "op", "headers": {lower-case
   name: value}, "body": <text>, "json": <parsed body or null>,
   "status": <status sent, 0 when none>, "fault": <rule name or null>}
and the server's resulting state is written to --state after each request
(replaced atomically):
  {"runs": {"E/P/R": {"files": {"wandb-history.jsonl": [lines, null for
   a gap], ...}, "rewrites": {"wandb-history.jsonl": {"<offset>": n}}}},
   "uploads": {"E/P/R/NAME": {"size", "sha256", "text", "headers"}},
   "buckets": {"P/R": {"id", "entity", "project", "name"}}}

Faults (--faults JSON, or POST /_faults): a list of rules
  {"match": "graphql:UpsertBucket" | "graphql:CreateRunFiles" |
            "file_stream" | "upload" | "any",
   "action": "status" | "drop" | "reset" | "stall" | "truncate",
   "status": 503, "retry_after": "0", "stall_ms": 2000,
   "at": [2, 3]} or "count": 1
taken in order: a rule with "at" applies to the matching requests with
those 1-based numbers (counted per match kind), one with "count" to the
next "count" matching requests. "status" answers with that status (and a
Retry-After header when given) without applying the request; "drop"
applies it, then closes the connection without an answer (a lost
response); "reset" closes the connection without applying it; "stall"
waits "stall_ms" (default 2000; other requests go on meanwhile), then
answers "status" (default 503) without applying the request, by when a
client with a shorter timeout has given up; "truncate" applies it, then
sends the 200 answer's headers and only the first half of its body, and
closes the connection.

The port (--port, else one the system picks) is written to --port-file
once the server listens.
"""
import argparse
import base64
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"runs": {}, "uploads": {}, "buckets": {}}
FAULTS = []
COUNTS = {}
ARGS = None


def write_state():
    tmp = ARGS.state + ".tmp"
    with open(tmp, "w") as f:
        json.dump(STATE, f)
    os.replace(tmp, ARGS.state)


def log(entry):
    with open(ARGS.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def take_fault(kind):
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    COUNTS["any"] = COUNTS.get("any", 0) + 1
    for rule in FAULTS:
        m = rule.get("match", "any")
        if m != "any" and m != kind:
            continue
        if "at" in rule:
            if COUNTS[m] in rule["at"]:
                return rule
            continue
        if rule.get("count", 1) <= 0:
            continue
        rule["count"] = rule.get("count", 1) - 1
        return rule
    return None


def history_count(key):
    run = STATE["runs"].get(key)
    if not run:
        return 0
    return len(run["files"].get("wandb-history.jsonl", []))


def upsert(port, v):
    name = v.get("name") or "fakerun1"
    project = v.get("project") or "uncategorized"
    entity = v.get("entity") or "fake-entity"
    bkey = project + "/" + name
    inserted = bkey not in STATE["buckets"]
    bid = base64.b64encode(
        ("Run:v1:%s:%s:%s" % (name, project, entity)).encode()).decode()
    STATE["buckets"][bkey] = {"id": bid, "entity": entity,
                              "project": project, "name": name}
    lines = history_count(entity + "/" + project + "/" + name)
    return {"data": {"upsertBucket": {"bucket": {
        "id": bid, "name": name, "displayName": v.get("displayName"),
        "description": None, "config": v.get("config"), "sweepName": None,
        "project": {"id": "UHJvamVjdDox", "name": project,
                    "entity": {"id": "RW50aXR5OjE=", "name": entity}},
        "historyLineCount": lines}, "inserted": inserted}}}


def create_run_files(port, v):
    base = "http://127.0.0.1:%d/upload/%s/%s/%s/" % (
        port, urllib.parse.quote(v["entity"], safe=""),
        urllib.parse.quote(v["project"], safe=""),
        urllib.parse.quote(v["run"], safe=""))
    files = [{"name": n, "uploadUrl": base + urllib.parse.quote(n, safe="")}
             for n in v["files"]]
    return {"data": {"createRunFiles": {
        "runID": "UnVuOjE=",
        "uploadHeaders": ["X-Fake-Upload:yes",
                          "Content-Type: application/octet-stream"],
        "files": files}}}


def graphql_op(doc):
    op = doc.get("operationName")
    if op:
        return op
    q = doc.get("query", "").strip()
    for name in ("UpsertBucket", "CreateRunFiles", "Viewer",
                 "ServerFeaturesQuery"):
        if name in q.split("(")[0].split("{")[0]:
            return name
    return "unknown"


def apply_graphql(port, doc, op):
    v = doc.get("variables") or {}
    if op == "UpsertBucket":
        return upsert(port, v)
    if op == "CreateRunFiles":
        return create_run_files(port, v)
    if op == "Viewer":
        return {"data": {"viewer": {"id": "VXNlcjox",
                                    "entity": "fake-entity"}}}
    if op == "ServerFeaturesQuery":
        return {"data": {"serverInfo": {"features": []}}}
    return {"errors": [{"message": "unknown operation"}]}


def apply_file_stream(key, doc):
    run = STATE["runs"].setdefault(key, {"files": {}, "rewrites": {},
                                         "complete": None})
    for name, part in (doc.get("files") or {}).items():
        lines = run["files"].setdefault(name, [])
        rew = run["rewrites"].setdefault(name, {})
        off = part["offset"]
        for i, line in enumerate(part["content"]):
            at = off + i
            while len(lines) <= at:
                lines.append(None)
            if lines[at] is not None and name != "wandb-summary.json":
                rew[str(at)] = rew.get(str(at), 0) + 1
                if lines[at] != line:
                    rew["changed:" + str(at)] = line
            lines[at] = line
    if doc.get("complete"):
        run["complete"] = doc.get("exitcode")
    return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def entry(self, raw, parsed, op):
        return {"t": time.monotonic(), "method": self.command,
                "path": self.path, "op": op,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": raw.decode("utf-8", "replace"), "json": parsed,
                "status": 0, "fault": None}

    def answer(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def cut(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def handle_request(self, kind, op, raw, parsed, apply):
        e = self.entry(raw, parsed, op)
        with LOCK:
            rule = take_fault(kind)
            e["fault"] = rule and (rule.get("action", "status") + ":" +
                                   str(rule.get("status", "")))
            result = None
            action = rule and rule.get("action", "status")
            if not rule or action in ("drop", "truncate"):
                result = apply()
            if not rule or action == "truncate":
                e["status"] = 200
            elif action in ("status", "stall"):
                e["status"] = rule.get("status", 503)
            log(e)
            write_state()
        if action in ("drop", "reset"):
            self.cut()
            return
        if action == "truncate":
            self.truncated(result)
            return
        if action == "stall":
            time.sleep(rule.get("stall_ms", 2000) / 1000.0)
        if rule:
            extra = {}
            if "retry_after" in rule:
                extra["Retry-After"] = str(rule["retry_after"])
            try:
                self.answer(e["status"], {"error": "injected fault"}, extra)
            except OSError:  # a stalled client gave up and left
                self.close_connection = True
            return
        self.answer(200, result)

    def truncated(self, obj):
        """The answer's headers and half its body, then the cut."""
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.cut()

    def do_POST(self):
        raw = self.body()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        parts = urllib.parse.urlparse(self.path).path.split("/")
        port = self.server.server_address[1]
        if self.path == "/_faults":
            with LOCK:
                FAULTS[:] = parsed or []
            self.answer(200, {})
            return
        if self.path == "/graphql":
            op = graphql_op(parsed or {})
            self.handle_request("graphql:" + op, op, raw, parsed,
                                lambda: apply_graphql(port, parsed or {}, op))
            return
        if len(parts) == 6 and parts[1] == "files" and \
                parts[5] == "file_stream":
            key = "/".join(urllib.parse.unquote(p) for p in parts[2:5])
            self.handle_request("file_stream", None, raw, parsed,
                                lambda: apply_file_stream(key, parsed or {}))
            return
        self.answer(404, {"error": "not found"})

    def do_PUT(self):
        raw = self.body()
        parts = urllib.parse.urlparse(self.path).path.split("/")
        if len(parts) != 6 or parts[1] != "upload":
            self.answer(404, {"error": "not found"})
            return
        key = "/".join(urllib.parse.unquote(p) for p in parts[2:6])
        hdrs = {k.lower(): v for k, v in self.headers.items()}

        def apply():
            STATE["uploads"][key] = {
                "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                "text": raw.decode("utf-8", "replace"), "headers": hdrs}
            return {}
        e_raw = raw if len(raw) < 4096 else raw[:4096]
        self.handle_request("upload", None, e_raw, None, apply)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--faults", default="[]")
    p.add_argument("--port", type=int, default=0)
    ARGS = p.parse_args()
    FAULTS[:] = json.loads(ARGS.faults)
    open(ARGS.log, "w").close()
    with LOCK:
        write_state()
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=srv.shutdown, daemon=True).start())
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, ARGS.port_file)
    srv.serve_forever(poll_interval=0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
