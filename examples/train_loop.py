#!/usr/bin/env python3
"""evtrack inside a (simulated) training loop, from Python.

Every --log-every steps the loop logs the training loss as a scalar; every
--eval-every steps it evaluates a toy task and logs, at that step, one
sample per document, the task's accuracy as a result (with its stderr) and
the validation loss as a scalar. The tracker sends the scalars and results
to TensorBoard (tensorboard-events) and the samples to JSON Lines (jsonl).

    python3 examples/train_loop.py [-o DIR] [-c CONFIG] [--steps N]
                                   [--eval-every K] [--log-every L] [--seed S]

The numbers are those of examples/train_loop.c for the same options.
Exit status: 0 ok, 1 a logging or sink failure, 2 usage or config error."""

import argparse
import math
import os
import sys

try:
    import evtrack
except ImportError:  # run from the source tree: use bindings/python
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "bindings", "python"))
    import evtrack

TASK = "toy_qa"
EVAL_DOCS = 16
CLOSE_TIMEOUT = 10.0
MASK = (1 << 64) - 1


class SplitMix64:
    """The generator of train_loop.c, bit for bit."""

    def __init__(self, seed):
        self.s = seed & MASK

    def uniform(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        return (z >> 11) * 2.0 ** -53


def train_loss(step, rng):
    return 2.0 * math.exp(-step / 400.0) + 0.3 + \
        0.05 * (2.0 * rng.uniform() - 1.0)


def p_correct(step):
    return 0.25 + 0.7 * (1.0 - math.exp(-step / 500.0))


def evaluate(t, step, rng):
    """Samples, the accuracy and the validation loss, all at this step."""
    hits = 0
    for doc_id in range(EVAL_DOCS):
        correct = rng.uniform() < p_correct(step)
        hits += correct
        answer = "B" if correct else "C"
        t.log_sample(TASK, doc_id, filter="none", target="B",
                     resps=[[answer]], filtered_resps=[answer],
                     metrics={"acc": 1.0 if correct else 0.0}, step=step)
    acc = hits / EVAL_DOCS
    stderr = math.sqrt(acc * (1.0 - acc) / (EVAL_DOCS - 1))
    t.log_result(TASK, "acc", acc, stderr=stderr, step=step)
    t.log_scalar("val/loss", train_loss(step, rng) + 0.1, step=step)


def train(t, args):
    rng = SplitMix64(args.seed)
    for step in range(1, args.steps + 1):
        loss = train_loss(step, rng)  # "forward and backward"
        if step % args.log_every == 0:
            t.log_scalar("train/loss", loss, step=step)
        if step % args.eval_every == 0:
            evaluate(t, step, rng)
    t.log_run_end()


DEFAULT_CONFIG = {
    "version": 1,
    "output_dir": ".",
    "sinks": [
        {"plugin": "tensorboard-events", "config": {"logdir": "tb"}},
        {"plugin": "jsonl"},
    ],
}


def at_least(low):
    def parse(text):
        n = int(text)
        if n < low:
            raise argparse.ArgumentTypeError("must be at least %d" % low)
        return n
    return parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-o", dest="out", default="train-loop-out",
                   help="output folder (with the default config)")
    p.add_argument("-c", dest="config", help="a config file instead")
    p.add_argument("--steps", type=at_least(1), default=1000)
    p.add_argument("--eval-every", type=at_least(1), default=200)
    p.add_argument("--log-every", type=at_least(1), default=10)
    p.add_argument("--seed", type=at_least(0), default=1)
    p.add_argument("--lib", help="path of libevtrack.so")
    return p.parse_args()


def main():
    args = parse_args()
    try:
        if args.config:
            t = evtrack.open(args.config, lib=args.lib,
                             close_timeout=CLOSE_TIMEOUT)
        else:
            t = evtrack.open(DEFAULT_CONFIG, base_dir=args.out, lib=args.lib,
                             close_timeout=CLOSE_TIMEOUT)
    except evtrack.Error as e:
        print("train_loop.py: %s" % e, file=sys.stderr)
        return 2
    bad = False
    try:
        with t:
            print("run %s: %d steps, evaluating every %d"
                  % (t.run_id, args.steps, args.eval_every))
            t.log_run_start(model_source="train_loop.py",
                            model_name="example/tiny-lm",
                            config={"steps": args.steps,
                                    "eval_every": args.eval_every,
                                    "seed": args.seed})
            t.log_task_config(TASK, {"version": 1, "n-shot": 0,
                                     "higher_is_better": {"acc": True}})
            train(t, args)
            t.flush(timeout=CLOSE_TIMEOUT)
            for s in t.stats():
                print("sink %-20s written %d, dead-lettered %d%s"
                      % (s.name, s.written, s.dead_lettered,
                         "" if s.enabled else " (disabled)"))
                bad |= not s.enabled or s.dead_lettered > 0
    except evtrack.Error as e:
        print("train_loop.py: %s" % e, file=sys.stderr)
        return 1
    if not args.config:
        print("TensorBoard: tensorboard --logdir %s/tb" % args.out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
