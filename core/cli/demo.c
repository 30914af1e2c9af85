/* demo.c -- `evtrack demo`: a small simulated evaluation, recorded the way
 * a C harness would record it, through the sinks of a built-in config.
 *
 * The model "evtrack/demo-model" answers three synthetic tasks whose
 * ground truth is computed (which number is the largest, is n prime, what
 * is a + b * c). Its answers are drawn from a seeded generator, so a seed
 * always gives the same samples and the same results. The run sends
 * run_start, one task_config per task and group, the samples (C builder),
 * the aggregated results with their standard errors (lm-eval's formulas),
 * and run_end. Then it prints where each sink wrote its files and each
 * sink's counters. docs/DEMO.md describes what is written. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"

#include "demo.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define DEMO_DEFAULT_DIR "./evtrack-demo"
#define DEMO_CONFIG_FILE "evtrack-demo.json"
#define DEMO_MODEL "evtrack/demo-model"
#define DEMO_DEFAULT_SAMPLES 1000
#define DEMO_MIN_SAMPLES 10
#define DEMO_MAX_SAMPLES 10000000
#define DEMO_DEFAULT_SEED 1234
#define DEMO_TIMEOUT_MS 120000
#define DEMO_MAX_SINKS 64
#define DEMO_WALK_DEPTH 4
#define DEMO_LABEL_WIDTH 11 /* the longest label, "tensorboard" */

#define TB_PLUGIN "tensorboard-events"
#define TB_FILE_PREFIX "events.out.tfevents."

/* The built-in config, written as <DIR>/evtrack-demo.json and opened with
 * DIR as its folder: "output_dir": "." is the folder of that file, so
 * `evtrack demo -c DIR/evtrack-demo.json` writes to the same place. */
