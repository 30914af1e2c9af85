"""Tests of the Python binding (stdlib unittest, Debian's python3).

ctest runs it with EVTRACK_LIB = the build's libevtrack.so,
EVTRACK_PLUGIN_PATH = the build's plugin folder and EVT_TEST_FIXTURE_DIR =
the test sinks' folder (tests/CMakeLists.txt). By hand:

    EVTRACK_LIB=build/lib/libevtrack.so PYTHONPATH=bindings/python \\
        python3 -m unittest discover -s bindings/python/tests -v
"""

import glob
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # bindings/python
sys.path.insert(0, HERE)

import evtrack  # noqa: E402
import tfrecord  # noqa: E402

FIXTURES = os.environ.get("EVT_TEST_FIXTURE_DIR")
DATE = "20250101_120000"
MODEL_DIR = "org__tiny-lm"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class TempDir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="evt-py-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_config(self, cfg, name="cfg.json"):
        p = self.path(name)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        return p

    def local_config(self, run_id="py-run"):
        return {"version": 1, "output_dir": "out", "run_id": run_id,
                "sinks": [{"plugin": "local-json"}, {"plugin": "jsonl"},
                          {"plugin": "tensorboard-events"}]}

    def fixture_config(self, **config):
        if not FIXTURES:
            self.skipTest("EVT_TEST_FIXTURE_DIR is not set")
        return {"output_dir": "out", "sinks": [{
            "path": os.path.join(FIXTURES, "test_sink.so"), "name": "slow",
            "config": dict(record_msgpack=False, **config)}]}


def log_small_run(t):
    """The run whose files TestRun checks, byte by byte."""
    assert t.log_run_start(model_source="hf", model_name="org/tiny-lm",
                           config={"batch_size": 4, "device": "cpu"},
                           date=DATE)
    t.log_task_config("toy_qa", {"version": 2, "n-shot": 0,
                                 "higher_is_better": {"acc": True}})
    for doc_id, ok in ((0, True), (1, False)):
        t.log_sample("toy_qa", doc_id, filter="none",
                     target="Paris" if ok else "Rome",
                     resps=[["Paris"]], filtered_resps=["Paris"],
                     metrics={"acc": 1.0 if ok else 0.0}, step=100)
    t.log_scalar("train/loss", 1.25, step=100)
    t.log_scalar("train/loss", 0.75, step=200)
    t.log_result("toy_qa", "acc", 0.5, stderr=0.25, step=200)
    t.log("scalar", {"tag": "val/loss", "value": 2, "step": 200})
    t.log_run_end()


