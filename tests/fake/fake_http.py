#!/usr/bin/env python3
"""fake_http.py -- a loopback HTTP server for evtrack's tests (python3
stdlib only).

It listens on 127.0.0.1 only, on an ephemeral port it prints on stdout as
one line ("PORT\\n"), exits when its stdin reaches EOF (its test ended), answers every request from its app (by default: 200
with a JSON echo of the request), records each request in a JSON log file
(--log PATH, rewritten atomically after every request), serves https
instead when given --tls CERT.pem KEY.pem, and injects faults
the test asks for:

  POST /_ctl/faults  body: a JSON list of faults, appended. A fault:
      {"method": "POST", "path": "/api/x",   # both optional; path is a prefix
       "times": 3,          # how many matching requests it hits (-1: all)
       "skip": 0,           # matching requests let through first
       "status": 503, "headers": {"Retry-After": "1"}, "body": "text",
       "stall_ms": 2000,    # wait before answering
       "truncate": true,    # announce more body than is sent, then close
       "close": true,       # close the connection without an answer
       "drop_answer": true} # let the app handle it, then close unanswered
  POST /_ctl/reset   forget the faults and the log
  GET  /_ctl/log     the log as JSON
  anything else under /_ctl/ goes to the app's control(path, body), which
  returns True (200 {}), False (404) or a (status, headers, body) answer.

Control requests are not logged. Log entries: method, path, query,
headers (names lower-cased), body_len, body_sha256, body (latin-1 text of
the first 1 MiB), status, fault (true when a fault answered)."""
import argparse
import hashlib
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOG_BODY_MAX = 1 << 20


class EchoApp:
    """The default app: 200 and a JSON echo of the request."""

    def handle(self, req):
        body = json.dumps({"method": req.method, "path": req.path,
                           "query": req.query, "body_len": len(req.body),
                           "headers": req.headers}).encode()
        return 200, {"Content-Type": "application/json"}, body


class Request:
    def __init__(self, method, path, query, headers, body, server):
        self.method, self.path, self.query = method, path, query
        self.headers, self.body, self.server = headers, body, server


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.log_path = log_path

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.get("times", 1) == 0:
                    continue
                if f.get("method") and f["method"] != method:
                    continue
                if f.get("path") and not path.startswith(f["path"]):
                    continue
                if f.get("skip", 0) > 0:
                    f["skip"] -= 1
                    continue
                if f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                return dict(f)
        return None

    def save_log(self):
        """Rewrite the log file (the lock held)."""
        if self.log_path:
            tmp = self.log_path + ".tmp"
            with open(tmp, "w") as fp:
                json.dump(self.log, fp)
            os.replace(tmp, self.log_path)

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            self.save_log()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, path, body):
        st = self.server.state
        if path == "/_ctl/faults":
            with st.lock:
                st.faults.extend(json.loads(body or b"[]"))
        elif path == "/_ctl/reset":
            with st.lock:
                st.faults.clear()
                st.log.clear()
                st.save_log()
        elif path == "/_ctl/log":
            with st.lock:
                return self.send(200, {}, json.dumps(st.log).encode())
        else:
            r = self.server.app_control(path, body)
            if isinstance(r, tuple):
                return self.send(*r)
            if not r:
                return self.send(404, {}, b"no such control")
        self.send(200, {}, b"{}")

    def apply_fault(self, f):
        if f.get("stall_ms"):
            time.sleep(f["stall_ms"] / 1000.0)
        if f.get("close"):
            self.close_connection = True
            return None
        status = f.get("status", 200)
        body = f.get("body", "").encode()
        if f.get("truncate"):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return status
        self.send(status, f.get("headers", {}), body)
        return status

    def dispatch(self):
        u = urlsplit(self.path)
        body = self.read_body()
        if u.path.startswith("/_ctl/"):
            return self.control(u.path, body)
        st = self.server.state
        entry = {"method": self.command, "path": u.path, "query": u.query,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body_len": len(body),
                 "body_sha256": hashlib.sha256(body).hexdigest(),
                 "body": body[:LOG_BODY_MAX].decode("latin-1"),
                 "fault": False}
        f = st.take_fault(self.command, u.path)
        req = Request(self.command, u.path, u.query, entry["headers"], body,
                      self.server)
        if f is not None and f.get("drop_answer"):
            entry["fault"] = True
            entry["status"] = self.server.app.handle(req)[0]
            st.record(entry)
            self.close_connection = True
            return
        if f is not None:
            entry["fault"] = True
            entry["status"] = None if f.get("close") else f.get("status", 200)
            st.record(entry)
            self.apply_fault(f)
            return
        status, headers, out = self.server.app.handle(req)
        entry["status"] = status
        st.record(entry)
        self.send(status, headers, out)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, app, log_path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.app = app
        self.state = State(log_path)

    def app_control(self, path, body):
        ctl = getattr(self.app, "control", None)
        return ctl(path, body) if ctl else False

    def use_tls(self, cert, key):
        """Serve https with this certificate (PEM files)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.scheme = "https"

    @property
    def base_url(self):
        scheme = getattr(self, "scheme", "http")
        return "%s://127.0.0.1:%d" % (scheme, self.server_address[1])


def exit_with_parent():
    """The test holds our stdin open: EOF means it is gone (even killed),
    so a server never outlives its test."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def serve(app_factory, argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default=None)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    args, rest = ap.parse_known_args(argv)
    srv = Server(None, args.log)
    if args.tls:
        srv.use_tls(*args.tls)
    srv.app = app_factory(srv, rest)
    threading.Thread(target=exit_with_parent, daemon=True).start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve(lambda srv, rest: EchoApp())