static const char demo_config[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"output_dir\": \".\",\n"
    "  \"sinks\": [\n"
    "    {\n"
    "      \"plugin\": \"local-json\",\n"
    "      \"config\": { \"layout\": \"lmms-eval\" }\n"
    "    },\n"
    "    {\n"
    "      \"plugin\": \"jsonl\",\n"
    "      \"config\": { \"layout\": \"lmms-eval\" }\n"
    "    },\n"
    "    {\n"
    "      \"plugin\": \"markdown-table\",\n"
    "      \"config\": { \"style\": \"lmms-eval\", \"stdout\": true, "
    "\"file\": true }\n"
    "    },\n"
    "    {\n"
    "      \"plugin\": \"" TB_PLUGIN "\",\n"
    "      \"config\": { \"logdir\": \"tb\", \"run_name\": \"{run_id}\" }\n"
    "    }\n"
    "  ]\n"
    "}\n";

static const char usage_demo[] =
    "usage: evtrack demo [-c CONFIG] [-o DIR] [--samples N] [--seed S]\n"
    "\n"
    "Run a small simulated evaluation (no network, no account): the model\n"
    "\"" DEMO_MODEL "\" on the group demo_group (demo_mcq, demo_yesno)\n"
    "and on demo_math (filters strict-match and flexible-extract). Every\n"
    "sample, result and the run's metadata go through the sinks of the\n"
    "built-in config: local-json (results file), jsonl (samples files),\n"
    "markdown-table (the table, printed and written), tensorboard-events\n"
    "(TensorBoard event file, in DIR/tb). Then print where the files are,\n"
    "how to view them in TensorBoard, and each sink's counters. See\n"
    "docs/DEMO.md.\n"
    "\n"
    "options:\n"
    "  -o DIR         output folder (default " DEMO_DEFAULT_DIR "; the\n"
    "                 built-in config is written there as " DEMO_CONFIG_FILE
    ")\n"
    "  -c CONFIG      use CONFIG instead of the built-in config; its\n"
    "                 output_dir is used unless -o is given\n"
    "  --samples N    sample records in all tasks (default 1000, 10 to\n"
    "                 10000000)\n"
    "  --seed S       seed of the simulation (default 1234); a seed always\n"
    "                 gives the same samples and results\n"
    "  -h, --help     show this help\n"
    "\n"
    "exit codes: 0 ok, 1 a sink failed (dead letters, disabled) or the run\n"
    "failed, 2 usage or config error\n";

/* ---- small helpers ------------------------------------------------------*/

__attribute__((format(printf, 1, 2))) static char *str_fmt(const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* path as seen from base (NULL or "": the current folder). Heap. */
static char *resolve(const char *base, const char *path)
{
    if (path[0] == '/' || !base || !base[0])
        return strdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (strcmp(path, ".") == 0 || path[0] == '\0')
        return strdup(base);
    return str_fmt("%s/%s", base, path);
}

/* dir without its trailing slashes (except a lone "/"). Heap. */
static char *trim_slashes(const char *dir)
{
    char *s = strdup(dir);
    size_t n = s ? strlen(s) : 0;
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

/* The folder part of a file path ("." when it has none). Heap. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return str_fmt("%.*s", (int)(slash - path), path);
}

/* The whole file as a NUL-terminated heap string, or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 < cap)
            continue;
        char *p = realloc(buf, cap * 2);
        if (!p)
            free(buf);
        buf = p;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* ---- options ------------------------------------------------------------*/

struct demo_opts {
    const char *config; /* -c, or NULL for the built-in config */
    const char *out;    /* -o, or NULL */
    long samples;
    uint64_t seed;
};

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

/* A decimal integer in [lo, hi], nothing else; 0, or -1. */
static int parse_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1; /* no sign, no space: strtoull would accept them */
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "evtrack demo: %s \"%s\"\n\n%s", what, arg, usage_demo);
    return -1;
}

/* One option and its value into o; 0, or -1 (message printed). */
static int take_option(const char *opt, const char *val, struct demo_opts *o)
{
    uint64_t v = 0;
    if (strcmp(opt, "-c") == 0 && val[0])
        o->config = val;
    else if (strcmp(opt, "-o") == 0 && val[0])
        o->out = val;
    else if (strcmp(opt, "--samples") == 0) {
        if (parse_num(val, DEMO_MIN_SAMPLES, DEMO_MAX_SAMPLES, &v) != 0)
            return bad_usage("--samples: expected 10 to 10000000, got", val);
        o->samples = (long)v;
    } else if (strcmp(opt, "--seed") == 0) {
        if (parse_num(val, 0, INT64_MAX, &v) != 0)
            return bad_usage("--seed: expected 0 to 2^63-1, got", val);
        o->seed = v;
    } else if (strcmp(opt, "-c") == 0 || strcmp(opt, "-o") == 0)
        return bad_usage("empty value for", opt);
    else
        return bad_usage("unknown option", opt);
    return 0;
}

static int parse_opts(int argc, char **argv, struct demo_opts *o)
{
    *o = (struct demo_opts){NULL, NULL, DEMO_DEFAULT_SAMPLES,
                            DEMO_DEFAULT_SEED};
    for (int i = 0; i < argc; i += 2) {
        if (i + 1 >= argc) {
            int known = strcmp(argv[i], "-c") == 0 ||
                        strcmp(argv[i], "-o") == 0 ||
                        strcmp(argv[i], "--samples") == 0 ||
                        strcmp(argv[i], "--seed") == 0;
            return bad_usage(known ? "missing value after" : "unknown option",
                             argv[i]);
        }
        if (take_option(argv[i], argv[i + 1], o) != 0)
            return -1;
    }
    return 0;
}

/* ---- the simulated model ------------------------------------------------*/

/* splitmix64: small, fast and the same on every platform. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(struct rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static int rng_range(struct rng *r, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* One document, its prompt and the model's raw answer. */
struct doc {
    char doc[512];     /* the document as JSON, indent 2 (for doc_hash) */
    char target[32];   /* gold answer */
    char context[512]; /* the prompt: arguments[0], the samples' "input" */
    char resp[192];    /* the generation */
};

/* demo_mcq: which of four numbers is the largest (or smallest). */
static void gen_mcq(struct rng *r, struct doc *d)
{
    int v[4], best = 0, largest = rng_unit(r) < 0.5;
    for (int i = 0; i < 4; i++) {
        int dup;
        do {
            v[i] = rng_range(r, 10, 99);
            dup = 0;
            for (int j = 0; j < i; j++)
                dup |= v[j] == v[i];
        } while (dup);
        if (i && (largest ? v[i] > v[best] : v[i] < v[best]))
            best = i;
    }
    int answer = rng_unit(r) < 0.72 ? best : (best + rng_range(r, 1, 3)) % 4;
    const char *which = largest ? "largest" : "smallest";
    snprintf(d->target, sizeof d->target, "%c", 'A' + best);
    snprintf(d->resp, sizeof d->resp, "%c", 'A' + answer);
    snprintf(d->context, sizeof d->context,
             "Which number is the %s?\nA. %d\nB. %d\nC. %d\nD. %d\n"
             "Answer with the option's letter from the given choices "
             "directly.", which, v[0], v[1], v[2], v[3]);
    snprintf(d->doc, sizeof d->doc,
             "{\n  \"question\": \"Which number is the %s?\",\n"
             "  \"choices\": [\n    %d,\n    %d,\n    %d,\n    %d\n  ],\n"
             "  \"answer\": \"%c\"\n}", which, v[0], v[1], v[2], v[3],
             'A' + best);
}

static int is_prime(int n)
{
    if (n < 2)
        return 0;
    for (int k = 2; k * k <= n; k++)
        if (n % k == 0)
            return 0;
    return 1;
}

/* demo_yesno: is n a prime number. */
static void gen_yesno(struct rng *r, struct doc *d)
{
    int n = rng_range(r, 2, 200), yes = is_prime(n);
    int say_yes = rng_unit(r) < 0.81 ? yes : !yes;
    snprintf(d->target, sizeof d->target, "%s", yes ? "Yes" : "No");
    snprintf(d->resp, sizeof d->resp, "%s", say_yes ? "Yes" : "No");
    snprintf(d->context, sizeof d->context,
             "Is %d a prime number?\nAnswer the question using a single "
             "word or phrase.", n);
    snprintf(d->doc, sizeof d->doc,
             "{\n  \"question\": \"Is %d a prime number?\",\n"
             "  \"answer\": \"%s\"\n}", n, d->target);
}

/* demo_math: a + b * c, worked out in a sentence. A quarter of the
 * answers miss the "The answer is N." format that strict-match needs. */
static void gen_math(struct rng *r, struct doc *d)
{
    int a = rng_range(r, 1, 50), b = rng_range(r, 2, 12),
        c = rng_range(r, 2, 12), gold = a + b * c, got = gold;
    if (rng_unit(r) >= 0.55)
        got += rng_range(r, 0, 1) ? rng_range(r, 1, 9) : -rng_range(r, 1, 9);
    if (rng_unit(r) < 0.75)
        snprintf(d->resp, sizeof d->resp,
                 "%d * %d = %d, and %d + %d = %d. The answer is %d.", b, c,
                 b * c, a, b * c, got, got);
    else
        snprintf(d->resp, sizeof d->resp,
                 "%d * %d = %d, so adding %d gives %d", b, c, b * c, a, got);
    snprintf(d->target, sizeof d->target, "%d", gold);
    snprintf(d->context, sizeof d->context,
             "Question: What is %d + %d * %d?\nAnswer:", a, b, c);
    snprintf(d->doc, sizeof d->doc,
             "{\n  \"question\": \"What is %d + %d * %d?\",\n"
             "  \"answer\": %d\n}", a, b, c, gold);
}

/* ---- filters: the raw generation to the answer that is scored -----------*/

typedef void (*filter_fn)(const char *resp, char *out, size_t cap);

static void filter_none(const char *resp, char *out, size_t cap)
{
    snprintf(out, cap, "%s", resp);
}

/* The number that starts at s ("-" and digits), or "[invalid]". */
static void take_number(const char *s, char *out, size_t cap)
{
    size_t n = s[0] == '-';
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || (n == 1 && s[0] == '-'))
        snprintf(out, cap, "[invalid]");
    else
        snprintf(out, cap, "%.*s", (int)n, s);
}

