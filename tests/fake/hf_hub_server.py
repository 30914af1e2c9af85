#!/usr/bin/env python3
"""hf_hub_server.py -- a fake Hugging Face Hub for the hf-hub sink's tests
(python3 stdlib only; protocols.md 1.2-1.9).

Listens on 127.0.0.1 only (fake_http.py: ephemeral port printed on
stdout, request log in --log, faults via /_ctl/faults). Implements:

  GET  /api/whoami-v2
  POST /api/repos/create                      200, then 409 for the same repo
  PUT  /api/datasets/{ns}/{n}/settings        {"gated": ...}
  GET  /api/datasets/{ns}/{n}/tree/{rev}      ?recursive=true, paginated
                                              with a Link header
  POST /api/datasets/{ns}/{n}/preupload/{rev} uploadMode by size/suffix,
                                              oid of files that exist
  POST /datasets/{ns}/{n}.git/info/lfs/objects/batch
  PUT  /lfs-upload/{oid}, /lfs-part/{oid}/{i} presigned: no Authorization
  POST /lfs-complete/{oid}                    multipart completion
  POST /lfs-verify/{oid}
  POST /api/datasets/{ns}/{n}/commit/{rev}    NDJSON
  GET  /datasets/{ns}/{n}/resolve/{rev}/{path} the committed bytes

Every /api and LFS batch request needs "Authorization: Bearer <--token>".
Anything else: 404 with X-Error-Code: RepoNotFound.

Control (besides fake_http's): POST /_ctl/config with any of
{"lfs_threshold": bytes, "multipart_chunk": bytes (0: basic uploads),
 "tree_page": entries per tree page}; GET /_ctl/repos: every repo's
files (path -> sha256), commits and settings."""
import base64
import hashlib
import json
import os
import re
import sys
import threading
import uuid
from urllib.parse import parse_qs, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_http  # noqa: E402

LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".png", ".jpg")
JSON = {"Content-Type": "application/json"}


def blob_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def jres(status, obj, headers=None):
    h = dict(JSON)
    h.update(headers or {})
    return status, h, json.dumps(obj).encode()


def not_found(msg="Repository not found", code="RepoNotFound"):
    return jres(404, {"error": msg}, {"X-Error-Code": code,
                                      "X-Error-Message": msg})


class Repo:
    def __init__(self, rid, private):
        self.id = rid
        self.private = private
        self.gated = False
        self.files = {".gitattributes": b"*.parquet filter=lfs diff=lfs "
                                         b"merge=lfs -text\n"}
        self.lfs = set()
        self.commits = [{"id": uuid.uuid4().hex + "00000000",
                         "title": "initial commit", "paths": [".gitattributes"]}]


