"""The anchors' path for one samples file: json.dumps(sample,
ensure_ascii=False) + append, per sample (lm-eval and lmms-eval write
samples this way). Reads the records from a JSONL file first (not timed),
then times writing them; prints the seconds."""
import json
import sys
import time

records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
t0 = time.perf_counter()
with open(sys.argv[2], "a", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(time.perf_counter() - t0)