/* lm-eval gsm8k's strict-match: the number after "The answer is ". */
static void filter_strict(const char *resp, char *out, size_t cap)
{
    static const char mark[] = "The answer is ";
    const char *p = strstr(resp, mark);
    take_number(p ? p + sizeof mark - 1 : "", out, cap);
}

/* flexible-extract: the last number in the text. */
static void filter_flexible(const char *resp, char *out, size_t cap)
{
    const char *last = "";
    for (const char *p = resp; *p; p++)
        if (*p >= '0' && *p <= '9' && (p == resp || p[-1] < '0' ||
                                       p[-1] > '9'))
            last = p > resp && p[-1] == '-' ? p - 1 : p;
    take_number(last, out, cap);
}

/* ---- the tasks ----------------------------------------------------------*/

struct demo_filter {
    const char *name;
    filter_fn fn;
};

struct demo_task {
    const char *name, *alias, *group, *metric;
    int version, n_shot, max_new_tokens;
    void (*gen)(struct rng *r, struct doc *d);
    const struct demo_filter *filters;
    size_t nfilters;
    const char *filter_list; /* the task config's filter_list, JSON */
};

static const struct demo_filter filters_none[] = {{"none", filter_none}};
static const struct demo_filter filters_math[] = {
    {"strict-match", filter_strict}, {"flexible-extract", filter_flexible}};

#define DEMO_NTASKS 3
#define DEMO_GROUP "demo_group"

static const struct demo_task demo_tasks[DEMO_NTASKS] = {
    {"demo_mcq", " - demo_mcq", DEMO_GROUP, "acc", 1, 0, 8, gen_mcq,
     filters_none, 1, "[{\"name\": \"none\", \"filter\": [{\"function\": "
                      "\"take_first\"}]}]"},
    {"demo_yesno", " - demo_yesno", DEMO_GROUP, "acc", 1, 0, 8, gen_yesno,
     filters_none, 1, "[{\"name\": \"none\", \"filter\": [{\"function\": "
                      "\"take_first\"}]}]"},
    {"demo_math", "demo_math", NULL, "exact_match", 2, 0, 64, gen_math,
     filters_math, 2,
     "[{\"name\": \"strict-match\", \"filter\": [{\"function\": \"regex\", "
     "\"regex_pattern\": \"The answer is (\\\\-?[0-9]+).\"}, "
     "{\"function\": \"take_first\"}]}, {\"name\": \"flexible-extract\", "
     "\"filter\": [{\"function\": \"regex\", \"group_select\": -1, "
     "\"regex_pattern\": \"(-?[0-9]+)\"}, {\"function\": "
     "\"take_first\"}]}]"},
};

/* Running mean and sample variance of one (task, filter)'s scores. */
struct acc {
    double sum, sumsq;
    long n;
};

static double acc_mean(const struct acc *a)
{
    return a->n ? a->sum / (double)a->n : NAN;
}

/* lm-eval's mean_stderr: sample standard deviation / sqrt(n). */
static double acc_stderr(const struct acc *a)
{
    if (a->n < 2)
        return NAN;
    double m = acc_mean(a);
    double var = (a->sumsq - (double)a->n * m * m) / (double)(a->n - 1);
    return sqrt(var > 0 ? var : 0) / sqrt((double)a->n);
}

struct sim {
    const struct demo_opts *o;
    long docs[DEMO_NTASKS];
    struct acc acc[DEMO_NTASKS][2];
    long done;     /* sample events sent */
    int progress;  /* last percentage shown, -1: no progress line */
    int failed;    /* an event was refused */
};

/* Sample records: 2/5 demo_mcq, 3/10 demo_math (two per doc, one per
 * filter), the rest demo_yesno; every task gets at least one doc. */
static void plan_docs(struct sim *s, long samples)
{
    s->docs[2] = samples * 3 / 20 > 0 ? samples * 3 / 20 : 1;
    s->docs[0] = samples * 2 / 5;
    s->docs[1] = samples - s->docs[0] - 2 * s->docs[2];
}

/* ---- events -------------------------------------------------------------*/

/* rc of a logging call; prints the tracker's message on failure. */
static int check(evt_tracker *t, int rc, const char *what)
{
    if (rc != EVT_OK) {
        char msg[EVT_ERRMSG_SIZE];
        if (evt_last_error(t, msg, sizeof msg) == 0)
            snprintf(msg, sizeof msg, "%s", evt_status_name(rc));
        fprintf(stderr, "evtrack demo: %s: %s\n", what, msg);
    }
    return rc;
}