class HubApp:
    def __init__(self, srv, argv):
        self.srv = srv
        self.token = "hf_faketoken"
        for i, a in enumerate(argv):
            if a == "--token" and i + 1 < len(argv):
                self.token = argv[i + 1]
        self.lock = threading.Lock()
        self.repos = {}
        self.store = {}       # oid -> bytes (verified LFS objects)
        self.pending = {}     # oid -> bytes (uploaded, not verified)
        self.parts = {}       # oid -> {i: bytes}
        self.cfg = {"lfs_threshold": 10 << 20, "multipart_chunk": 0,
                    "tree_page": 1000}

    # ---- control ---------------------------------------------------------
    def control(self, path, body):
        with self.lock:
            if path == "/_ctl/config":
                self.cfg.update(json.loads(body))
                return True
            if path == "/_ctl/repos":
                return jres(200, self.repos_dump())
        return False

    def repos_dump(self):
        return {rid: {"private": r.private, "gated": r.gated,
                      "files": {p: hashlib.sha256(d).hexdigest()
                                for p, d in r.files.items()},
                      "lfs": sorted(r.lfs), "commits": r.commits}
                for rid, r in self.repos.items()}

    # ---- helpers -------------------------------------------------------
    @property
    def base(self):
        return self.srv.base_url

    def authed(self, req):
        return req.headers.get("authorization") == "Bearer " + self.token

    def body_json(self, req):
        try:
            return json.loads(req.body or b"{}")
        except ValueError:
            return None

    # ---- routes --------------------------------------------------------
    def handle(self, req):
        p = unquote(req.path)
        m = re.match(r"^/datasets/([^/]+)/([^/]+)/resolve/[^/]+/(.+)$", p)
        if req.method == "GET" and m:
            return self.resolve(m.group(1) + "/" + m.group(2), m.group(3))
        m = re.match(r"^/(lfs-upload|lfs-part|lfs-complete|lfs-verify)/"
                     r"([0-9a-f]{64})(?:/(\d+))?$", p)
        if m:
            return self.lfs_action(req, m.group(1), m.group(2), m.group(3))
        if not self.authed(req):
            return jres(401, {"error": "Invalid credentials in "
                                       "Authorization header"})
        with self.lock:
            return self.route(req, p)

    def route(self, req, p):
        if req.method == "GET" and p == "/api/whoami-v2":
            return jres(200, {"type": "user", "name": "evt-user",
                              "orgs": [{"name": "evt-org"}]})
        if req.method == "POST" and p == "/api/repos/create":
            return self.create(req)
        m = re.match(r"^/datasets/([^/]+)/([^/]+)\.git/info/lfs/objects/"
                     r"batch$", p)
        if req.method == "POST" and m:
            return self.batch(req, m.group(1) + "/" + m.group(2))
        m = re.match(r"^/api/datasets/([^/]+)/([^/]+)/(settings|tree|"
                     r"preupload|commit)(?:/([^/]+))?/?$", p)
        if not m:
            return not_found()
        repo = self.repos.get(m.group(1) + "/" + m.group(2))
        if repo is None:
            return not_found()
        what = m.group(3)
        if what == "settings" and req.method == "PUT":
            return self.settings(req, repo)
        if what == "tree" and req.method == "GET":
            return self.tree(req, repo)
        if what == "preupload" and req.method == "POST":
            return self.preupload(req, repo)
        if what == "commit" and req.method == "POST":
            return self.commit(req, repo)
        return not_found()

    def create(self, req):
        b = self.body_json(req)
        if not isinstance(b, dict) or not b.get("name"):
            return jres(400, {"error": "name is required"})
        if b.get("type", "model") != "dataset":
            return jres(400, {"error": "this fake only hosts datasets"})
        org = b.get("organization") or "evt-user"
        rid = org + "/" + b["name"]
        url = "%s/datasets/%s" % (self.base, rid)
        if rid in self.repos:
            return jres(409, {"error": "You already created this dataset "
                                       "repo", "url": url})
        private = b.get("visibility", "private" if b.get("private")
                        else "public") == "private"
        self.repos[rid] = Repo(rid, private)
        return jres(200, {"url": url, "name": rid, "id": uuid.uuid4().hex[:24]})

    def settings(self, req, repo):
        b = self.body_json(req) or {}
        if "gated" in b:
            repo.gated = b["gated"]
        return jres(200, {})

    def tree(self, req, repo):
        q = parse_qs(req.query)
        paths = sorted(repo.files)
        entries = []
        if q.get("recursive", ["false"])[0] == "true":
            dirs = sorted({"/".join(x.split("/")[:i]) for x in paths
                           for i in range(1, x.count("/") + 1)})
            entries += [{"type": "directory", "path": d, "oid": "0" * 40,
                         "size": 0} for d in dirs]
        else:
            paths = [x for x in paths if "/" not in x]
        entries += [{"type": "file", "path": x, "size": len(repo.files[x]),
                     "oid": blob_oid(repo.files[x])} for x in paths]
        start = int(q.get("cursor", ["0"])[0])
        page = self.cfg["tree_page"]
        headers = {}
        if start + page < len(entries):
            nxt = "%s/api/datasets/%s/tree/main?recursive=%s&cursor=%d" % (
                self.base, repo.id, q.get("recursive", ["false"])[0],
                start + page)
            headers["Link"] = '<%s>; rel="next"' % nxt
        return jres(200, entries[start:start + page], headers)

    def mode(self, path, size):
        if size == 0:
            return "regular"
        if size >= self.cfg["lfs_threshold"] or path.endswith(LFS_SUFFIXES):
            return "lfs"
        return "regular"

    def preupload(self, req, repo):
        b = self.body_json(req)
        if not isinstance(b, dict) or not isinstance(b.get("files"), list):
            return jres(400, {"error": "files must be a list"})
        out = []
        for f in b["files"]:
            if not isinstance(f.get("path"), str) or \
                    not isinstance(f.get("size"), int) or \
                    not isinstance(f.get("sample"), str):
                return jres(400, {"error": "bad file entry"})
            base64.b64decode(f["sample"], validate=True)
            e = {"path": f["path"], "uploadMode": self.mode(f["path"],
                                                            f["size"]),
                 "shouldIgnore": False}
            if f["path"] in repo.files:
                d = repo.files[f["path"]]
                e["oid"] = (hashlib.sha256(d).hexdigest()
                            if f["path"] in repo.lfs else blob_oid(d))
            out.append(e)
        return jres(200, {"files": out, "commitOid": repo.commits[-1]["id"]})

    def batch(self, req, rid):
        if rid not in self.repos:
            return not_found()
        for h in ("accept", "content-type"):
            if req.headers.get(h) != "application/vnd.git-lfs+json":
                return jres(400, {"message": "%s must be the LFS type" % h})
        b = self.body_json(req)
        if not b or b.get("operation") != "upload" or \
                b.get("hash_algo") not in ("sha256", "sha_256") or \
                "basic" not in b.get("transfers", []):
            return jres(422, {"message": "bad batch request"})
        chunk = self.cfg["multipart_chunk"]
        objs, transfer = [], "basic"
        for o in b["objects"]:
            oid, size = o["oid"], o["size"]
            if oid in self.store and len(self.store[oid]) == size:
                objs.append({"oid": oid, "size": size})
                continue
            verify = {"href": "%s/lfs-verify/%s" % (self.base, oid),
                      "header": {}}
            if chunk and size > chunk and "multipart" in b["transfers"]:
                transfer = "multipart"
                n = (size + chunk - 1) // chunk
                hdr = {"chunk_size": str(chunk)}
                for i in range(1, n + 1):
                    hdr[str(i)] = "%s/lfs-part/%s/%d" % (self.base, oid, i)
                up = {"href": "%s/lfs-complete/%s" % (self.base, oid),
                      "header": hdr}
            else:
                up = {"href": "%s/lfs-upload/%s" % (self.base, oid),
                      "header": {}, "expires_in": 86400}
            objs.append({"oid": oid, "size": size, "authenticated": True,
                         "actions": {"upload": up, "verify": verify}})
        return 200, {"Content-Type": "application/vnd.git-lfs+json"}, \
            json.dumps({"transfer": transfer, "objects": objs}).encode()

    def lfs_action(self, req, what, oid, part):
        with self.lock:
            if what in ("lfs-upload", "lfs-part") and \
                    "authorization" in req.headers:
                return jres(400, {"error": "presigned URL: no "
                                           "Authorization header expected"})
            if what == "lfs-upload" and req.method == "PUT":
                self.pending[oid] = req.body
                return 200, {"ETag": '"%s"' % hashlib.md5(
                    req.body).hexdigest()}, b""
            if what == "lfs-part" and req.method == "PUT":
                self.parts.setdefault(oid, {})[int(part)] = req.body
                return 200, {"ETag": '"%s"' % hashlib.md5(
                    req.body).hexdigest()}, b""
            if what == "lfs-complete" and req.method == "POST":
                return self.complete(req, oid)
            if what == "lfs-verify" and req.method == "POST":
                return self.verify(req, oid)
        return not_found()

    def complete(self, req, oid):
        b = self.body_json(req) or {}
        got = self.parts.get(oid, {})
        parts = b.get("parts", [])
        if b.get("oid") != oid or [p["partNumber"] for p in parts] != \
                list(range(1, len(got) + 1)):
            return jres(400, {"error": "bad completion body"})
        for p in parts:
            want = '"%s"' % hashlib.md5(got[p["partNumber"]]).hexdigest()
            if p["etag"] != want:
                return jres(400, {"error": "etag mismatch"})
        self.pending[oid] = b"".join(got[i] for i in sorted(got))
        return jres(200, {})

    def verify(self, req, oid):
        if not self.authed(req):
            return jres(401, {"error": "verify needs the token"})
        b = self.body_json(req) or {}
        data = self.pending.get(oid)
        if data is None or b.get("oid") != oid or b.get("size") != len(data) \
                or hashlib.sha256(data).hexdigest() != oid:
            return jres(422, {"error": "object not uploaded or corrupt"})
        self.store[oid] = data
        return jres(200, {"message": "verified"})

    def commit_ops(self, lines):
        ops = []
        for ln in lines[1:]:
            o = json.loads(ln)
            v = o["value"]
            if o["key"] == "file":
                if v.get("encoding") != "base64":
                    raise ValueError("file encoding must be base64 here")
                ops.append((v["path"], base64.b64decode(v["content"],
                                                        validate=True), 0))
            elif o["key"] == "lfsFile":
                d = self.store.get(v["oid"])
                if d is None or len(d) != v["size"] or v.get("algo") != \
                        "sha256":
                    raise ValueError("LFS object %s not stored" % v["oid"])
                ops.append((v["path"], d, 1))
            else:
                raise ValueError("unexpected key " + o["key"])
        return ops

    def commit(self, req, repo):
        if req.headers.get("content-type") != "application/x-ndjson":
            return jres(400, {"error": "expected application/x-ndjson"})
        lines = req.body.decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        try:
            head = json.loads(lines[0])
            if head["key"] != "header" or "summary" not in head["value"] or \
                    "description" not in head["value"]:
                raise ValueError("the header line must come first")
            ops = self.commit_ops(lines)
        except (ValueError, KeyError, IndexError) as e:
            return jres(400, {"error": "bad commit: %s" % e})
        for path, data, lfs in ops:
            repo.files[path] = data
            (repo.lfs.add if lfs else repo.lfs.discard)(path)
        oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        repo.commits.append({"id": oid, "title": head["value"]["summary"],
                             "paths": [o[0] for o in ops]})
        return jres(200, {"success": True, "commitOid": oid,
                          "commitUrl": "%s/datasets/%s/commit/%s" % (
                              self.base, repo.id, oid), "hookOutput": ""})

    def resolve(self, rid, path):
        with self.lock:
            repo = self.repos.get(rid)
            if repo is None or path not in repo.files:
                return not_found("Entry not found", "EntryNotFound")
            return 200, {"Content-Type": "application/octet-stream"}, \
                repo.files[path]


if __name__ == "__main__":
    fake_http.serve(HubApp)