class TestRun(TempDir):
    def test_files_written_by_three_sinks(self):
        cfg = self.write_config(self.local_config())
        t = evtrack.open(cfg)
        self.assertEqual(t.run_id, "py-run")
        self.assertRegex(t.run_stamp, r"^\d{8}_\d{6}(_\d+)?$")
        log_small_run(t)
        t.flush(timeout=30)
        stats = {s.name: s for s in t.stats()}
        t.close()

        self.assertEqual(list(stats), ["local-json", "jsonl",
                                       "tensorboard-events"])
        # local-json: run_start, task_config, 2 samples, result, run_end
        self.assertEqual(stats["local-json"].written, 6)
        self.assertEqual(stats["jsonl"].written, 4)  # run_start, samples, end
        # tensorboard: run_start, task_config, 3 scalars, result, run_end
        self.assertEqual(stats["tensorboard-events"].written, 7)
        for s in stats.values():
            self.assertTrue(s.enabled)
            self.assertEqual((s.queued, s.retried, s.spilled, s.dropped,
                              s.dead_lettered, s.depth),
                             (s.written, 0, 0, 0, 0, 0))

        samples = self.path("out", MODEL_DIR, DATE + "_samples_toy_qa.jsonl")
        self.assertEqual(
            read(samples),
            '{"doc_id": 0, "target": "Paris", "filtered_resps": "Paris", '
            '"filter": "none", "step": 100, "acc": 1.0}\n'
            '{"doc_id": 1, "target": "Rome", "filtered_resps": "Paris", '
            '"filter": "none", "step": 100, "acc": 0.0}\n')

        res = json.loads(read(self.path("out", MODEL_DIR,
                                        DATE + "_results.json")))
        self.assertEqual(res["results"], {"toy_qa": {
            "alias": "toy_qa", "acc,none": 0.5, "acc_stderr,none": 0.25,
            "acc_stderr_clt,none": "N/A",
            "acc_stderr_clustered,none": "N/A"}})
        self.assertEqual(res["versions"], {"toy_qa": 2})
        self.assertEqual(res["n-shot"], {"toy_qa": 0})
        self.assertEqual(res["higher_is_better"], {"toy_qa": {"acc": True}})
        self.assertEqual(res["n-samples"],
                         {"toy_qa": {"original": 2, "effective": 2}})
        self.assertEqual(res["config"], {"model": "hf", "model_args": None,
                                         "batch_size": 4, "device": "cpu"})
        self.assertEqual(res["date"], DATE)
        self.assertEqual(res["model_name"], "org/tiny-lm")
        self.assertEqual(res["model_name_sanitized"], MODEL_DIR)

        files = glob.glob(self.path("out", "tb", "py-run",
                                    "events.out.tfevents.*"))
        self.assertEqual(len(files), 1)
        got = [(s, tag, v) for s, tag, v in tfrecord.scalars(files[0])]
        self.assertEqual(got, [(100, "train/loss", 1.25),
                               (200, "train/loss", 0.75),
                               (200, "eval/toy_qa/acc", 0.5),
                               (200, "stderr_eval/toy_qa/acc", 0.25),
                               (200, "val/loss", 2.0)])

    def test_open_from_dict_with_base_dir(self):
        t = evtrack.open(self.local_config("dict-run"), base_dir=self.dir)
        log_small_run(t)
        t.close(timeout=30)
        self.assertTrue(os.path.isfile(self.path(
            "out", MODEL_DIR, DATE + "_results.json")))
        self.assertEqual(len(glob.glob(self.path("out", "tb", "dict-run",
                                                 "events.out.tfevents.*"))), 1)

    def test_unicode_and_nesting_go_through(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        deep = {"a": [{"b": [1, 2.5, None, True, "é\u20ac\U0001F600"]}]}
        t.log_sample("toy_qa", 7, {"target": "\u00e9t\u00e9", "custom": deep,
                                   "tup": (1, 2)})
        t.close(timeout=30)
        line = read(self.path("out", MODEL_DIR,
                              DATE + "_samples_toy_qa.jsonl"))
        self.assertEqual(json.loads(line), {
            "doc_id": 7, "target": "\u00e9t\u00e9", "custom": deep,
            "tup": [1, 2]})


class TestContextManager(TempDir):
    def test_with_closes_and_flushes(self):
        with evtrack.open(self.local_config(), base_dir=self.dir) as t:
            log_small_run(t)
            self.assertFalse(t.closed)
        self.assertTrue(t.closed)
        self.assertIn("closed", repr(t))
        self.assertTrue(os.path.isfile(self.path(
            "out", MODEL_DIR, DATE + "_results.json")))
        with self.assertRaises(evtrack.Error) as cm:
            t.log_scalar("x", 1.0)
        self.assertEqual(cm.exception.status, evtrack.ECLOSED)

    def test_body_exception_is_kept_and_tracker_closed(self):
        with self.assertRaises(KeyError):
            with evtrack.open(self.local_config(), base_dir=self.dir) as t:
                t.log_run_start(model_name="org/tiny-lm", date=DATE)
                t.log_sample("toy_qa", 0, target="x")
                raise KeyError("boom")
        self.assertTrue(t.closed)
        self.assertTrue(os.path.isfile(self.path(
            "out", MODEL_DIR, DATE + "_samples_toy_qa.jsonl")))


class TestErrors(TempDir):
    def assertError(self, status, text, fn, *args, **kw):
        with self.assertRaises(evtrack.Error) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.status, status, str(cm.exception))
        self.assertEqual(str(cm.exception), text)
        return cm.exception

    def test_bad_config_names_the_field(self):
        cfg = self.local_config()
        cfg["sinks"][1]["queue"] = {"overflow": "sometimes"}
        p = self.write_config(cfg)
        e = self.assertError(
            evtrack.ECONFIG,
            p + ': sinks[1].queue.overflow: expected one of "block", '
            '"spill", "drop_newest", "drop_oldest"', evtrack.open, p)
        self.assertEqual(e.status_name, "EVT_ECONFIG")
        cfg = self.local_config()
        cfg["sinks"][2]["config"] = {"scalar_form": "double", "bogus": 1}
        self.assertError(
            evtrack.ECONFIG,
            '<config>: sinks[2].config.bogus: unknown key for plugin '
            '"tensorboard-events" (known: logdir, run_name, tag, stderr_tag, '
            'scalar_form, table_tag, hparams, flush_secs)',
            evtrack.open, cfg, base_dir=self.dir)
        missing = self.path("nope.json")
        with self.assertRaises(evtrack.Error) as cm:
            evtrack.open(missing)
        self.assertTrue(str(cm.exception).startswith(missing + ": "))
        self.assertEqual(cm.exception.status, evtrack.ECONFIG)
        self.assertError(evtrack.EINVAL, "base_dir is only for a config "
                         "dict; a file's relative paths resolve against its "
                         "folder", evtrack.open, missing, base_dir="/")
        with self.assertRaises(evtrack.EncodeError) as cm:
            evtrack.open({"sinks": [], "x": float("nan")})
        self.assertEqual(str(cm.exception), 'config: field "x": NaN is not '
                         'valid JSON (evtrack refuses NaN and Infinity)')
        with self.assertRaises(evtrack.EncodeError):
            evtrack.open(42)

    def test_library_not_found(self):
        bad = self.path("libnothing.so")
        self.assertError(evtrack.EINVAL, bad + ": libevtrack not found (the "
                         "path given)", evtrack.open, {"sinks": []}, lib=bad)
        old = os.environ.get("EVTRACK_LIB")
        os.environ["EVTRACK_LIB"] = bad
        try:
            self.assertError(evtrack.EINVAL, bad + ": libevtrack not found "
                             "($EVTRACK_LIB)", evtrack.load_library)
        finally:
            if old is None:
                del os.environ["EVTRACK_LIB"]
            else:
                os.environ["EVTRACK_LIB"] = old
        with open(bad, "w") as f:
            f.write("not ELF")
        with self.assertRaises(evtrack.Error) as cm:
            evtrack.load_library(bad)
        self.assertIn("cannot load libevtrack", str(cm.exception))

    def test_bad_events(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        self.addCleanup(t.close)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        self.assertError(
            evtrack.EINVAL, "unknown event kind 'samples' (known: run_start, "
            "task_config, sample, result, scalar, run_end)",
            t.log, "samples", {"task": "t", "doc_id": 1})
        self.assertError(evtrack.EINVAL,
                         'result event: missing required field "metric"',
                         t.log, "result", {"task": "t", "value": 1.0})
        self.assertEqual(t.last_error,
                         'result event: missing required field "metric"')
        self.assertError(evtrack.EINVAL,
                         'sample event: field "seq" is reserved',
                         t.log_sample, "t", 1, seq=3)
        self.assertError(evtrack.EINVAL, 'scalar event: field "step": '
                         'expected a non-negative integer',
                         t.log, "scalar", tag="x", value=1.0, step=1.5)
        self.assertError(evtrack.EINVAL, 'scalar event: field "step": '
                         'expected a non-negative integer, got -1',
                         t.log_scalar, "x", 1.0, step=-1)

        nan, inf = float("nan"), float("inf")
        cases = [
            (lambda: t.log_sample("t", 1, metrics={"acc": nan}),
             'sample event: field "metrics.acc": NaN is not valid JSON '
             '(evtrack refuses NaN and Infinity)'),
            (lambda: t.log_result("t", "acc", -inf, step=3),
             'result event: field "value": -Infinity is not valid JSON '
             '(evtrack refuses NaN and Infinity)'),
            (lambda: t.log_scalar("loss", inf, step=3),
             'scalar event: field "value": inf is not valid JSON (evtrack '
             'refuses NaN and Infinity)'),
            (lambda: t.log_scalar("loss", nan),
             'scalar event: field "value": nan is not valid JSON (evtrack '
             'refuses NaN and Infinity)'),
            (lambda: t.log_sample("t", 1, resps=[["a", b"raw"]]),
             'sample event: field "resps[0][1]": a bytes value cannot be '
             'encoded as JSON'),
            (lambda: t.log_sample("t", 1, doc={"tags": {"a"}}),
             'sample event: field "doc.tags": a set value cannot be encoded '
             'as JSON'),
            (lambda: t.log_sample("t", 1, metrics={1: 0.5}),
             'sample event: field "metrics": key 1 is not a string'),
            (lambda: t.log_sample("t", 1, input="\ud800"),
             'sample event: field "input": string is not valid Unicode '
             '(lone surrogate)'),
            (lambda: t.log("sample", ["task", "t"]),
             'sample event: expected a dict, got list'),
            (lambda: t.log_scalar(b"loss", 1.0),
             "scalar event: field \"tag\": expected a str without NUL, got "
             "b'loss'"),
            (lambda: t.log_scalar("a\0b", 1.0),
             "scalar event: field \"tag\": expected a str without NUL, got "
             "'a\\x00b'"),
            (lambda: t.flush(timeout=-1),
             "timeout: expected seconds >= 0 or None, got -1"),
        ]
        loop = {"k": 1}
        loop["self"] = loop  # the event is level 1, doc 2, doc.self 3...
        cases.append((lambda: t.log_sample("t", 1, doc=loop),
                      'sample event: field "doc' + ".self" * 14 + '": '
                      'nesting deeper than 15 levels (or a circular '
                      'reference)'))
        for fn, text in cases:
            with self.assertRaises(evtrack.EncodeError) as cm:
                fn()
            self.assertEqual(str(cm.exception), text)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertEqual(cm.exception.status, evtrack.EINVAL)

        # The core's own limit is the same: 15 levels go through, and 16
        # are refused by the C parser too (the binding is not stricter).
        deep15 = [0]
        for _ in range(13):
            deep15 = [deep15]
        self.assertTrue(t.log_sample("t", 8, deep=deep15))
        self.assertError(evtrack.EINVAL, "sample event: JSON line 1 column "
                         "49: nesting too deep", t._log_json, "sample",
                         b'{"task": "t", "doc_id": 8, "dee": ' +
                         b"[" * 15 + b"]" * 15 + b"}")

        # Nothing refused reached a sink; the tracker goes on.
        t.log_sample("t", 9, target="ok")
        t.flush(timeout=30)
        s = {x.name: x for x in t.stats()}
        self.assertEqual(s["jsonl"].written, 3)
        self.assertEqual(s["jsonl"].dead_lettered, 0)
        lines = read(self.path("out", MODEL_DIR, DATE + "_samples_t.jsonl"))
        self.assertEqual(lines, '{"doc_id": 8, "deep": ' + "[" * 14 + "0" +
                         "]" * 14 + '}\n{"doc_id": 9, "target": "ok"}\n')

    def test_numbers_abc_values(self):
        from fractions import Fraction
        import enum

        class Level(enum.IntEnum):
            HIGH = 3

        class Score(float):
            pass

        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        t.log_sample("t", Level.HIGH, metrics={"acc": Fraction(1, 4),
                                               "f1": Score(0.5)})
        self.assertTrue(t.log_scalar("s", Fraction(3, 2), step=Level.HIGH))
        t.close(timeout=30)
        self.assertEqual(read(self.path("out", MODEL_DIR,
                                        DATE + "_samples_t.jsonl")),
                         '{"doc_id": 3, "acc": 0.25, "f1": 0.5}\n')

    def test_closed_tracker(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.close()
        t.close()  # a second close does nothing
        self.assertTrue(t.closed)
        for fn in (lambda: t.log_run_start(), lambda: t.log_run_end(),
                   lambda: t.log_scalar("x", 1.0), lambda: t.flush(1),
                   lambda: t.stats(), lambda: t.last_error,
                   lambda: t.run_id,
                   lambda: t.log_sample("t", 1)):
            with self.assertRaises(evtrack.Error) as cm:
                fn()
            self.assertEqual(cm.exception.status, evtrack.ECLOSED)
            self.assertEqual(str(cm.exception), "the tracker is closed")


class TestTimeoutsAndDrops(TempDir):
    def test_flush_and_close_timeout(self):
        cfg = self.fixture_config(sleep_ms=400)
        t = evtrack.open(cfg, base_dir=self.dir)
        t.log_scalar("x", 1.0, step=1)
        with self.assertRaises(evtrack.Timeout) as cm:
            t.flush(timeout=0.05)
        self.assertIsInstance(cm.exception, TimeoutError)
        self.assertEqual(cm.exception.status, evtrack.ETIMEDOUT)
        self.assertEqual(str(cm.exception), "flush: the deadline passed "
                         "before every sink was drained")
        t.flush(timeout=30)
        self.assertEqual(t.stats()[0].written, 1)
        t.log_scalar("x", 2.0, step=2)
        t.log_scalar("x", 3.0, step=3)
        with self.assertRaises(evtrack.Timeout):
            t.close(timeout=0.01)
        self.assertTrue(t.closed)
        # the events still queued went to the dead-letter file
        self.assertTrue(os.path.exists(self.path(
            "out", ".evtrack", "rejected", "slow.spool")))

    def test_drop_newest_returns_false_and_counts(self):
        cfg = self.fixture_config(sleep_ms=300)
        cfg["sinks"][0]["queue"] = {"max_events": 1,
                                    "overflow": "drop_newest"}
        t = evtrack.open(cfg, base_dir=self.dir)
        accepted = [t.log_scalar("x", float(i), step=i) for i in range(6)]
        self.assertIn(False, accepted)
        self.assertEqual(accepted[0], True)
        t.flush(timeout=30)
        s = t.stats()[0]
        self.assertEqual(s.dropped, accepted.count(False))
        self.assertEqual(s.written, accepted.count(True))
        t.close(timeout=30)


class TestThreadsAndFork(TempDir):
    def test_threads_log_concurrently(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        errors = []

        def work(k):
            try:
                for i in range(300):
                    t.log_sample("thr%d" % k, i, target=str(i))
                    t.log_scalar("thr%d/loss" % k, i / 10, step=i)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,))
                   for k in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        t.close(timeout=60)
        for k in range(4):
            lines = read(self.path("out", MODEL_DIR, DATE +
                                   "_samples_thr%d.jsonl" % k)).splitlines()
            self.assertEqual([json.loads(x)["doc_id"] for x in lines],
                             list(range(300)))

    def test_close_while_other_threads_log(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        outcome = {"ok": 0, "closed": 0, "other": []}
        lock = threading.Lock()
        going = threading.Semaphore(0)

        def work():
            for i in range(2000):
                try:
                    t.log_scalar("loss", 1.0, step=i)
                    with lock:
                        outcome["ok"] += 1
                    if i == 50:
                        going.release()
                except evtrack.Error as e:
                    with lock:
                        if e.status == evtrack.ECLOSED:
                            outcome["closed"] += 1
                        else:
                            outcome["other"].append(e)
                    return

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for _ in threads:  # each thread has logged 50 events
            going.acquire()
        t.close(timeout=60)
        for th in threads:
            th.join()
        self.assertEqual(outcome["other"], [])
        self.assertGreater(outcome["ok"], 200)
        tb = glob.glob(self.path("out", "tb", "py-run", "events.*"))
        self.assertEqual(len(tb), 1)
        self.assertEqual(len(tfrecord.scalars(tb[0])), outcome["ok"])

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_forked_child_cannot_use_the_parents_tracker(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir)
        t.log_run_start(model_name="org/tiny-lm", date=DATE)
        t.log_sample("t", 1)
        r, w = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: every call is refused, nothing written
            os.close(r)
            codes = []
            for fn in (lambda: t.log_sample("t", 2), lambda: t.flush(1),
                       lambda: t.stats(), lambda: t.close(1)):
                try:
                    fn()
                    codes.append("ok")
                except evtrack.Error as e:
                    codes.append(e.status_name)
            os.write(w, ",".join(codes).encode())
            os._exit(0)
        os.close(w)
        got = b""
        while True:
            chunk = os.read(r, 256)
            if not chunk:
                break
            got += chunk
        os.close(r)
        os.waitpid(pid, 0)
        self.assertEqual(got.decode(), ",".join(["EVT_ECLOSED"] * 4))
        t.log_sample("t", 3)
        t.close(timeout=30)
        lines = read(self.path("out", MODEL_DIR, DATE + "_samples_t.jsonl"))
        self.assertEqual([json.loads(x)["doc_id"] for x in
                          lines.splitlines()], [1, 3])


class TestLifecycle(TempDir):
    def run_python(self, code, env=None):
        import subprocess
        out = subprocess.run([sys.executable, "-c", code, self.dir],
                             env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_unclosed_tracker_is_closed_at_exit(self):
        """A tracker never closed is closed at interpreter exit: local-json
        writes its results file only when it is flushed or closed."""
        self.run_python(
            "import sys; sys.path.insert(0, %r)\n"
            "import evtrack\n"
            "t = evtrack.open({'output_dir': 'o', 'sinks': [{'plugin': "
            "'local-json'}]}, base_dir=sys.argv[1])\n"
            "t.log_run_start(model_name='m', date='d')\n"
            "t.log_result('t', 'acc', 0.5)\n" % os.path.dirname(HERE))
        res = json.loads(read(self.path("o", "m", "d_results.json")))
        self.assertEqual(res["results"]["t"]["acc,none"], 0.5)

    def test_unreferenced_tracker_is_closed(self):
        t = evtrack.open({"output_dir": "o", "sinks": [
            {"plugin": "local-json"}]}, base_dir=self.dir)
        t.log_run_start(model_name="m", date="d")
        t.log_result("t", "acc", 0.25)
        del t  # no close(): the finalizer closes it
        import gc
        gc.collect()
        res = json.loads(read(self.path("o", "m", "d_results.json")))
        self.assertEqual(res["results"]["t"]["acc,none"], 0.25)

    def test_timeouts(self):
        t = evtrack.open(self.local_config(), base_dir=self.dir,
                         close_timeout=math.inf)
        t.log_scalar("x", 2**80, step=1)  # an int that is not an int64
        with self.assertRaises(evtrack.EncodeError) as cm:
            t.log_scalar("x", 10**400)
        self.assertEqual(str(cm.exception), 'scalar event: field "value": '
                         + str(10**400) + " does not fit a double")
        t.flush(timeout=math.inf)
        t.flush(timeout=None)
        for bad in (-1, float("nan"), "1", True):
            with self.assertRaises(evtrack.EncodeError):
                t.flush(timeout=bad)
        with self.assertRaises(evtrack.EncodeError):
            evtrack.open(self.local_config(), close_timeout=-2)
        t.close()
        tb = glob.glob(self.path("out", "tb", "py-run", "events.*"))
        self.assertEqual(tfrecord.scalars(tb[0]), [(1, "x", float(2**80))])


class TestInstalledLayout(TempDir):
    def test_library_found_next_to_the_package(self):
        """<prefix>/lib/python3/dist-packages/evtrack finds
        <prefix>/lib/libevtrack.so.0 with no EVTRACK_LIB, and the plugins
        are found from the library's real location."""
        import subprocess
        real = os.path.realpath(evtrack.find_library())
        lib = self.path("prefix", "lib")
        site = os.path.join(lib, "python3", "dist-packages")
        os.makedirs(site)
        os.symlink(real, os.path.join(lib, "libevtrack.so.0"))
        shutil.copytree(os.path.join(os.path.dirname(HERE), "evtrack"),
                        os.path.join(site, "evtrack"))
        env = dict(os.environ, PYTHONPATH=site)
        env.pop("EVTRACK_LIB", None)
        env.pop("EVTRACK_PLUGIN_PATH", None)
        code = ("import evtrack, sys\n"
                "print(evtrack.find_library())\n"
                "with evtrack.open({'output_dir': 'o', 'sinks': "
                "[{'plugin': 'jsonl'}]}, base_dir=sys.argv[1]) as t:\n"
                "    t.log_sample('t', 1)\n")
        out = subprocess.run([sys.executable, "-c", code, self.dir],
                             env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, os.path.join(lib, "libevtrack.so.0")
                         + "\n")
        self.assertEqual(len(glob.glob(self.path("o", "*_samples_t.jsonl"))),
                         1)


class TestModule(unittest.TestCase):
    def test_names(self):
        self.assertEqual(evtrack.status_name(evtrack.ECONFIG), "EVT_ECONFIG")
        self.assertEqual(evtrack.status_name(-99), "EVT_UNKNOWN(-99)")
        self.assertEqual(list(evtrack.KINDS), [
            "run_start", "task_config", "sample", "result", "scalar",
            "run_end"])
        self.assertTrue(os.path.exists(evtrack.find_library()))
        lib = evtrack.load_library()
        self.assertIs(lib, evtrack.load_library())
        # the C names agree with the Python ones
        for code in (evtrack.EINVAL, evtrack.ECONFIG, evtrack.ETIMEDOUT,
                     evtrack.ECLOSED, evtrack.EDROPPED):
            self.assertEqual(lib.evt_status_name(code).decode(),
                             evtrack.status_name(code))
        self.assertTrue(math.isfinite(evtrack.CLOSE_TIMEOUT))


if __name__ == "__main__":
    unittest.main()