static int log_run_start(evt_tracker *t, const struct demo_opts *o)
{
    evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
    evt_str(e, "model_source", "demo");
    evt_str(e, "model_name", DEMO_MODEL);
    evt_str(e, "model_args", "pretrained=" DEMO_MODEL);
    evt_map_begin(e, "config");
    evt_str(e, "model", "demo");
    evt_str(e, "model_args", "pretrained=" DEMO_MODEL);
    evt_int(e, "batch_size", 1);
    evt_str(e, "device", "cpu");
    evt_null(e, "limit");
    evt_int(e, "samples", o->samples);
    evt_int(e, "random_seed", (int64_t)o->seed);
    evt_map_end(e);
    evt_int(e, "rank", 0);
    evt_int(e, "world_size", 1);
    /* No "date": the sinks then name their files with the run stamp,
     * which is unique per output folder. */
    return check(t, e ? evt_commit(e) : EVT_ENOMEM, "run_start");
}

static int log_group_config(evt_tracker *t)
{
    return check(t, evt_log_json(t, EVT_EV_TASK_CONFIG,
        "{\"task\": \"" DEMO_GROUP "\", \"alias\": \"" DEMO_GROUP "\", "
        "\"version\": 1, \"n-shot\": 0, \"higher_is_better\": "
        "{\"acc\": true}, \"groups\": [], "
        "\"subtasks\": [\"demo_mcq\", \"demo_yesno\"]}"),
        "task_config " DEMO_GROUP);
}

static int log_task_config(evt_tracker *t, const struct demo_task *k,
                           long docs)
{
    char json[2048];
    int n = snprintf(json, sizeof json,
        "{\"task\": \"%s\", \"alias\": \"%s\", \"version\": %d, "
        "\"n-shot\": %d, \"higher_is_better\": {\"%s\": true}, "
        "\"n-samples\": {\"original\": %ld, \"effective\": %ld}, "
        "\"groups\": [%s%s%s], \"config\": {\"task\": \"%s\", %s%s%s"
        "\"dataset_path\": \"evtrack/demo\", \"test_split\": \"test\", "
        "\"output_type\": \"generate_until\", \"num_fewshot\": %d, "
        "\"generation_kwargs\": {\"max_new_tokens\": %d, "
        "\"temperature\": 0.0, \"do_sample\": false}, \"metric_list\": "
        "[{\"metric\": \"%s\", \"aggregation\": \"mean\", "
        "\"higher_is_better\": true}], \"filter_list\": %s, "
        "\"metadata\": {\"version\": %d}}}",
        k->name, k->alias, k->version, k->n_shot, k->metric, docs, docs,
        k->group ? "\"" : "", k->group ? k->group : "", k->group ? "\"" : "",
        k->name, k->group ? "\"tag\": \"" : "", k->group ? k->group : "",
        k->group ? "\", " : "", k->n_shot, k->max_new_tokens, k->metric,
        k->filter_list, k->version);
    if (n < 0 || (size_t)n >= sizeof json)
        return check(t, EVT_EINVAL, "task_config too long");
    return check(t, evt_log_json(t, EVT_EV_TASK_CONFIG, json), "task_config");
}

/* arguments: [context, gen_kwargs], as lmms-eval records generate_until. */
static void put_arguments(evt_ev *e, const char *context, int max_new)
{
    evt_array_begin(e, "arguments");
    evt_str(e, NULL, context);
    evt_map_begin(e, NULL);
    evt_int(e, "max_new_tokens", max_new);
    evt_double(e, "temperature", 0.0);
    evt_bool(e, "do_sample", 0);
    evt_map_end(e);
    evt_array_end(e);
}

/* resps [[raw]] (one request, one repeat), filtered_resps [filtered]. */
static void put_resps(evt_ev *e, const char *raw, const char *filtered)
{
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, raw);
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, filtered);
    evt_array_end(e);
}

static int words(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == ' ';
    return n;
}

/* One sample event: one (doc, filter). */
static int log_sample(evt_tracker *t, const struct demo_task *k, long doc_id,
                      const struct doc *d, size_t f, const char *filtered,
                      double score)
{
    char hash[65];
    evt_results_sha256_hex(d->doc, strlen(d->doc), hash);
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", k->name);
    evt_int(e, "doc_id", doc_id);
    evt_json(e, "doc", d->doc);
    evt_str(e, "target", d->target);
    put_arguments(e, d->context, k->max_new_tokens);
    put_resps(e, d->resp, filtered);
    evt_str(e, "filter", k->filters[f].name);
    evt_array_begin(e, "token_counts");
    evt_map_begin(e, NULL);
    evt_int(e, "output_tokens", words(d->resp));
    evt_map_end(e);
    evt_array_end(e);
    evt_str(e, "doc_hash", hash);
    evt_map_begin(e, "metrics");
    evt_double(e, k->metric, score);
    evt_map_end(e);
    return check(t, e ? evt_commit(e) : EVT_ENOMEM, "sample");
}

/* "\r" progress on stderr, redrawn when the percentage changes. */
static void progress(struct sim *s)
{
    s->done++;
    if (s->progress < 0)
        return;
    int pct = (int)(s->done * 100 / s->o->samples);
    if (pct == s->progress)
        return;
    s->progress = pct;
    fprintf(stderr, "\revtrack demo: %ld/%ld samples (%d%%)", s->done,
            s->o->samples, pct);
    if (s->done == s->o->samples)
        fputc('\n', stderr);
    fflush(stderr);
}

