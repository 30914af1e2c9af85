#!/usr/bin/env python3
"""make_corpus.py -- (re)write the seed inputs of the fuzz targets.

    python3 tests/fuzz/make_corpus.py [SHARED_DIR]

SHARED_DIR defaults to ../shared next to the repository (it holds
fixtures/real/ and vectors/make_table/). Seeds are written as
tests/fuzz/corpus/<target>/seed-*; files named crash-* (inputs of crashes
found and fixed) are left alone. Everything is deterministic, so running
it again changes nothing. Each seed is cut to at most MAX_SEED bytes and
each target's seeds stay small (the whole corpus < 2 MB).

Hostile inputs covered by hand-made seeds: NaN / Infinity, invalid UTF-8,
deep nesting, long strings (the 100 MB case is a unit test instead:
tests/unit/test_huge_string.c), task names with '/', '..', NUL and
control characters.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..",
                                                            "shared")
REAL = os.path.join(SHARED, "fixtures", "real")
VECTORS = os.path.join(SHARED, "vectors", "make_table")
OUT = os.path.join(HERE, "corpus")
MAX_SEED = 24 * 1024

HOSTILE_TASKS = ["a/b", "..", ".", "../../etc/passwd", "x\x00y", "\x01\x1f\x7f",
                 "mmlu:anatomy|5", "t" * 300, "tab\there\nnl", "\u00e9\u4e2d"]


# ---- msgpack (the subset evtrack uses), no third-party module ------------

class Raw:
    """A msgpack str whose bytes are given as they are (may be bad UTF-8)."""
    def __init__(self, b):
        self.b = b


class Bin:
    def __init__(self, b):
        self.b = b


class U64:
    def __init__(self, v):
        self.v = v


class I64:
    def __init__(self, v):
        self.v = v


class M:
    """An ordered map whose keys may be any value (pairs)."""
    def __init__(self, pairs, map32=False):
        self.pairs = pairs
        self.map32 = map32


def _str_hdr(n):
    if n < 32:
        return bytes([0xa0 | n])
    if n < 256:
        return bytes([0xd9, n])
    if n < 65536:
        return b"\xda" + struct.pack(">H", n)
    return b"\xdb" + struct.pack(">I", n)


def _int(v):
    if 0 <= v < 128:
        return bytes([v])
    if -32 <= v < 0:
        return struct.pack("b", v)
    if 0 <= v < 256:
        return b"\xcc" + struct.pack(">B", v)
    if 0 <= v < 65536:
        return b"\xcd" + struct.pack(">H", v)
    if 0 <= v < 2 ** 32:
        return b"\xce" + struct.pack(">I", v)
    if 0 <= v < 2 ** 64:
        return b"\xcf" + struct.pack(">Q", v)
    if -128 <= v:
        return b"\xd0" + struct.pack(">b", v)
    if -32768 <= v:
        return b"\xd1" + struct.pack(">h", v)
    if -2 ** 31 <= v:
        return b"\xd2" + struct.pack(">i", v)
    return b"\xd3" + struct.pack(">q", v)


def pk(o):
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, U64):
        return b"\xcf" + struct.pack(">Q", o.v)
    if isinstance(o, I64):
        return b"\xd3" + struct.pack(">q", o.v)
    if isinstance(o, int):
        return _int(o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode("utf-8", "surrogatepass")
        return _str_hdr(len(b)) + b
    if isinstance(o, Raw):
        return _str_hdr(len(o.b)) + o.b
    if isinstance(o, Bin):
        return b"\xc4" + bytes([len(o.b)]) + o.b
    if isinstance(o, (list, tuple)):
        n = len(o)
        h = bytes([0x90 | n]) if n < 16 else b"\xdd" + struct.pack(">I", n)
        return h + b"".join(pk(x) for x in o)
    if isinstance(o, dict):
        o = M(list(o.items()))
    if isinstance(o, M):
        n = len(o.pairs)
        if o.map32:
            h = b"\xdf" + struct.pack(">I", n)
        else:
            h = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
        return h + b"".join(pk(k) + pk(v) for k, v in o.pairs)
    raise TypeError(type(o))


def event(kind, fields, seq=1):
    """An event as the core encodes it (docs/EVENTS.md section 1)."""
    head = [("kind", kind), ("run_id", "fuzz-run"), ("seq", U64(seq)),
            ("time_ns", I64(1735732800000000000 + seq))]
    return pk(M(head + list(fields), map32=True))


# ---- CRC32C and spool files (core/spool.h, core/worker.c) -----------------

def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC_T = _crc_table()


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = CRC_T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(b):
    c = crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


KIND_BITS = {"run_start": 1, "task_config": 2, "sample": 4, "result": 8,
             "scalar": 16, "run_end": 32}


def spool_record(kind, body, seq, step=None, run_id=b"fuzz-run"):
    hdr = struct.pack("<BBHIQqq", 1, 1 if step is not None else 0,
                      len(run_id), KIND_BITS.get(kind, kind), seq,
                      1735732800000000000, step or 0)
    return hdr + run_id + body


def frame(payload):
    return struct.pack("<III", 0x31525645, len(payload),
                       masked(payload)) + payload


def spool_file(payloads):
    return b"EVTSPL1\n" + b"".join(frame(p) for p in payloads)


def cursor(off):
    b = struct.pack("<Q", off)
    return b + struct.pack("<I", masked(b))


# ---- reading the fixtures -------------------------------------------------

def real(name):
    with open(os.path.join(REAL, name), "rb") as f:
        return f.read()


def real_json(name):
    return json.loads(real(name).decode("utf-8"))


def jsonl_lines(name, n):
    out = []
    for line in real(name).decode("utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
        if len(out) == n:
            break
    return out


def clip(b):
    return b[:MAX_SEED]


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(clip(data))


def deep(n, open_="[", close="]"):
    return open_ * n + "1" + close * n


def shrink(o, n=400):
    """Long strings cut to n characters, so that seeds stay small."""
    if isinstance(o, str):
        return o[:n]
    if isinstance(o, list):
        return [shrink(x, n) for x in o[:20]]
    if isinstance(o, dict):
        return {k: shrink(v, n) for k, v in list(o.items())[:40]}
    return o


# ---- one function per target ----------------------------------------------

def config_seeds():
    good = {"output_dir": "out", "state_dir": "state", "run_id": "run-1",
            "plugin_dirs": ["plugins", "/nonexistent"],
            "sinks": [
                {"plugin": "jsonl", "name": "a",
                 "config": {"path": "${EVT_FUZZ_VAR}/x", "n": 3,
                            "ratio": 0.25, "on": False,
                            "extra": {"k": [1, 2.5, None]}}},
                {"path": "lib/evtrack-sink-x.so", "enabled": False,
                 "events": ["sample", "result"],
                 "queue": {"max_events": 128, "overflow": "spill"},
                 "retry": {"limit": 3, "base_ms": 10, "cap_ms": 100}}]}
    write("config", "good", json.dumps(good, indent=2))
    write("config", "empty_sinks", '{"sinks": [], "version": 1}')
    write("config", "env", '{"sinks": [], "output_dir": "${EVT_FUZZ_VAR}$$/'
          '${UNSET_VAR_X}", "run_id": "${EVT_FUZZ_VAR}"}')
    write("config", "dup_names",
          '{"sinks": [{"path": "a.so"}, {"path": "b/a.so"}]}')
    write("config", "bad_types",
          '{"sinks": [{"path": "a.so", "queue": {"max_events": 1.5}, '
          '"retry": {"base_ms": 10, "cap_ms": 1}, "events": []}]}')
    write("config", "hostile_names",
          '{"sinks": [{"plugin": "../x"}, {"path": "", "name": "a/b"}], '
          '"run_id": "..\\u0000"}')
    write("config", "nan_utf8", b'{"sinks": [{"path": "\xff\xfe.so", '
          b'"queue": {"max_events": NaN}}], "version": 1e999}')
    write("config", "deep", '{"sinks": [{"path": "a.so", "config": '
          '{"extra": ' + deep(200) + '}}]}')


def json_seeds():
    for name, n in [("lmmseval_v0.6_mme_limit8_samples_mme.jsonl", 1),
                    ("lmeval_bigrefactor_samples_winogrande_limit2.jsonl", 1),
                    ("lmeval_phi35_samples_en_it_public.jsonl", 1)]:
        rec = jsonl_lines(name, n)[0]
        write("json_msgpack", name.split(".jsonl")[0],
              json.dumps(shrink(rec)))
    write("json_msgpack", "numbers",
          "[0, -0, 1.0, -0.0, 1e308, 1e309, -1e-400, 18446744073709551615,"
          " 18446744073709551616, -9223372036854775808, -9223372036854775809,"
          " 0.1, 5e-324, 123456789012345678901234567890]")
    write("json_msgpack", "nan", '{"a": NaN, "b": Infinity, "c": -Infinity,'
          ' "d": [NaN]}')
    write("json_msgpack", "escapes", r'{"s": "\u0000\u001f\"\\\/\b\f\n\r\t'
          r'\ud83d\ude00\u00e9\u4e2d", "\ud800x": 1}')
    write("json_msgpack", "bad_utf8", b'{"s": "\xc3\x28\xed\xa0\x80\xf4\x90'
          b'\x80\x80\xc0\xaf"}')
    write("json_msgpack", "deep15", deep(15))
    write("json_msgpack", "deep16", deep(16))
    write("json_msgpack", "deep_obj", deep(14, '{"a":', "}"))
    write("json_msgpack", "long_string", '{"s": "' + "x" * 20000 + '"}')
    write("json_msgpack", "dup_keys", '{"a": 1, "a": 2, "": {}}')


def sample_fields(rec, task):
    fields = [("task", task), ("doc_id", rec.get("doc_id", 0))]
    for k, v in rec.items():
        if k not in ("task", "doc_id"):
            fields.append((k, shrink(v)))
    return fields


def event_seeds():
    for tgt in ("event", "jsonl_record"):
        for name in ["lmmseval_v0.6_mme_limit8_samples_mme.jsonl",
                     "lmeval_bigrefactor_samples_winogrande_limit2.jsonl",
                     "lmeval_phi35_samples_en_it_public.jsonl",
                     "lmeval_0.4.13dev_samples_negotiationtom_belief_loglik"
                     ".jsonl",
                     "lmeval_0.4.9.2_samples_math_perturbed_full.jsonl"]:
            rec = jsonl_lines(name, 1)[0]
            write(tgt, name.split(".jsonl")[0],
                  event("sample", sample_fields(rec, "mme")))
        for i, task in enumerate(HOSTILE_TASKS):
            write(tgt, "task_%d" % i,
                  event("sample", [("task", task), ("doc_id", i),
                                   ("resps", [["a"]]),
                                   ("filtered_resps", ["a"]),
                                   ("metrics", {"acc": 1.0})]))
        write(tgt, "bad_utf8_task",
              event("sample", [("task", Raw(b"\xff\xfe/..")), ("doc_id", 1),
                               ("doc", {Raw(b"k\xc3"): Raw(b"v\xed\xa0\x80")
                                        })]))
        write(tgt, "nan_inf",
              event("sample", [("task", "t"), ("doc_id", 1),
                               ("metrics", {"acc": float("nan"),
                                            "f1": float("inf"),
                                            "x": float("-inf")}),
                               ("resps", [[float("nan")]]),
                               ("target", -0.0)]))
        nest = 1
        for _ in range(40):
            nest = [nest]
        write(tgt, "deep", event("sample", [("task", "t"), ("doc_id", 1),
                                            ("doc", nest)]))
        write(tgt, "odd_types",
              event("sample", [("task", "t"), ("doc_id", U64(2 ** 64 - 1)),
                               ("doc", M([(1, "int key"), (None, "nil"),
                                          (True, "b"), (2.5, "f"),
                                          (float("nan"), "n")])),
                               ("arguments", [Bin(b"\x00\x01")]),
                               ("metrics", M([("m", 1), ("m", 2)]))]))
        write(tgt, "lighteval", event("sample", [
            ("task", "lighteval|mmlu:anatomy|5"), ("doc_id", 3),
            ("query", "Q?"), ("choices", ["A", "B"]), ("gold_index", 1),
            ("model_response", {"text": ["A"], "logprobs": [-1.5]}),
            ("metric", {"acc": 1})]))
        write(tgt, "long_string", event("sample", [
            ("task", "t"), ("doc_id", 1), ("resps", [["y" * 20000]])]))
    write("event", "plain_array", pk([1, "a", None, 1.5, [], {}]))
    write("event", "ext", b"\xd4\x01\x02" + b"\xc7\x03\x05abc")
    write("event", "truncated", event("sample", [("task", "t")])[:-3])


def results_events(results_name, n_tasks=6, light=False):
    d = real_json(results_name)
    out = []
    seq = 1
    cfg = d.get("config") or d.get("config_general") or {}
    start = [("model_name", d.get("model_name", cfg.get("model_name", "m"))),
             ("model_args", cfg.get("model_args", "pretrained=org/model")),
             ("config", shrink(cfg, 200))]
    if light:
        start.insert(0, ("model_source", "lighteval"))
    for k in ("lmms_eval_version", "lm_eval_version", "git_hash", "date"):
        if k in d:
            start.append((k, d[k]))
    out.append(event("run_start", start, seq))
    for task, entry in list(d.get("results", {}).items())[:n_tasks]:
        seq += 1
        tc = [("task", task)]
        for src, dst in (("versions", "version"), ("n-shot", "n-shot"),
                         ("higher_is_better", "higher_is_better")):
            if task in d.get(src, {}):
                tc.append((dst, shrink(d[src][task])))
        if isinstance(entry, dict) and "alias" in entry:
            tc.append(("alias", entry["alias"]))
        out.append(event("task_config", tc, seq))
        if not isinstance(entry, dict):
            continue
        for key, v in entry.items():
            metric, _, flt = key.partition(",")
            if key == "alias" or "stderr" in metric:
                continue
            seq += 1
            f = [("task", task), ("metric", metric),
                 ("filter", flt or "none"), ("value", v)]
            se = entry.get(metric + "_stderr" + ("," + flt if flt else ""))
            if se is not None:
                f.append(("stderr", se))
            out.append(event("result", f, seq))
        seq += 1
        out.append(event("sample", [("task", task), ("doc_id", 0),
                                    ("doc_hash", "ab" * 32),
                                    ("prompt_hash", "cd" * 32),
                                    ("target_hash", "ef" * 32)], seq))
    seq += 1
    out.append(event("run_end", [("total_evaluation_time_seconds", "12.5")],
                     seq))
    return out


def results_seeds():
    for name, light in [
            ("lmmseval_v0.6_mme_limit8_results.json", False),
            ("lmeval_pr1991_gemma7b_halftruth_results.json", False),
            ("lmeval_gsm8k_cot_llama_strict_flexible_results.json", False),
            ("lmeval_0.4.13dev_negotiationtom_group_NA_results.json", False),
            ("lmeval_v0.3_bloom7b1_gsm8k_8-shot.json", False),
            ("lighteval_0.13.0_dummy_smoke_results.json", True)]:
        write("results", name.split(".json")[0],
              b"".join(results_events(name, light=light)))
    hostile = [event("run_start", [("model_name", "../../x/\x00y"),
                                   ("model_args", "pretrained=a/b/../c,"
                                    "token=hf_FuzzSecret4242"),
                                   ("date", "../..")], 1)]
    for i, task in enumerate(HOSTILE_TASKS):
        hostile.append(event("task_config", [("task", task),
                                             ("version", 1.0)], 2 + 2 * i))
        hostile.append(event("result", [("task", task), ("metric", "acc"),
                                        ("filter", "none"),
                                        ("value", float("nan")),
                                        ("stderr", float("inf"))],
                             3 + 2 * i))
    write("results", "hostile", b"".join(hostile))
    write("results", "secret", b"".join([
        event("run_start", [("model_name", "hf_FuzzSecret4242"),
                            ("config", {"hf_FuzzSecret4242": "x"})], 1),
        event("result", [("task", "hf_FuzzSecret4242"), ("metric", "m"),
                         ("filter", "hf_FuzzSecret4242"), ("value", 1)], 2)]))


def make_table_seeds():
    for f in sorted(os.listdir(VECTORS)):
        if f.endswith(".json"):
            with open(os.path.join(VECTORS, f), "rb") as fh:
                v = json.loads(fh.read().decode("utf-8"))
            write("make_table", f[:-5], json.dumps(v["input"]))
    for name in ["lmeval_v0.3_bloom7b1_common_sense_reasoning_0-shot.json",
                 "lighteval_vllm_openr1grpo_math500_results.json",
                 "lmeval_0.4.2era_wmdp_group_no_nsamples_results.json"]:
        write("make_table", name[:-5], real(name))
    write("make_table", "hostile", json.dumps({
        "results": {"a|b": {"alias": "\u4e2d\u6587 | x", "acc,none": 1e308,
                            "acc_stderr,none": "N/A"},
                    "../x": {"acc": -0.0, "f1,": None}},
        "groups": {"g": {}}, "versions": {"a|b": None},
        "n-shot": {"a|b": "x"}, "higher_is_better": {"a|b": {"acc": None}},
        "group_subtasks": {"g": ["a|b", "g"], "a|b": []}}))
    write("make_table", "bad_utf8", b'{"results": {"\xff": {"acc,none": 1}}}')


def ingest_seeds():
    pairs = [("lmmseval_v0.6_mme_limit8_results.json",
              "lmmseval_v0.6_mme_limit8_samples_mme.jsonl", "mme"),
             ("lmeval_bigrefactor_winogrande_limit2_results.json",
              "lmeval_bigrefactor_samples_winogrande_limit2.jsonl",
              "winogrande"),
             ("lmeval_phi35_en_it_public_results.json",
              "lmeval_phi35_samples_en_it_public.jsonl", "en_it_public"),
             ("lmeval_0.4.2era_wmdp_group_no_nsamples_results.json",
              "lmeval_0.4.2era_samples_wmdp_bio_JSONARRAY.jsonl", "wmdp_bio"),
             ("lmeval_v0.3_bloom7b1_gsm8k_8-shot.json", None, None),
             ("lighteval_vllm_qwen2.5-1.5b_math500_results.json", None, None),
             ("lmeval_gsm8k_cot_llama_strict_flexible_results.json", None,
              None)]
    for res, samples, task in pairs:
        data = real(res)
        if samples:
            s = real(samples)
            if s.lstrip().startswith(b"["):
                arr = json.loads(s.decode("utf-8"))[:2]
                s = json.dumps(shrink(arr, 200), indent=2).encode()
            else:
                lines = [json.dumps(shrink(json.loads(x), 200))
                         for x in s.decode("utf-8").splitlines()[:3]]
                s = ("\n".join(lines) + "\n").encode()
            data = data + b"\n#samples " + task.encode() + b"\n" + s
        if len(data) > MAX_SEED:  # keep the structure, cut long values
            d = real_json(res)
            data = json.dumps(shrink(d, 100), indent=2).encode()
        write("ingest", res.split(".json")[0], data)
    write("ingest", "hostile", json.dumps({
        "results": {"../x": {"acc,none": float("nan"), "alias": "a"},
                    "a/b\u0000": {"acc_stderr,none": 1, "acc,none": "N/A"},
                    "\u0001": [1]},
        "configs": {}, "lmms_eval_version": "0.7",
        "config": {"model_args": None}, "date": None,
        "n-shot": {"../x": "5"}}) + "\n#samples ../x\n"
        + '{"doc_id": 0, "resps": [[NaN]], "task": 5}\n[1]\n{bad\n\xff\n')
    write("ingest", "deep", '{"results": {"t": {"acc,none": '
          + deep(300) + '}}, "configs": {}}')


def spool_seeds():
    bodies = [("run_start", event("run_start", [("model_name", "org/m")], 1)),
              ("sample", event("sample", [("task", "mme"), ("doc_id", 0),
                                          ("resps", [["yes"]])], 2)),
              ("result", event("result", [("task", "mme"), ("metric", "acc"),
                                          ("filter", "none"),
                                          ("value", 0.5)], 3)),
              ("run_end", event("run_end", [], 4))]
    recs = [spool_record(k, b, i + 1, step=i if i % 2 else None)
            for i, (k, b) in enumerate(bodies)]
    f = spool_file(recs)
    # flags: 1 cursor file, 2 valid cursor CRC, 4..16 records to ack,
    # 32 fix frame CRCs, 64 skip the tracker (see fuzz_spool.c).
    write("spool", "four", bytes([0]) + f)
    write("spool", "four_ack2", bytes([2 << 2]) + f)
    off2 = 8 + len(frame(recs[0])) + len(frame(recs[1]))
    write("spool", "cursor_mid", bytes([1 | 2]) + cursor(off2) + f)
    write("spool", "cursor_end", bytes([1 | 2]) + cursor(len(f)) + f)
    write("spool", "cursor_odd", bytes([1 | 2]) + cursor(off2 + 3) + f)
    write("spool", "cursor_bad_crc", bytes([1]) + cursor(off2)[:8]
          + b"\0\0\0\0" + f)
    write("spool", "torn_tail", bytes([0]) + f[:-5])
    write("spool", "bad_magic", bytes([0]) + f[:8] + b"XXXX" + f[12:])
    write("spool", "torn_header", bytes([0]) + b"EVTS")
    write("spool", "not_spool", bytes([0]) + b"hello world, not a spool")
    write("spool", "empty", bytes([0]))
    bad = [spool_record(0, event("sample", [], 1), 1),
           spool_record(3, b"\xc1\xc1", 2),
           spool_record("sample", b"", 3, run_id=b""),
           spool_record("sample", b"\xdf\xff\xff\xff\xff", 4),
           spool_record(64, event("scalar", [("tag", "x"), ("value", 1)]), 5),
           b"\x02short",
           spool_record("result", event("result", [
               ("task", "../\x00"), ("metric", "a,b"), ("value", "x")]), 6,
               run_id=b"\xff/..")]
    write("spool", "hostile_records", bytes([0]) + spool_file(bad))
    write("spool", "fixcrc", bytes([32]) + b"EVTSPL1\n"
          + struct.pack("<III", 0x31525645, 4, 0) + b"abcd")


def main():
    config_seeds()
    json_seeds()
    event_seeds()
    results_seeds()
    make_table_seeds()
    ingest_seeds()
    spool_seeds()
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("corpus: %d bytes in %s" % (total, OUT))


if __name__ == "__main__":
    main()
