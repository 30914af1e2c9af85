/* train_loop.c -- evtrack inside a (simulated) training loop.
 *
 * Every --log-every steps the loop logs the training loss as a scalar;
 * every --eval-every steps it evaluates a toy task and logs, at that step,
 * one sample event per document, the task's accuracy as a result (with
 * its stderr) and the validation loss as a scalar. The tracker sends the
 * scalars and results to TensorBoard (tensorboard-events) and the samples
 * to JSON Lines (jsonl); see examples/README.md.
 *
 *   evtrack-example-train-loop [-o DIR] [-c CONFIG] [--steps N]
 *                              [--eval-every K] [--log-every L] [--seed S]
 *
 * The numbers depend only on the options: examples/train_loop.py computes
 * the same ones, step for step. Exit status: 0 ok, 1 a logging or sink
 * failure, 2 usage or config error. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtrack/evtrack.h>

#define TASK "toy_qa"
#define EVAL_DOCS 16
#define CLOSE_TIMEOUT_MS 10000

struct opts {
    const char *out;    /* output folder (default config) */
    const char *config; /* a config file instead */
    long steps, eval_every, log_every;
    uint64_t seed;
};

/* ---- the simulation: deterministic, shared with train_loop.py ---------- */

/* splitmix64: a small generator that Python reproduces exactly. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) /* [0, 1) */
{
    return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

static double train_loss(long step, uint64_t *rng)
{
    return 2.0 * exp(-(double)step / 400.0) + 0.3 +
           0.05 * (2.0 * uniform(rng) - 1.0);
}

static double p_correct(long step)
{
    return 0.25 + 0.7 * (1.0 - exp(-(double)step / 500.0));
}

/* ---- logging ------------------------------------------------------------ */

/* Report a failed call with the tracker's message; returns 1. */
static int fail(evt_tracker *t, const char *what, int rc)
{
    char msg[EVT_ERRMSG_SIZE] = "";
    evt_last_error(t, msg, sizeof msg);
    fprintf(stderr, "train_loop: %s: %s: %s\n", what, evt_status_name(rc),
            msg);
    return 1;
}

static int log_start(evt_tracker *t, const struct opts *o)
{
    evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
    evt_str(e, "model_source", "train_loop.c");
    evt_str(e, "model_name", "example/tiny-lm");
    evt_map_begin(e, "config");
    evt_int(e, "steps", o->steps);
    evt_int(e, "eval_every", o->eval_every);
    evt_int(e, "seed", (int64_t)o->seed);
    evt_map_end(e);
    int rc = evt_commit(e);
    if (rc != EVT_OK)
        return fail(t, "run_start", rc);
    rc = evt_log_json(t, EVT_EV_TASK_CONFIG,
                      "{\"task\": \"" TASK "\", \"version\": 1, \"n-shot\": 0,"
                      " \"higher_is_better\": {\"acc\": true}}");
    return rc == EVT_OK ? 0 : fail(t, "task_config", rc);
}

/* One evaluated document, with the builder (no JSON text). */
static int log_sample(evt_tracker *t, long step, int doc_id, int correct)
{
    const char *answer = correct ? "B" : "C";
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", TASK);
    evt_int(e, "doc_id", doc_id);
    evt_str(e, "filter", "none");
    evt_str(e, "target", "B");
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, answer);
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, answer);
    evt_array_end(e);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", correct ? 1.0 : 0.0);
    evt_map_end(e);
    evt_step(e, step);
    int rc = evt_commit(e);
    return rc == EVT_OK ? 0 : fail(t, "sample", rc);
}

/* Evaluate at this step: samples, the accuracy, the validation loss. */
static int evaluate(evt_tracker *t, long step, uint64_t *rng)
{
    int hits = 0;
    for (int d = 0; d < EVAL_DOCS; d++) {
        int correct = uniform(rng) < p_correct(step);
        hits += correct;
        if (log_sample(t, step, d, correct))
            return 1;
    }
    double acc = (double)hits / EVAL_DOCS;
    double se = sqrt(acc * (1.0 - acc) / (EVAL_DOCS - 1));
    int rc = evt_log_result(t, TASK, "acc", "none", acc, se, step);
    if (rc != EVT_OK)
        return fail(t, "result", rc);
    rc = evt_log_scalar(t, "val/loss", train_loss(step, rng) + 0.1, step);
    return rc == EVT_OK ? 0 : fail(t, "val/loss", rc);
}