static int run_task(evt_tracker *t, struct sim *s, size_t ti)
{
    const struct demo_task *k = &demo_tasks[ti];
    struct rng r = {s->o->seed ^ (0xa0761d6478bd642full * (ti + 1))};
    for (long i = 0; i < s->docs[ti]; i++) {
        struct doc d;
        k->gen(&r, &d);
        for (size_t f = 0; f < k->nfilters; f++) {
            char filtered[64];
            k->filters[f].fn(d.resp, filtered, sizeof filtered);
            double score = strcmp(filtered, d.target) == 0 ? 1.0 : 0.0;
            struct acc *a = &s->acc[ti][f];
            a->sum += score;
            a->sumsq += score * score;
            a->n++;
            if (log_sample(t, k, i, &d, f, filtered, score) != EVT_OK)
                return -1;
            progress(s);
        }
    }
    return 0;
}

/* lm-eval's group aggregation: the mean weighted by size and the pooled
 * sample standard error (aggregate_subtask_metrics, pooled_sample_stderr). */
static int log_group_result(evt_tracker *t, const struct sim *s)
{
    double sum = 0, var = 0, n = 0, tasks = 0;
    for (size_t ti = 0; ti < DEMO_NTASKS; ti++) {
        if (!demo_tasks[ti].group)
            continue;
        const struct acc *a = &s->acc[ti][0];
        double se = acc_stderr(a), sz = (double)a->n;
        sum += acc_mean(a) * sz;
        var += (sz - 1) * se * se * sz;
        n += sz;
        tasks++;
    }
    double pooled = sqrt(var / (n - tasks) / n);
    return check(t, evt_log_result(t, DEMO_GROUP, "acc", "none", sum / n,
                                   pooled, -1), "result " DEMO_GROUP);
}

static int log_results(evt_tracker *t, const struct sim *s)
{
    for (size_t ti = 0; ti < DEMO_NTASKS; ti++) {
        const struct demo_task *k = &demo_tasks[ti];
        for (size_t f = 0; f < k->nfilters; f++) {
            const struct acc *a = &s->acc[ti][f];
            if (check(t, evt_log_result(t, k->name, k->metric,
                                        k->filters[f].name, acc_mean(a),
                                        acc_stderr(a), -1),
                      "result") != EVT_OK)
                return -1;
        }
        if (ti == 1 && log_group_result(t, s) != EVT_OK)
            return -1; /* after its two subtasks */
    }
    return 0;
}

/* The whole run: run_start, task configs, samples, results, run_end.
 * 0, or -1 when an event was refused (message printed). */
static int simulate(evt_tracker *t, const struct demo_opts *o)
{
    struct sim s = {.o = o, .progress = isatty(STDERR_FILENO) ? 0 : -1};
    plan_docs(&s, o->samples);
    if (log_run_start(t, o) != EVT_OK || log_group_config(t) != EVT_OK)
        return -1;
    for (size_t ti = 0; ti < DEMO_NTASKS; ti++)
        if (log_task_config(t, &demo_tasks[ti], s.docs[ti]) != EVT_OK)
            return -1;
    for (size_t ti = 0; ti < DEMO_NTASKS; ti++)
        if (run_task(t, &s, ti) != 0)
            return -1;
    if (log_results(t, &s) != 0)
        return -1;
    return check(t, evt_log_run_end(t), "run_end") == EVT_OK ? 0 : -1;
}

/* ---- config and folders -------------------------------------------------*/

/* A tensorboard-events sink of the config. */
struct tb_sink {
    char *logdir;   /* its logdir as shown (NULL: unknown, ${...}) */
    char *run_name; /* its run_name template */
};

struct demo_run {
    char *out;      /* the output folder, as shown (NULL: unknown) */
    char *state;    /* its state folder (NULL: unknown) */
    char *copy;     /* <out>/evtrack-demo.json, when written */
    char *json;     /* -c with -o: the config text to open, else NULL */
    char *base;     /* -c: the config's folder */
    char stamp[64]; /* this run's file-name stamp, "" when unknown */
    char run_id[80];    /* this run's id, "" when unknown */
    time_t opened;      /* the time just before the tracker opened */
    struct tb_sink *tb; /* the config's tensorboard-events sinks */
    size_t ntb;
};

static void run_free(struct demo_run *r)
{
    free(r->out);
    free(r->state);
    free(r->copy);
    free(r->json);
    free(r->base);
    for (size_t i = 0; i < r->ntb; i++) {
        free(r->tb[i].logdir);
        free(r->tb[i].run_name);
    }
    free(r->tb);
}

/* A path taken from a config, resolved like the core does; NULL when it
 * uses ${...} (the core expands it, we do not guess). */
static char *config_path(const char *base, const cJSON *v, const char *dflt)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : dflt;
    if (!s || strstr(s, "${"))
        return NULL;
    char *p = resolve(base, s), *q = p ? trim_slashes(p) : NULL;
    free(p);
    return q;
}

/* Absolute form of a path relative to the current folder. Heap. */
static char *absolute(const char *path)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        return strdup(path);
    return str_fmt("%s/%s", cwd, path);
}

/* A sink entry that runs tensorboard-events: "plugin", or a "path" to
 * its .so; not "enabled": false. */
static int is_tb_sink(const cJSON *sink)
{
    const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(sink, "plugin");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(sink, "path");
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(sink, "enabled")))
        return 0;
    if (cJSON_IsString(plugin))
        return strcmp(plugin->valuestring, TB_PLUGIN) == 0;
    if (!cJSON_IsString(path))
        return 0;
    const char *file = strrchr(path->valuestring, '/');
    return strcmp(file ? file + 1 : path->valuestring,
                  "evtrack-sink-" TB_PLUGIN ".so") == 0;
}

/* The tensorboard-events sinks of a config into r->tb, with their logdir
 * resolved as the sink does (under the output folder unless absolute;
 * "" is the output folder itself). Call once r->out is known. */
static void find_tb_sinks(const cJSON *root, struct demo_run *r)
{
    const cJSON *sinks = cJSON_GetObjectItemCaseSensitive(root, "sinks");
    const cJSON *sink;
    cJSON_ArrayForEach(sink, sinks)
    {
        if (!cJSON_IsObject(sink) || !is_tb_sink(sink))
            continue;
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(sink, "config");
        const cJSON *dir = cJSON_GetObjectItemCaseSensitive(cfg, "logdir");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cfg, "run_name");
        const char *d = cJSON_IsString(dir) ? dir->valuestring : "tb";
        const char *n = cJSON_IsString(name) ? name->valuestring
                                             : "{run_id}";
        struct tb_sink *v = realloc(r->tb, (r->ntb + 1) * sizeof *v);
        if (!v)
            return;
        r->tb = v;
        v[r->ntb].logdir = (d[0] == '/' || r->out) && !strstr(n, "${")
                               ? config_path(r->out, dir, "tb")
                               : NULL;
        v[r->ntb].run_name = strdup(n);
        if (!v[r->ntb].run_name) {
            free(v[r->ntb].logdir);
            return;
        }
        r->ntb++;
    }
}

/* -c CONFIG: its output_dir (or -o) and state_dir. With -o the config is
 * opened as text with output_dir replaced. 0, or the exit code. */
static int prepare_user(const struct demo_opts *o, struct demo_run *r)
{
    char *text = read_text(o->config);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    r->base = folder_of(o->config);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return 0; /* evt_open_file reports what is wrong */
    }
    r->out = o->out ? trim_slashes(o->out)
                    : config_path(r->base, cJSON_GetObjectItemCaseSensitive(
                                               root, "output_dir"),
                                  "eval_results");
    if (o->out) {
        char *abs = absolute(o->out);
        cJSON_DeleteItemFromObjectCaseSensitive(root, "output_dir");
        cJSON_AddStringToObject(root, "output_dir", abs ? abs : o->out);
        free(abs);
        r->json = cJSON_Print(root);
    }
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(root, "state_dir");
    if (sd)
        r->state = config_path(r->base, sd, NULL);
    else if (r->out)
        r->state = str_fmt("%s/.evtrack", r->out);
    find_tb_sinks(root, r);
    cJSON_Delete(root);
    return 0;
}

/* The built-in config: create DIR and write the config into it; the run
 * opens that file, so errors name it. */
static int prepare_builtin(const struct demo_opts *o, struct demo_run *r)
{
    char err[512];
    r->out = trim_slashes(o->out ? o->out : DEMO_DEFAULT_DIR);
    r->state = r->out ? str_fmt("%s/.evtrack", r->out) : NULL;
    r->copy = r->out ? str_fmt("%s/%s", r->out, DEMO_CONFIG_FILE) : NULL;
    if (!r->state || !r->copy) {
        fprintf(stderr, "evtrack demo: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (evt_mkdirs(r->out, err, sizeof err) != 0 ||
        evt_write_file_atomic(r->copy, demo_config, strlen(demo_config), err,
                              sizeof err) != 0) {
        fprintf(stderr, "evtrack demo: %s\n", err);
        return EXIT_RUNTIME;
    }
    cJSON *root = cJSON_Parse(demo_config);
    find_tb_sinks(root, r);
    cJSON_Delete(root);
    return 0;
}

/* Names in a folder (none when it does not exist). */
struct names {
    char **v;
    size_t n, cap;
};

static int names_add(struct names *s, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name)))
        return -1;
    s->n++;
    return 0;
}

static void names_free(struct names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (struct names){0};
}

static void list_names(const char *dir, struct names *out)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            names_add(out, de->d_name);
    if (d)
        closedir(d);
}

/* Open the tracker of r (or of -c CONFIG); the exit code on failure. */
static int open_tracker(const struct demo_opts *o, struct demo_run *r,
                        evt_tracker **t)
{
    char err[EVT_ERRMSG_SIZE];
    r->opened = time(NULL);
    int rc = r->json ? evt_open_json(r->json, r->base, t, err, sizeof err)
                     : evt_open_file(r->copy ? r->copy : o->config, t, err,
                                     sizeof err);
    if (rc == EVT_OK) {
        snprintf(r->stamp, sizeof r->stamp, "%s", evt_run_stamp(*t));
        snprintf(r->run_id, sizeof r->run_id, "%s", evt_run_id(*t));
        return 0;
    }
    /* -c with -o opens the edited text: name the file, not "<config>" */
    size_t k = strlen("<config>");
    if (r->json && strncmp(err, "<config>", k) == 0)
        fprintf(stderr, "evtrack demo: %s%s\n", o->config, err + k);
    else
        fprintf(stderr, "evtrack demo: %s\n", err);
    return rc == EVT_ECONFIG || rc == EVT_EABI ? EXIT_USAGE : EXIT_RUNTIME;
}

/* ---- the report ---------------------------------------------------------*/

/* name holds the stamp as a whole token: at the start or after '_', and
 * followed by '.' or by '_' and a non-digit ("X_2" is another run's). */