static int train(evt_tracker *t, const struct opts *o)
{
    uint64_t rng = o->seed;
    for (long step = 1; step <= o->steps; step++) {
        double loss = train_loss(step, &rng); /* "forward and backward" */
        if (step % o->log_every == 0) {
            int rc = evt_log_scalar(t, "train/loss", loss, step);
            if (rc != EVT_OK)
                return fail(t, "train/loss", rc);
        }
        if (step % o->eval_every == 0 && evaluate(t, step, &rng))
            return 1;
    }
    int rc = evt_log_run_end(t);
    return rc == EVT_OK ? 0 : fail(t, "run_end", rc);
}

/* ---- open, report, close ------------------------------------------------- */

static const char default_config[] =
    "{\"version\": 1, \"output_dir\": \".\", \"sinks\": ["
    " {\"plugin\": \"tensorboard-events\", \"config\": {\"logdir\": \"tb\"}},"
    " {\"plugin\": \"jsonl\"}]}";

static int open_tracker(const struct opts *o, evt_tracker **t)
{
    char err[EVT_ERRMSG_SIZE];
    int rc = o->config ? evt_open_file(o->config, t, err, sizeof err)
                       : evt_open_json(default_config, o->out, t, err,
                                       sizeof err);
    if (rc != EVT_OK)
        fprintf(stderr, "train_loop: %s\n", err);
    return rc;
}

static int report(evt_tracker *t)
{
    struct evt_sink_stats st[8];
    size_t n = evt_stats(t, st, 8);
    int bad = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        printf("sink %-20s written %llu, dead-lettered %llu%s\n", st[i].name,
               (unsigned long long)st[i].written,
               (unsigned long long)st[i].dead_lettered,
               st[i].enabled ? "" : " (disabled)");
        bad |= !st[i].enabled || st[i].dead_lettered > 0;
    }
    return bad;
}

/* ---- options --------------------------------------------------------------- */

static int parse_long(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){"train-loop-out", NULL, 1000, 200, 10, 1};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;
        if (strcmp(a, "-o") == 0 && v)
            o->out = v;
        else if (strcmp(a, "-c") == 0 && v)
            o->config = v;
        else if (strcmp(a, "--steps") == 0 && !parse_long(v, 1, &n))
            o->steps = n;
        else if (strcmp(a, "--eval-every") == 0 && !parse_long(v, 1, &n))
            o->eval_every = n;
        else if (strcmp(a, "--log-every") == 0 && !parse_long(v, 1, &n))
            o->log_every = n;
        else if (strcmp(a, "--seed") == 0 && !parse_long(v, 0, &n))
            o->seed = (uint64_t)n;
        else {
            fprintf(stderr, "usage: %s [-o DIR] [-c CONFIG] [--steps N] "
                            "[--eval-every K] [--log-every L] [--seed S]\n",
                    argv[0]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    evt_tracker *t;
    if (parse_opts(argc, argv, &o) || open_tracker(&o, &t) != EVT_OK)
        return 2;
    printf("run %s: %ld steps, evaluating every %ld\n", evt_run_id(t),
           o.steps, o.eval_every);
    int bad = log_start(t, &o) || train(t, &o);
    int rc = evt_flush(t, CLOSE_TIMEOUT_MS);
    if (rc != EVT_OK)
        bad |= fail(t, "flush", rc);
    bad |= report(t);
    rc = evt_close(t, CLOSE_TIMEOUT_MS);
    if (rc != EVT_OK) {
        fprintf(stderr, "train_loop: close: %s\n", evt_status_name(rc));
        bad = 1;
    }
    if (!o.config)
        printf("TensorBoard: tensorboard --logdir %s/tb\n", o.out);
    return bad ? 1 : 0;
}