static int has_stamp(const char *name, const char *stamp)
{
    size_t n = strlen(stamp);
    for (const char *p = strstr(name, stamp); p; p = strstr(p + 1, stamp)) {
        const char *after = p + n;
        int start = p == name || p[-1] == '_';
        int end = *after == '.' ||
                  (*after == '_' && (after[1] < '0' || after[1] > '9'));
        if (start && end)
            return 1;
    }
    return 0;
}

/* Regular files under dir (not in dot folders) that carry the stamp. */
static void walk(const char *dir, int depth, const char *stamp,
                 struct names *found)
{
    struct names here = {0};
    list_names(dir, &here);
    for (size_t i = 0; i < here.n; i++) {
        char *p = str_fmt("%s/%s", dir, here.v[i]);
        struct stat st;
        if (p && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth > 0)
                walk(p, depth - 1, stamp, found);
            else if (S_ISREG(st.st_mode) && has_stamp(here.v[i], stamp) &&
                     strncmp(here.v[i], TB_FILE_PREFIX,
                             strlen(TB_FILE_PREFIX)) != 0)
                names_add(found, p);
        }
        free(p);
    }
    names_free(&here);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = 0;
    int c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* 0 results, 1 samples, 2 table, 3 anything else. */
static int file_kind(const char *path)
{
    if (ends_with(path, ".json"))
        return 0;
    if (ends_with(path, ".jsonl"))
        return 1;
    return ends_with(path, ".md") ? 2 : 3;
}

/* s as one shell word: as it is when every character is safe, else in
 * single quotes. Heap. */
static char *shell_word(const char *s)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                               "qrstuvwxyz0123456789_-./+,:@%=";
    if (s[0] && strspn(s, safe) == strlen(s))
        return strdup(s);
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *q = malloc(n), *o = q;
    if (!q)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else
            *o++ = *p;
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* The files found of kinds first..last: results, samples, table, others. */
static void print_found(const struct names *found, int first, int last)
{
    static const char *const label[] = {"results", "samples", "table",
                                        "file"};
    for (int kind = first; kind <= last; kind++)
        for (size_t i = 0; i < found->n; i++) {
            const char *p = found->v[i];
            if (file_kind(p) != kind)
                continue;
            printf("  %-*s %s", DEMO_LABEL_WIDTH, label[kind], p);
            if (kind == 1)
                printf(" (%ld lines)", count_lines(p));
            putchar('\n');
        }
}

/* The run's folder of a tensorboard-events sink, as tb_runs.c makes it:
 * <logdir>/<run_name with {run_id} replaced, made one safe component>, or
 * logdir itself when run_name is "". Heap. */
static char *tb_run_dir(const struct tb_sink *s, const char *run_id)
{
    static const char key[] = "{run_id}";
    const size_t k = sizeof key - 1;
    if (!s->run_name[0])
        return strdup(s->logdir);
    size_t hits = 0;
    for (const char *p = strstr(s->run_name, key); p; p = strstr(p + k, key))
        hits++;
    char *name = malloc(strlen(s->run_name) + hits * strlen(run_id) + 1);
    if (!name)
        return NULL;
    char *o = name;
    for (const char *p = s->run_name; *p;) {
        if (strncmp(p, key, k) == 0) {
            memcpy(o, run_id, strlen(run_id));
            o += strlen(run_id);
            p += k;
        } else
            *o++ = *p++;
    }
    *o = '\0';
    char *safe = evt_safe_component(name, strlen(name), 200);
    char *dir = safe ? evt_path_join(s->logdir, safe) : NULL;
    free(name);
    free(safe);
    return dir;
}

static int all_digits(const char *s, const char *end)
{
    if (s >= end)
        return 0;
    for (; s < end; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* name is "events.out.tfevents.<secs>.<host>.<pid>.<n>" of a file that
 * this process (the sink runs in it) created at or after since. The host
 * may hold dots: pid and n are read from the end. */
static int is_run_events_file(const char *name, time_t since)
{
    const size_t k = strlen(TB_FILE_PREFIX);
    if (strncmp(name, TB_FILE_PREFIX, k) != 0)
        return 0;
    const char *secs = name + k, *host = strchr(secs, '.');
    const char *n = strrchr(name, '.');
    if (!host || !all_digits(secs, host) || !all_digits(n + 1, n + strlen(n)))
        return 0;
    const char *pid = n;
    while (pid > host && pid[-1] != '.')
        pid--;
    char mine[32];
    int len = snprintf(mine, sizeof mine, "%ld", (long)getpid());
    if (pid - 1 <= host + 1 || n - pid != len ||
        strncmp(pid, mine, (size_t)len) != 0)
        return 0;
    return strtoll(secs, NULL, 10) >= (long long)since;
}

/* Shorter names first, then by text: the counter <n> in numeric order. */
static int cmp_events(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* The event files of this run of each tensorboard-events sink, and the
 * command that shows them. */
static void print_tb(const struct demo_run *r)
{
    for (size_t i = 0; i < r->ntb; i++) {
        const struct tb_sink *s = &r->tb[i];
        char *dir = s->logdir && r->run_id[0] ? tb_run_dir(s, r->run_id)
                                              : NULL;
        if (!dir) {
            printf("  %-*s (folder unknown: the config's output_dir or "
                   "logdir uses ${...})\n", DEMO_LABEL_WIDTH, "tensorboard");
            continue;
        }
        struct names here = {0}, ours = {0};
        list_names(dir, &here);
        for (size_t j = 0; j < here.n; j++) {
            char *p = is_run_events_file(here.v[j], r->opened)
                          ? str_fmt("%s/%s", dir, here.v[j])
                          : NULL;
            if (p)
                names_add(&ours, p);
            free(p);
        }
        if (ours.n)
            qsort(ours.v, ours.n, sizeof *ours.v, cmp_events);
        for (size_t j = 0; j < ours.n; j++)
            printf("  %-*s %s\n", DEMO_LABEL_WIDTH, "tensorboard",
                   ours.v[j]);
        char *word = ours.n ? shell_word(s->logdir) : NULL;
        if (word)
            printf("  %-*s view it: tensorboard --logdir %s\n",
                   DEMO_LABEL_WIDTH, "", word);
        else if (!ours.n)
            printf("  %-*s (no event file of this run in %s)\n",
                   DEMO_LABEL_WIDTH, "tensorboard", dir);
        free(word);
        names_free(&here);
        names_free(&ours);
        free(dir);
    }
}

static void print_files(const struct demo_run *r)
{
    printf("\nFiles\n");
    if (r->copy)
        printf("  %-*s %s\n", DEMO_LABEL_WIDTH, "config", r->copy);
    int known = r->out && r->stamp[0];
    struct names found = {0};
    if (known)
        walk(r->out, DEMO_WALK_DEPTH, r->stamp, &found);
    else
        printf("  (under %s; this run's stamp is unknown)\n",
               r->out ? r->out : "the config's output_dir");
    if (found.n)
        qsort(found.v, found.n, sizeof *found.v, cmp_str);
    print_found(&found, 0, 2);
    print_tb(r);
    print_found(&found, 3, 3);
    if (known && !found.n)
        printf("  (no file named with this run's stamp %s under %s)\n",
               r->stamp, r->out);
    names_free(&found);
}

/* Width of a column: its header, or its longest value. */
static int column_width(const char *header, const struct evt_sink_stats *st,
                        size_t n, int plugin)
{
    size_t w = strlen(header);
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(plugin ? st[i].plugin : st[i].name);
        w = k > w ? k : w;
    }
    return (int)w;
}

/* The sinks' counters; 1 when one of them failed. The NAME and PLUGIN
 * columns are as wide as their longest value. */
static int print_sinks(const struct demo_run *r,
                       const struct evt_sink_stats *st, size_t n)
{
    int failed = 0;
    int wn = column_width("NAME", st, n, 0);
    int wp = column_width("PLUGIN", st, n, 1);
    printf("\nSinks\n  %-*s %-*s %8s %8s %8s %8s %13s  %s\n", wn, "NAME", wp,
           "PLUGIN", "WRITTEN", "RETRIED", "SPILLED", "DROPPED",
           "DEAD-LETTERED", "STATUS");
    for (size_t i = 0; i < n; i++) {
        int bad = !st[i].enabled || st[i].dead_lettered > 0;
        failed |= bad;
        printf("  %-*s %-*s %8" PRIu64 " %8" PRIu64 " %8" PRIu64
               " %8" PRIu64 " %13" PRIu64 "  %s\n",
               wn, st[i].name, wp, st[i].plugin, st[i].written,
               st[i].retried, st[i].spilled, st[i].dropped,
               st[i].dead_lettered,
               !st[i].enabled ? "DISABLED" : bad ? "DEAD LETTERS" : "ok");
        if (bad)
            printf("  %-*s dead letters: %s/rejected/%s.spool\n", wn, "",
                   r->state ? r->state : "<state_dir>", st[i].name);
    }
    if (n == 0)
        printf("  (the config has no sinks)\n");
    return failed;
}

/* Flush, take the counters, close. 0, or 1 when the run failed. */
static int finish(evt_tracker *t, struct evt_sink_stats *st, size_t *n)
{
    int frc = evt_flush(t, DEMO_TIMEOUT_MS);
    if (frc != EVT_OK)
        check(t, frc, "flush");
    size_t total = evt_stats(t, st, DEMO_MAX_SINKS);
    *n = total < DEMO_MAX_SINKS ? total : DEMO_MAX_SINKS;
    int crc = evt_close(t, DEMO_TIMEOUT_MS);
    if (crc != EVT_OK)
        fprintf(stderr, "evtrack demo: close: %s\n", evt_status_name(crc));
    return frc != EVT_OK || crc != EVT_OK;
}

/* ---- the command --------------------------------------------------------*/

static int run_demo(const struct demo_opts *o, struct demo_run *r)
{
    int rc = o->config ? prepare_user(o, r) : prepare_builtin(o, r);
    evt_tracker *t = NULL;
    if (rc || (rc = open_tracker(o, r, &t)) != 0)
        return rc;
    printf("evtrack demo: " DEMO_MODEL " on " DEMO_GROUP " (demo_mcq, "
           "demo_yesno) and demo_math, %ld samples, seed %" PRIu64 "\n",
           o->samples, o->seed);
    fflush(stdout); /* before the sinks' own output */
    int failed = simulate(t, o) != 0;
    static struct evt_sink_stats st[DEMO_MAX_SINKS];
    size_t n = 0;
    failed |= finish(t, st, &n);
    fflush(stdout);
    print_files(r);
    failed |= print_sinks(r, st, n);
    char *copy = r->copy ? shell_word(r->copy) : NULL;
    if (copy)
        printf("\nRun it again with this config: evtrack demo -c %s\n",
               copy);
    free(copy);
    fflush(stdout);
    return failed ? EXIT_RUNTIME : 0;
}

int evt_cli_demo(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_demo, stdout);
        return 0;
    }
    struct demo_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return EXIT_USAGE;
    struct demo_run r = {0};
    int rc = run_demo(&o, &r);
    run_free(&r);
    return rc;
}
