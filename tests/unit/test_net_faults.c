/* test_net_faults.c -- seeded network-fault campaigns against the network
 * sinks (issue 7, "Network faults"; docs/RELIABILITY.md).
 *
 * For each of hf-hub (tests/fake/hf_hub_server.py) and wandb
 * (tests/fake/wandb_server.py), a few runs are logged while the fake
 * server injects a seeded mix of faults into every kind of request:
 * 503 and 429 with Retry-After (0 or 1 s), resets (closed without an
 * answer), lost answers (applied, then closed), stalls longer than the
 * sink's timeout, and truncated bodies. A burst of faults makes the
 * host's retries run out, so dead letters are made and replayed
 * (evt_replay_run) until none is left, while the faults go on. Then the
 * server's state is checked:
 *
 *  - hf-hub: exactly one commit per run (push), each run's results JSON
 *    and samples JSONL byte-equal to the files local-json and jsonl wrote,
 *    the sample files stored through LFS (basic and multipart uploads),
 *    a card naming every run, the repo gated ("gated": true) although the
 *    answer to the create that made it was lost;
 *  - wandb: every history row exactly once at its offset (no gap, no line
 *    ever rewritten with other content, each line acknowledged by exactly
 *    one clean answer), the summary, "complete" with the run's exit code,
 *    each run file uploaded once (one clean PUT) and consistent with the
 *    table references of the results row.
 *
 * And one W&B case: a paced run whose end meets an outage longer than all
 * the retries (of its run_end batch and of the flushes at close): the end
 * comes back as dead letters and a replay delivers it.
 *
 * The figures (requests, faults by kind, host retries, dead letters,
 * replay rounds) are printed. EVT_TEST_SEED picks another campaign;
 * NETF_DENSITY=P gives P % of the requests a fault (default 30 for
 * hf-hub, 25 for wandb); EVT_TEST_SCALE_DIV shrinks the campaign
 * (valgrind); NETF_VERBOSE=1 prints the sinks' log lines and the W&B
 * requests. */
#define _GNU_SOURCE /* setenv, memmem */
#include "test_util.h"
#include "tracker_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../fake/fake_server.h"
#include "../fake/fake_wandb.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/http.h"
#include "replay.h"

#define HUB_TOKEN "hf_NETfaults0123456789ABCDEFGHIJ"
#define WB_KEY "wbk-NETFAULTS-00112233445566778899"
#define HUB_REPO "evt-org/nf"
#define HUB_RUNS 3
#define WB_RUNS 2
#define NTASKS 3

static const char *const TASKS[NTASKS] = {"arc_easy", "gsm8k", "mme"};

/* ---- small helpers ----------------------------------------------------- */

static int scale_div(void)
{
    const char *d = getenv("EVT_TEST_SCALE_DIV");
    int v = d ? (int)strtol(d, NULL, 10) : 1;
    return v > 0 ? v : 1;
}

static uint64_t seed_of(void)
{
    const char *s = getenv("EVT_TEST_SEED");
    uint64_t v = s ? strtoull(s, NULL, 10) : 20250607;
    return v ? v : 1;
}

/* Percent of requests given a fault: $NETF_DENSITY, else dflt. */
static int density(int dflt)
{
    const char *d = getenv("NETF_DENSITY");
    int v = d ? (int)strtol(d, NULL, 10) : dflt;
    return v > 0 && v <= 100 ? v : dflt;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A growing string. */
struct sb {
    char *p;
    size_t n, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(k >= 0);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        fail_msg("no number %s", k);
    return v->valuedouble;
}

/* ---- the sinks' log: counted, printed with NETF_VERBOSE ---------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned log_warn, log_err;

static void on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    log_warn += level == EVT_LOG_WARN;
    log_err += level == EVT_LOG_ERROR;
    pthread_mutex_unlock(&log_mu);
    if (getenv("NETF_VERBOSE"))
        fprintf(stderr, "log %d: %s\n", level, msg);
}

/* ---- the fault plan ---------------------------------------------------- */

enum fault_kind { FK_503, FK_429, FK_RESET, FK_LOST, FK_STALL, FK_TRUNC, FK_N };

static const char *const FK_NAME[FK_N] = {"503", "429", "reset",
                                          "lost answer", "stall",
                                          "truncated"};

struct fault {
    int type; /* index into the campaign's request types */
    int pos;  /* 1-based number among the requests of that type */
    int kind;
    int ra;   /* Retry-After seconds (503, 429) */
};

struct plan {
    struct fault f[512];
    int n;
    int slow; /* faults that cost about a second (stall, Retry-After: 1) */
};

/* A kind for a fault (applied: lost answers allowed); at most
 * plan->slow slow ones in the plan. */
static int pick_kind(uint64_t *rng, struct plan *p, int applied, int *ra)
{
    for (;;) {
        int k = (int)(rnd(rng) % FK_N);
        *ra = (k == FK_503 || k == FK_429) ? (int)(rnd(rng) % 2) : 0;
        if (!applied && k == FK_LOST)
            continue;
        if (*ra && p->slow <= 0)
            *ra = 0;
        if (k == FK_STALL && p->slow <= 0)
            continue;
        p->slow -= *ra || k == FK_STALL;
        return k;
    }
}

static void plan_add(struct plan *p, int type, int pos, int kind, int ra)
{
    assert_true(p->n < (int)(sizeof p->f / sizeof p->f[0]));
    p->f[p->n++] = (struct fault){type, pos, kind, ra};
}

/* Faults at random positions 1..horizon of type, with probability
 * pct/100 each, at least two; positions in taken[] are left alone. */
static void plan_type(struct plan *p, uint64_t *rng, int type, int horizon,
                      int pct, int applied_ok, const char *taken)
{
    int before = p->n;
    for (int pos = 1; pos <= horizon; pos++) {
        if ((taken && taken[pos]) || (int)(rnd(rng) % 100) >= pct)
            continue;
        int ra, k = pick_kind(rng, p, applied_ok, &ra);
        plan_add(p, type, pos, k, ra);
    }
    /* at least two, one of them at the first free position of 1 and 2
     * (or after taken[]), which every campaign reaches */
    int early = 0;
    for (int i = before; i < p->n; i++)
        early |= p->f[i].pos <= 2;
    for (int pos = 1; (p->n - before < 2 || !early) && pos <= horizon;
         pos++) {
        int dup = 0;
        for (int i = before; i < p->n; i++)
            dup |= p->f[i].pos == pos;
        if (dup || (taken && taken[pos]))
            continue;
        int ra, k = pick_kind(rng, p, applied_ok, &ra);
        plan_add(p, type, pos, k, ra);
        early |= pos <= 2;
    }
}

static int cmp_fault(const void *a, const void *b)
{
    const struct fault *x = a, *y = b;
    return x->type != y->type ? x->type - y->type : x->pos - y->pos;
}

/* Faults of the plan that were reached: type t saw nreq[t] requests. */
static void plan_injected(const struct plan *p, const int *nreq,
                          int *by_kind, int *by_type)
{
    for (int i = 0; i < p->n; i++)
        if (p->f[i].pos <= nreq[p->f[i].type]) {
            by_kind[p->f[i].kind]++;
            by_type[p->f[i].type]++;
        }
}

static void print_kinds(const int *by_kind)
{
    int total = 0;
    for (int k = 0; k < FK_N; k++)
        total += by_kind[k];
    printf("  faults injected: %d (", total);
    for (int k = 0; k < FK_N; k++)
        printf("%s%s %d", k ? ", " : "", FK_NAME[k], by_kind[k]);
    printf(")\n");
}

/* ======================================================================
 * hf-hub
 * ====================================================================== */

struct hub_type {
    const char *name, *method, *path;
    int horizon;
};

static const struct hub_type HUB_TYPES[] = {
    {"create", "POST", "/api/repos/create", 6},
    {"settings", "PUT", "/api/datasets/" HUB_REPO "/settings", 6},
    {"tree", "GET", "/api/datasets/" HUB_REPO "/tree", 12},
    {"preupload", "POST", "/api/datasets/" HUB_REPO "/preupload", 12},
    {"lfs batch", "POST", "/datasets/" HUB_REPO ".git/info/lfs/objects/batch",
     12},
    {"lfs upload", "PUT", "/lfs-upload/", 16},
    {"lfs part", "PUT", "/lfs-part/", 16},
    {"lfs complete", "POST", "/lfs-complete/", 4},
    {"lfs verify", "POST", "/lfs-verify/", 16},
    {"commit", "POST", "/api/datasets/" HUB_REPO "/commit", 10},
};
#define HUB_NTYPES (int)(sizeof HUB_TYPES / sizeof HUB_TYPES[0])
#define HUB_COMMIT (HUB_NTYPES - 1)

static struct fake_server hub;
static char *hub_logpath;

static void hub_http(const char *method, const char *path, const char *body,
                     struct evt_http_response *rs)
{
    char *u = tu_fmt("%s%s", hub.url, path), err[512];
    struct evt_http_request rq = {.method = method, .url = u, .body = body,
                                  .body_len = body ? strlen(body) : 0,
                                  .timeout_ms = 30000};
    evt_http_do(&rq, rs, err, sizeof err);
    free(u);
}

static void hub_ctl(const char *path, const char *json)
{
    struct evt_http_response rs;
    hub_http("POST", path, json, &rs);
    assert_int_equal(rs.status, 200);
    evt_http_response_free(&rs);
}

static cJSON *hub_get_json(const char *path)
{
    struct evt_http_response rs;
    hub_http("GET", path, NULL, &rs);
    assert_int_equal(rs.status, 200);
    cJSON *j = cJSON_ParseWithLength(rs.body, rs.body_len);
    evt_http_response_free(&rs);
    assert_non_null(j);
    return j;
}

/* The members of a fake server's rule that make each kind of fault;
 * acts[FK_503] is the format of both 503 and 429 (status, Retry-After
 * seconds). */
static void sb_fault(struct sb *b, const struct fault *f,
                     const char *const acts[FK_N])
{
    if (f->kind == FK_503 || f->kind == FK_429)
        sb_add(b, acts[FK_503], f->kind == FK_503 ? 503 : 429, f->ra);
    else
        sb_add(b, "%s", acts[f->kind]);
    sb_add(b, "}");
}

/* fake_http.py: the sink's timeout is 1 s (stall); a truncated answer
 * is a 200 whose body stops short. */
static const char *const HUB_ACTS[FK_N] = {
    [FK_503] = ", \"status\": %d, \"headers\": {\"Retry-After\": \"%d\"}, "
               "\"body\": \"{\\\"error\\\": \\\"busy\\\"}\"",
    [FK_RESET] = ", \"close\": true",
    [FK_LOST] = ", \"drop_answer\": true",
    [FK_STALL] = ", \"stall_ms\": 1600, \"status\": 503",
    [FK_TRUNC] = ", \"truncate\": true, \"status\": 200, \"body\": "
                 "\"{\\\"files\\\": [\"",
};

/* The plan as fake_http.py faults. Faults of one type hit in order:
 * the i-th (1-based) lets pos - i matching requests through first (each
 * earlier fault took one request that it did not see). */
static char *hub_faults_json(const struct plan *p)
{
    struct sb b = {0};
    sb_add(&b, "[");
    for (int i = 0, idx = 0, type = -1; i < p->n; i++) {
        const struct fault *f = &p->f[i];
        const struct hub_type *t = &HUB_TYPES[f->type];
        idx = f->type == type ? idx + 1 : 1;
        type = f->type;
        sb_add(&b, "%s{\"method\": \"%s\", \"path\": \"%s\", \"times\": 1, "
                   "\"skip\": %d",
               i ? ", " : "", t->method, t->path, f->pos - idx);
        sb_fault(&b, f, HUB_ACTS);
    }
    sb_add(&b, "]");
    return b.p;
}

/* The hub campaign's plan: random faults on every request type; the
 * first create's answer lost (the repo exists, the sink is not told: it
 * must still be made gated); a burst of three unapplied faults on the
 * first three commits, so that a run's three tries (retry.limit 2) fail
 * and it is dead-lettered. */
static void hub_plan(struct plan *p, uint64_t *rng)
{
    memset(p, 0, sizeof *p);
    p->slow = scale_div() > 1 ? 5 : 9;
    char taken[64] = {0}, first[64] = {0};
    plan_add(p, 0, 1, FK_LOST, 0);
    first[1] = 1;
    for (int pos = 1; pos <= 3; pos++) {
        int ra, k = pick_kind(rng, p, 0, &ra); /* none applied */
        plan_add(p, HUB_COMMIT, pos, k, ra);
        taken[pos] = 1;
    }
    for (int t = 0; t < HUB_NTYPES; t++)
        plan_type(p, rng, t, HUB_TYPES[t].horizon, density(30), 1,
                  t == HUB_COMMIT ? taken : t == 0 ? first : NULL);
    qsort(p->f, (size_t)p->n, sizeof p->f[0], cmp_fault);
}

/* Request counts per type, and how many the server marked as faults. */
static int hub_count(int *nreq, int *nfault, int *total)
{
    char *text = tu_read_file(hub_logpath, NULL);
    cJSON *log = cJSON_Parse(text ? text : "[]");
    assert_true(cJSON_IsArray(log));
    int faults = 0;
    const cJSON *e;
    *total = 0;
    cJSON_ArrayForEach(e, log)
    {
        const char *m = jstr(e, "method"), *path = jstr(e, "path");
        (*total)++;
        for (int t = 0; t < HUB_NTYPES; t++)
            if (strcmp(m, HUB_TYPES[t].method) == 0 &&
                strncmp(path, HUB_TYPES[t].path,
                        strlen(HUB_TYPES[t].path)) == 0) {
                nreq[t]++;
                if (cJSON_IsTrue(cJSON_GetObjectItem(e, "fault"))) {
                    nfault[t]++;
                    faults++;
                }
            }
    }
    cJSON_Delete(log);
    free(text);
    return faults;
}

static char *hub_config(const char *dir, int run)
{
    return tu_fmt(
        "{\"output_dir\": \"%s\", \"state_dir\": \"%s/state\", "
        "\"run_id\": \"nf-run-%d\", \"sinks\": [{\"plugin\": \"local-json\"}, "
        "{\"plugin\": \"jsonl\"}, {\"plugin\": \"hf-hub\", "
        "\"queue\": {\"overflow\": \"block\"}, "
        "\"retry\": {\"limit\": 2, \"base_ms\": 5, \"cap_ms\": 20}, "
        "\"config\": {\"endpoint\": \"%s\", \"org\": \"evt-org\", "
        "\"results_repo\": \"nf\", \"gated\": true, \"timeout_secs\": 1, "
        "\"http_attempts\": 3, \"http_backoff_ms\": 5, "
        "\"http_backoff_cap_ms\": 1500}}]}",
        dir, dir, run, hub.url);
}

/* One run of the model org/model-r<run>: three tasks of six samples,
 * their results. The server takes files over 4 KiB through LFS, in 6 KiB
 * parts for files over 6 KiB: runs 0 and 2 make 5 KiB files (basic
 * uploads), run 1 19 KiB ones (multipart), whenever they are pushed. */
static void hub_log_run(evt_tracker *t, int run)
{
    char pad[3001];
    size_t npad = run == 1 ? 3000 : 600;
    memset(pad, 'a' + run, npad);
    pad[npad] = '\0';
    char *rs = tu_fmt("{\"model_name\": \"org/model-r%d\", \"model_args\": "
                      "\"pretrained=org/model-r%d\", \"config\": {\"model\": "
                      "\"hf\", \"batch_size\": 1}}", run, run);
    log_json(t, EVT_EV_RUN_START, rs);
    free(rs);
    for (int k = 0; k < NTASKS; k++) {
        char *tc = tu_fmt("{\"task\": \"%s\", \"version\": 1, \"n-shot\": 0, "
                          "\"higher_is_better\": {\"acc\": true}}", TASKS[k]);
        log_json(t, EVT_EV_TASK_CONFIG, tc);
        free(tc);
        for (int i = 0; i < 6; i++) {
            char *s = tu_fmt(
                "{\"task\": \"%s\", \"doc_id\": %d, \"target\": \"Yes\", "
                "\"arguments\": [\"Q%d-%d %s\", {}], \"resps\": [[\"Yes\"]], "
                "\"filtered_resps\": [\"Yes\"], \"filter\": \"none\", "
                "\"acc\": %d.0}", TASKS[k], i, run, i, pad, i % 2);
            log_json(t, EVT_EV_SAMPLE, s);
            free(s);
        }
        assert_int_equal(evt_log_result(t, TASKS[k], "acc", "none",
                                        0.5 + 0.125 * k, 0.01, -1), EVT_OK);
    }
    assert_int_equal(evt_log_run_end(t), EVT_OK);
}

/* The file repo:path as the server serves it (heap), NULL if absent. */
static char *hub_fetch(const char *path, size_t *len)
{
    char *p = tu_fmt("/datasets/" HUB_REPO "/resolve/main/%s", path);
    struct evt_http_response rs;
    hub_http("GET", p, NULL, &rs);
    free(p);
    char *b = NULL;
    if (rs.status == 200) {
        b = malloc(rs.body_len + 1);
        assert_non_null(b);
        memcpy(b, rs.body, rs.body_len);
        b[rs.body_len] = '\0';
        *len = rs.body_len;
    }
    evt_http_response_free(&rs);
    return b;
}

/* The server's copy of the local file dir/rel is byte-equal to it. */
static void hub_same(const char *dir, const char *rel)
{
    size_t n = 0, m = 0;
    char *local = tu_fmt("%s/%s", dir, rel);
    char *want = tu_read_file(local, &m);
    char *got = hub_fetch(rel, &n);
    if (!want)
        fail_msg("no local file %s", local);
    if (!got)
        fail_msg("%s is not on the server", rel);
    if (n != m || memcmp(got, want, n) != 0)
        fail_msg("%s differs from the local file (%zu vs %zu bytes)", rel, n,
                 m);
    free(got);
    free(want);
    free(local);
}

/* The run's stamp: its local results file name. */
static char *hub_stamp(const char *dir, int run)
{
    char *d = tu_fmt("%s/org__model-r%d", dir, run);
    char *f = tu_find_one(d, "_results.json");
    const char *base = strrchr(f, '/') + 1;
    char *s = strndup(base, strlen(base) - strlen("_results.json"));
    free(f);
    free(d);
    return s;
}

/* Replay the dead letters until none is left (the faults go on). */
static int replay_all(const char *config, const char *sink,
                      uint64_t *delivered)
{
    int rounds = 0;
    for (;;) {
        struct evt_replay_result res;
        char err[1024];
        memset(&res, 0, sizeof res);
        int rc = evt_replay_run(config, sink, NULL, NULL, &res, err,
                                sizeof err);
        if (rc != EVT_OK)
            fail_msg("replay %s: %s", sink, err);
        assert_int_equal(res.lost, 0);
        if (res.total == 0)
            return rounds;
        rounds++;
        *delivered += res.delivered;
        if (res.left == 0)
            return rounds;
        if (rounds == 10)
            fail_msg("%s: %llu dead letters left after 10 replays", sink,
                     (unsigned long long)res.left);
    }
}

static void hub_check(const char *dir)
{
    cJSON *repos = hub_get_json("/_ctl/repos");
    const cJSON *repo = cJSON_GetObjectItem(repos, HUB_REPO);
    assert_non_null(repo);
    const cJSON *commits = cJSON_GetObjectItem(repo, "commits"), *c;
    int per_run[HUB_RUNS] = {0}, n = 0;
    cJSON_ArrayForEach(c, commits)
    {
        const char *title = jstr(c, "title");
        if (n++ == 0)
            continue; /* the repo's initial commit */
        int run = -1;
        if (sscanf(title, "evtrack: evaluation run nf-run-%d", &run) != 1 ||
            run < 0 || run >= HUB_RUNS)
            fail_msg("unexpected commit \"%s\"", title);
        per_run[run]++;
    }
    for (int r = 0; r < HUB_RUNS; r++)
        if (per_run[r] != 1)
            fail_msg("run nf-run-%d: %d commits, expected exactly one", r,
                     per_run[r]);
    const char *gated = jstr(repo, "gated");
    if (!gated || strcmp(gated, "auto") != 0)
        fail_msg("the repo was not made gated");
    const cJSON *lfs = cJSON_GetObjectItem(repo, "lfs");
    for (int r = 0; r < HUB_RUNS; r++) {
        char *stamp = hub_stamp(dir, r);
        char *rel = tu_fmt("org__model-r%d/%s_results.json", r, stamp);
        hub_same(dir, rel);
        free(rel);
        for (int k = 0; k < NTASKS; k++) {
            rel = tu_fmt("org__model-r%d/%s_samples_%s.jsonl", r, stamp,
                         TASKS[k]);
            hub_same(dir, rel);
            int in_lfs = 0;
            const cJSON *l;
            cJSON_ArrayForEach(l, lfs) in_lfs |= strcmp(l->valuestring,
                                                        rel) == 0;
            if (!in_lfs)
                fail_msg("%s was not stored through LFS", rel);
            free(rel);
        }
        /* the card names the run */
        size_t len = 0;
        char *card = hub_fetch("README.md", &len);
        assert_non_null(card);
        char *want = tu_fmt("org__model-r%d/%s_results.json", r, stamp);
        if (!strstr(card, want))
            fail_msg("the card does not name %s", want);
        free(want);
        free(card);
        free(stamp);
    }
    cJSON_Delete(repos);
}

/* One tracker's hf-hub (or wandb) counters, then closed. */
static void close_counted(evt_tracker *t, const char *plugin,
                          uint64_t *retried, uint64_t *dead)
{
    struct evt_sink_stats st[4];
    assert_int_equal(evt_flush(t, 60000), EVT_OK);
    size_t n = evt_stats(t, st, 4);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].plugin, plugin) == 0) {
            assert_int_equal(st[i].enabled, 1); /* nothing was final */
            *retried += st[i].retried;
            *dead += st[i].dead_lettered;
            found = 1;
        }
    assert_true(found);
    int rc = evt_close(t, 60000);
    if (rc != EVT_OK)
        fail_msg("evt_close: %s", evt_status_name(rc));
}

static void test_hub_campaign(void **state)
{
    (void)state;
    uint64_t rng = seed_of() * 2654435761u + 1;
    struct plan p;
    hub_plan(&p, &rng);
    char *faults = hub_faults_json(&p);
    hub_ctl("/_ctl/reset", NULL);
    hub_ctl("/_ctl/config", "{\"lfs_threshold\": 4096, \"multipart_chunk\": "
                            "6144, \"tree_page\": 1000}");
    hub_ctl("/_ctl/faults", faults);
    free(faults);
    char *dir = tu_tmpdir(), *cfgpath = NULL;
    double t0 = now_s();
    uint64_t retried = 0, dead = 0, delivered = 0;
    for (int r = 0; r < HUB_RUNS; r++) {
        char *cfg = hub_config(dir, r), err[EVT_ERRMSG_SIZE];
        free(cfgpath);
        cfgpath = tu_fmt("%s/evtrack-%d.json", dir, r);
        tu_write_file(cfgpath, cfg);
        free(cfg);
        evt_tracker *t = NULL;
        if (evt_open_file(cfgpath, &t, err, sizeof err) != EVT_OK)
            fail_msg("open: %s", err);
        hub_log_run(t, r);
        close_counted(t, "hf-hub", &retried, &dead);
    }
    double t1 = now_s();
    /* the host gave up on some batches: replay them, faults still on */
    int rounds = replay_all(cfgpath, "hf-hub", &delivered);
    double t2 = now_s();
    int nreq[HUB_NTYPES] = {0}, nfault[HUB_NTYPES] = {0}, total = 0;
    int faulted = hub_count(nreq, nfault, &total);
    int by_kind[FK_N] = {0}, by_type[HUB_NTYPES] = {0};
    plan_injected(&p, nreq, by_kind, by_type);
    printf("hf-hub campaign (seed %llu): %d runs, %d requests, %.1f s "
           "(+ %.1f s of replay)\n",
           (unsigned long long)seed_of(), HUB_RUNS, total, t1 - t0, t2 - t1);
    print_kinds(by_kind);
    printf("  per request type (requests/faults):");
    for (int t = 0; t < HUB_NTYPES; t++)
        printf("%s %s %d/%d", t ? "," : "", HUB_TYPES[t].name, nreq[t],
               nfault[t]);
    printf("\n  host: %llu batch retries, %llu events dead-lettered, "
           "%d replay round(s) delivering %llu events\n",
           (unsigned long long)retried, (unsigned long long)dead, rounds,
           (unsigned long long)delivered);
    /* the plan's arithmetic matches what the server did */
    for (int t = 0; t < HUB_NTYPES; t++) {
        assert_int_equal(nfault[t], by_type[t]);
        if (nfault[t] == 0)
            fail_msg("no fault reached %s requests", HUB_TYPES[t].name);
    }
    int planned = 0;
    for (int k = 0; k < FK_N; k++)
        planned += by_kind[k];
    assert_int_equal(faulted, planned);
    assert_true(dead > 0); /* the commit burst: run 0 dead-lettered */
    assert_true(rounds >= 1);
    hub_check(dir);
    free(cfgpath);
    tu_rmtree(dir);
}

/* ======================================================================
 * wandb
 * ====================================================================== */

struct wb_type {
    const char *name, *match;
    int horizon;
};

static const struct wb_type WB_TYPES[] = {
    {"UpsertBucket", "graphql:UpsertBucket", 14},
    {"CreateRunFiles", "graphql:CreateRunFiles", 6},
    {"file_stream", "file_stream", 90},
    {"upload", "upload", 24},
};
#define WB_NTYPES (int)(sizeof WB_TYPES / sizeof WB_TYPES[0])
#define WB_FS 2
#define WB_BURST 20 /* > 3 host tries x 4 attempts, plus ticker probes */

/* wandb_server.py: the sink's timeout is 0.5 s (stall); a truncated
 * answer is applied, and half of it sent. */
static const char *const WB_ACTS[FK_N] = {
    [FK_503] = ", \"action\": \"status\", \"status\": %d, "
               "\"retry_after\": \"%d\"",
    [FK_RESET] = ", \"action\": \"reset\"",
    [FK_LOST] = ", \"action\": \"drop\"",
    [FK_STALL] = ", \"action\": \"stall\", \"stall_ms\": 900",
    [FK_TRUNC] = ", \"action\": \"truncate\"",
};

/* The plan as wandb_server.py rules (one per fault, by position). */
static char *wb_faults_json(const struct plan *p)
{
    struct sb b = {0};
    sb_add(&b, "[");
    for (int i = 0; i < p->n; i++) {
        const struct fault *f = &p->f[i];
        sb_add(&b, "%s{\"match\": \"%s\", \"at\": [%d]", i ? ", " : "",
               WB_TYPES[f->type].match, f->pos);
        sb_fault(&b, f, WB_ACTS);
    }
    sb_add(&b, "]");
    return b.p;
}

/* Random faults on every request type, and a burst of WB_BURST quick
 * faults on file_stream from request 8 on: the host's retries of the
 * batch then run out (dead letters). */
static void wb_plan(struct plan *p, uint64_t *rng)
{
    memset(p, 0, sizeof *p);
    p->slow = scale_div() > 1 ? 5 : 10;
    char taken[128] = {0};
    for (int pos = 8; pos < 8 + WB_BURST; pos++) {
        int k = (int)(rnd(rng) % 4);
        static const int quick[4] = {FK_503, FK_429, FK_RESET, FK_LOST};
        plan_add(p, WB_FS, pos, quick[k], 0);
        taken[pos] = 1;
    }
    for (int t = 0; t < WB_NTYPES; t++)
        plan_type(p, rng, t, WB_TYPES[t].horizon, density(25), 1,
                  t == WB_FS ? taken : NULL);
    qsort(p->f, (size_t)p->n, sizeof p->f[0], cmp_fault);
}

static char *wb_config(const char *dir, const char *run_id, const char *url)
{
    char *sink = tu_fmt(
        "\"plugin\": \"wandb\", \"queue\": {\"overflow\": \"block\"}, "
        "\"retry\": {\"limit\": 2, \"base_ms\": 5, \"cap_ms\": 20}, "
        "\"config\": {\"base_url\": \"%s\", \"project\": \"evals\", "
        "\"stream_interval_secs\": 0, \"init_timeout_secs\": 10, "
        "\"reconnect_secs\": 1, \"retry_base_ms\": 5, "
        "\"retry_cap_ms\": 1500, \"attempts\": 4, "
        "\"request_timeout_secs\": 0.5}",
        url);
    char *cfg = fake_wandb_config(dir, run_id, sink);
    free(sink);
    return cfg;
}

static int wb_steps(void)
{
    int s = 32 / scale_div();
    return s < 8 ? 8 : s;
}

/* One run: three tasks of four samples, their results, scalars at steps
 * 0..S-1 (a flush halfway), run_end with exit code run + 1. */
static void wb_log_run(evt_tracker *t, int run)
{
    char *rs = tu_fmt("{\"model_name\": \"org/model-w%d\", \"model_args\": "
                      "\"pretrained=org/model-w%d\", \"config\": {\"model\": "
                      "\"hf\", \"batch_size\": 1}}", run, run);
    log_json(t, EVT_EV_RUN_START, rs);
    free(rs);
    for (int k = 0; k < NTASKS; k++) {
        char *tc = tu_fmt("{\"task\": \"%s\", \"version\": 1, \"n-shot\": 0, "
                          "\"config\": {\"task\": \"%s\", \"output_type\": "
                          "\"generate_until\"}}", TASKS[k], TASKS[k]);
        log_json(t, EVT_EV_TASK_CONFIG, tc);
        free(tc);
    }
    int steps = wb_steps();
    for (int s = 0; s < steps; s++) {
        assert_int_equal(evt_log_scalar(t, "train/loss", 0.25 * s, s),
                         EVT_OK);
        assert_int_equal(evt_log_scalar(t, "train/lr", 1.0 / (s + 1), s),
                         EVT_OK);
        if (s == steps / 2)
            assert_int_equal(evt_flush(t, 60000), EVT_OK);
        sleep_ms(3); /* small batches: many requests */
    }
    for (int k = 0; k < NTASKS; k++) {
        for (int d = 0; d < 4; d++) {
            char *s = tu_fmt(
                "{\"task\": \"%s\", \"doc_id\": %d, \"filter\": \"none\", "
                "\"target\": \"t%d\", \"arguments\": [[\"Q %d-%d?\", \" A\"]],"
                " \"resps\": [[\"r%d\"]], \"filtered_resps\": [\"f%d\"], "
                "\"metrics\": {\"score\": %d.5}}",
                TASKS[k], d, d, run, d, d, d, d);
            log_json(t, EVT_EV_SAMPLE, s);
            free(s);
        }
        assert_int_equal(evt_log_result(t, TASKS[k], "acc", "none",
                                        0.5 + 0.125 * k, 0.01, -1), EVT_OK);
    }
    char *end = tu_fmt("{\"total_seconds\": 1.5, \"exit_code\": %d}",
                       run + 1);
    log_json(t, EVT_EV_RUN_END, end);
    free(end);
}

static int wb_type_of(const cJSON *e)
{
    const char *op = jstr(e, "op"), *path = jstr(e, "path");
    if (op && strcmp(op, "UpsertBucket") == 0)
        return 0;
    if (op && strcmp(op, "CreateRunFiles") == 0)
        return 1;
    if (path && strstr(path, "/file_stream"))
        return 2;
    if (path && strncmp(path, "/upload/", 8) == 0)
        return 3;
    return -1;
}

/* 1 when the URL path p, %-decoded, equals s. */
static int path_is(const char *p, const char *s)
{
    for (; *p && *s; p++, s++) {
        int c = (unsigned char)*p;
        if (c == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], '\0'};
            c = (int)strtol(hex, NULL, 16);
            p += 2;
        }
        if (c != (unsigned char)*s)
            return 0;
    }
    return !*p && !*s;
}

/* One line per request (NETF_VERBOSE): when, what, the fault. */
static void wb_dump(const cJSON *reqs)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs)
    {
        const char *f = jstr(e, "fault"), *b = jstr(e, "body");
        fprintf(stderr, "%.3f %s %s status=%d fault=%s %.160s\n",
                jnum(e, "t"), jstr(e, "method"), jstr(e, "path"),
                (int)jnum(e, "status"), f ? f : "-",
                wb_type_of(e) == 3 ? "" : b ? b : "");
    }
}

/* The upload named name of run key as the server stored it. */
static const cJSON *wb_upload(const cJSON *state, const char *key,
                              const char *name)
{
    char *k = tu_fmt("%s/%s", key, name);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "uploads"), k);
    free(k);
    return u;
}

/* A table reference of the results row matches its uploaded file. */
static void wb_check_table(const cJSON *v, const cJSON *state,
                           const char *key)
{
    const char *path = jstr(v, "path"), *sha = jstr(v, "sha256");
    assert_non_null(path);
    assert_non_null(sha);
    const cJSON *up = wb_upload(state, key, path);
    if (!up)
        fail_msg("%s: table %s was not uploaded", key, path);
    assert_string_equal(jstr(up, "sha256"), sha);
    assert_true(jnum(v, "size") == jnum(up, "size"));
}

static void wb_check_history(const cJSON *run, const cJSON *state,
                             const char *key, int steps)
{
    const cJSON *files = cJSON_GetObjectItem(run, "files");
    const cJSON *h = cJSON_GetObjectItem(files, "wandb-history.jsonl");
    if (cJSON_GetArraySize(h) != steps + 1)
        fail_msg("%s: %d history lines, expected %d", key,
                 cJSON_GetArraySize(h), steps + 1);
    for (int i = 0; i <= steps; i++) {
        const cJSON *line = cJSON_GetArrayItem(h, i);
        if (!cJSON_IsString(line))
            fail_msg("%s: history line %d is missing", key, i);
        cJSON *o = cJSON_Parse(line->valuestring);
        assert_non_null(o);
        if ((int)jnum(o, "_step") != i)
            fail_msg("%s: line %d holds step %d", key, i,
                     (int)jnum(o, "_step"));
        if (i < steps) {
            assert_true(jnum(o, "train/loss") == 0.25 * i);
            assert_true(fabs(jnum(o, "train/lr") - 1.0 / (i + 1)) < 1e-12);
        } else {
            for (int k = 0; k < NTASKS; k++) {
                char *m = tu_fmt("%s/acc", TASKS[k]);
                assert_true(jnum(o, m) == 0.5 + 0.125 * k);
                free(m);
                m = tu_fmt("%s_eval_results", TASKS[k]);
                wb_check_table(cJSON_GetObjectItem(o, m), state, key);
                free(m);
            }
            wb_check_table(cJSON_GetObjectItem(o, "evaluation/eval_results"),
                           state, key);
        }
        cJSON_Delete(o);
    }
    const cJSON *rw = cJSON_GetObjectItem(
        cJSON_GetObjectItem(run, "rewrites"), "wandb-history.jsonl");
    const cJSON *it;
    cJSON_ArrayForEach(it, rw)
    {
        if (strncmp(it->string, "changed:", 8) == 0)
            fail_msg("%s: history line %s was rewritten with other "
                     "content", key, it->string + 8);
    }
}

/* Each history line of run key was carried by exactly one request that
 * the server applied and answered (a line is resent only when its
 * request failed). */
static void wb_check_acks(const cJSON *reqs, const char *key, int lines)
{
    int *acks = calloc((size_t)lines + 1, sizeof *acks);
    char *path = tu_fmt("/files/%s/file_stream", key);
    const cJSON *e;
    assert_non_null(acks);
    cJSON_ArrayForEach(e, reqs)
    {
        if (strcmp(jstr(e, "path"), path) != 0 || jstr(e, "fault"))
            continue;
        const cJSON *h = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(e, "json"), "files"),
            "wandb-history.jsonl");
        if (!h)
            continue;
        int off = (int)jnum(h, "offset");
        int n = cJSON_GetArraySize(cJSON_GetObjectItem(h, "content"));
        for (int i = off; i < off + n; i++) {
            if (i >= lines)
                fail_msg("%s: line %d sent, only %d exist", key, i, lines);
            acks[i]++;
        }
    }
    for (int i = 0; i < lines; i++)
        if (acks[i] != 1)
            fail_msg("%s: history line %d acknowledged %d times", key, i,
                     acks[i]);
    free(path);
    free(acks);
}

/* Run r on the server: history, summary, complete, run files. Returns
 * the rewrites (same content sent again after a lost answer). */
static int wb_check_run(const cJSON *state, const cJSON *reqs, int r)
{
    char *key = tu_fmt("fake-entity/evals/wb-run-%d", r);
    const cJSON *run = cJSON_GetObjectItem(cJSON_GetObjectItem(state, "runs"),
                                           key);
    if (!run)
        fail_msg("%s never reached the server", key);
    int steps = wb_steps();
    wb_check_history(run, state, key, steps);
    wb_check_acks(reqs, key, steps + 1);
    const cJSON *sum = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "files"),
                                           "wandb-summary.json");
    if (cJSON_GetArraySize(sum) < 1 ||
        !cJSON_IsString(cJSON_GetArrayItem(sum, 0)))
        fail_msg("%s: no summary", key);
    cJSON *so = cJSON_Parse(cJSON_GetArrayItem(sum, 0)->valuestring);
    assert_non_null(so);
    assert_true(jnum(so, "train/loss") == 0.25 * (steps - 1));
    assert_non_null(cJSON_GetObjectItem(so, "_wandb"));
    cJSON_Delete(so);
    const cJSON *complete = cJSON_GetObjectItem(run, "complete");
    if (!cJSON_IsNumber(complete) || complete->valueint != r + 1)
        fail_msg("%s: not complete with exit code %d", key, r + 1);
    /* run files: results.json, three samples files, four tables; each
     * PUT once with a clean answer */
    int files = 0;
    const cJSON *u;
    char *prefix = tu_fmt("%s/", key);
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(state, "uploads"))
    {
        if (strncmp(u->string, prefix, strlen(prefix)) != 0)
            continue;
        files++;
        const cJSON *e;
        int clean = 0;
        cJSON_ArrayForEach(e, reqs)
        {
            const char *path = jstr(e, "path");
            if (wb_type_of(e) == 3 && !jstr(e, "fault") &&
                path_is(path + strlen("/upload/"), u->string))
                clean++;
        }
        if (clean != 1)
            fail_msg("%s: %d clean uploads, expected one", u->string, clean);
    }
    assert_int_equal(files, 8);
    const cJSON *res = wb_upload(state, key, "results.json");
    assert_non_null(res);
    cJSON *rj = cJSON_Parse(jstr(res, "text"));
    assert_non_null(rj);
    for (int k = 0; k < NTASKS; k++)
        assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(rj,
                                                                "results"),
                                            TASKS[k]));
    cJSON_Delete(rj);
    for (int k = 0; k < NTASKS; k++) {
        char *name = tu_fmt("samples/%s_eval_samples.json", TASKS[k]);
        const cJSON *sf = wb_upload(state, key, name);
        if (!sf)
            fail_msg("%s: %s not uploaded", key, name);
        cJSON *arr = cJSON_Parse(jstr(sf, "text"));
        assert_int_equal(cJSON_GetArraySize(arr), 4);
        cJSON_Delete(arr);
        free(name);
    }
    int rewrites = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(run,
                                                                   "rewrites"),
                                               "wandb-history.jsonl"))
    {
        if (strncmp(it->string, "changed:", 8) != 0)
            rewrites += it->valueint;
    }
    free(prefix);
    free(key);
    return rewrites;
}

static void test_wandb_campaign(void **state)
{
    (void)state;
    uint64_t rng = seed_of() * 40503u + 7;
    struct plan p;
    wb_plan(&p, &rng);
    char *faults = wb_faults_json(&p);
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, faults, 0);
    free(faults);
    double t0 = now_s();
    uint64_t retried = 0, dead = 0, delivered = 0;
    char *cfg = NULL;
    for (int r = 0; r < WB_RUNS; r++) {
        char *id = tu_fmt("wb-run-%d", r), err[EVT_ERRMSG_SIZE];
        free(cfg);
        cfg = wb_config(dir, id, s.url);
        evt_tracker *t = NULL;
        if (evt_open_json(cfg, NULL, &t, err, sizeof err) != EVT_OK)
            fail_msg("open: %s", err);
        wb_log_run(t, r);
        close_counted(t, "wandb", &retried, &dead);
        free(id);
    }
    double t1 = now_s();
    char *cfgpath = tu_fmt("%s/replay.json", dir);
    tu_write_file(cfgpath, cfg);
    int rounds = replay_all(cfgpath, "wandb", &delivered);
    double t2 = now_s();
    cJSON *reqs = fake_wandb_requests(&s);
    cJSON *st = fake_wandb_state(&s);
    int nreq[WB_NTYPES] = {0}, nfault[WB_NTYPES] = {0}, total = 0;
    int seen[FK_N] = {0};
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs)
    {
        int t = wb_type_of(e);
        const char *f = jstr(e, "fault");
        total++;
        if (t < 0)
            continue;
        nreq[t]++;
        if (!f)
            continue;
        nfault[t]++;
        seen[strncmp(f, "status:429", 10) == 0 ? FK_429
             : strncmp(f, "status:", 7) == 0   ? FK_503
             : strncmp(f, "reset", 5) == 0     ? FK_RESET
             : strncmp(f, "drop", 4) == 0      ? FK_LOST
             : strncmp(f, "stall", 5) == 0     ? FK_STALL
                                               : FK_TRUNC]++;
    }
    int by_kind[FK_N] = {0}, by_type[WB_NTYPES] = {0};
    plan_injected(&p, nreq, by_kind, by_type);
    printf("wandb campaign (seed %llu): %d runs, %d requests, %.1f s "
           "(+ %.1f s of replay)\n",
           (unsigned long long)seed_of(), WB_RUNS, total, t1 - t0, t2 - t1);
    print_kinds(seen);
    printf("  per request type (requests/faults):");
    for (int t = 0; t < WB_NTYPES; t++)
        printf("%s %s %d/%d", t ? "," : "", WB_TYPES[t].name, nreq[t],
               nfault[t]);
    printf("\n  host: %llu batch retries, %llu events dead-lettered, "
           "%d replay round(s) delivering %llu events\n",
           (unsigned long long)retried, (unsigned long long)dead, rounds,
           (unsigned long long)delivered);
    if (getenv("NETF_VERBOSE"))
        wb_dump(reqs);
    for (int k = 0; k < FK_N; k++)
        assert_int_equal(seen[k], by_kind[k]);
    for (int t = 0; t < WB_NTYPES; t++) {
        assert_int_equal(nfault[t], by_type[t]);
        if (nfault[t] == 0)
            fail_msg("no fault reached %s requests", WB_TYPES[t].name);
    }
    int rewrites = 0;
    for (int r = 0; r < WB_RUNS; r++)
        rewrites += wb_check_run(st, reqs, r);
    printf("  history lines sent again with the same content (lost "
           "answers): %d; sink log: %u warnings, %u errors\n",
           rewrites, log_warn, log_err);
    cJSON_Delete(st);
    cJSON_Delete(reqs);
    free(cfgpath);
    free(cfg);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* Paced rows (stream_interval_secs 0.2) and an outage of the first
 * WB_OUTAGE file_stream requests, longer than the retries of the run_end
 * batch and of the flushes at close: the end of the run must come back
 * as dead letters that a replay delivers, not stay stranded in the
 * journal after evt_close reported success. */
#define WB_OUTAGE 24
static void test_wandb_outage_at_end(void **state)
{
    (void)state;
    struct sb f = {0};
    sb_add(&f, "[{\"match\": \"file_stream\", \"action\": \"status\", "
               "\"status\": 503, \"retry_after\": \"0\", \"at\": [");
    for (int i = 1; i <= WB_OUTAGE; i++)
        sb_add(&f, "%s%d", i > 1 ? ", " : "", i);
    sb_add(&f, "]}]");
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, f.p, 0);
    free(f.p);
    char *cfg = wb_config(dir, "wb-out", s.url), err[EVT_ERRMSG_SIZE];
    const char *k = "\"stream_interval_secs\": 0";
    char *at = strstr(cfg, k);
    assert_non_null(at);
    char *paced = tu_fmt("%.*s\"stream_interval_secs\": 0.2%s",
                         (int)(at - cfg), cfg, at + strlen(k));
    free(cfg);
    cfg = paced;
    evt_tracker *t = NULL;
    if (evt_open_json(cfg, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    enum { N = 6 };
    for (int i = 0; i < N; i++)
        assert_int_equal(evt_log_scalar(t, "loss", 0.5 * i, i), EVT_OK);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 4}");
    uint64_t retried = 0, dead = 0, delivered = 0;
    struct evt_sink_stats st;
    evt_flush(t, 60000); /* may report the failure */
    assert_int_equal(evt_stats(t, &st, 1), 1);
    retried = st.retried;
    dead = st.dead_lettered;
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    char *cfgpath = tu_fmt("%s/replay.json", dir);
    tu_write_file(cfgpath, cfg);
    int rounds = replay_all(cfgpath, "wandb", &delivered);
    cJSON *reqs = fake_wandb_requests(&s);
    cJSON *sj = fake_wandb_state(&s);
    if (getenv("NETF_VERBOSE"))
        wb_dump(reqs);
    printf("wandb outage at the end of a paced run: %d file_stream "
           "requests refused, %llu batch retries, %llu events "
           "dead-lettered, %d replay round(s)\n",
           WB_OUTAGE, (unsigned long long)retried, (unsigned long long)dead,
           rounds);
    const char *key = "fake-entity/evals/wb-out";
    const cJSON *run = cJSON_GetObjectItem(cJSON_GetObjectItem(sj, "runs"),
                                           key);
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "files"),
                                         "wandb-history.jsonl");
    if (cJSON_GetArraySize(h) != N)
        fail_msg("%d of %d history lines reached the server",
                 cJSON_GetArraySize(h), N);
    for (int i = 0; i < N; i++) {
        cJSON *o = cJSON_Parse(cJSON_GetArrayItem(h, i)->valuestring);
        assert_non_null(o);
        assert_true(jnum(o, "loss") == 0.5 * i);
        assert_int_equal((int)jnum(o, "_step"), i);
        cJSON_Delete(o);
    }
    wb_check_acks(reqs, key, N);
    const cJSON *complete = cJSON_GetObjectItem(run, "complete");
    assert_true(cJSON_IsNumber(complete) && complete->valueint == 4);
    assert_true(dead > 0);
    assert_true(rounds >= 1);
    cJSON_Delete(sj);
    cJSON_Delete(reqs);
    free(cfgpath);
    free(cfg);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* ---- main --------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    setenv("HF_TOKEN", HUB_TOKEN, 1);
    setenv("WANDB_API_KEY", WB_KEY, 1);
    static const char *const unset[] = {
        "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT",   "WANDB_BASE_URL",
        "WANDB_PROJECT",          "WANDB_ENTITY",  "WANDB_MODE",
        "WANDB_RUN_ID",           "WANDB_NAME",    "WANDB_DIR",
        NULL};
    for (int i = 0; unset[i]; i++)
        unsetenv(unset[i]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    evt_set_log_handler(on_log, NULL);
    hub_logpath = NULL;
    char *dir = tu_tmpdir();
    hub_logpath = tu_fmt("%s/hub-log.json", dir);
    free(dir); /* the folder stays until teardown removes the log's */
    const char *args[] = {"--log", hub_logpath, "--token", HUB_TOKEN, NULL};
    /* the server's stderr (a stalled answer that meets a closed socket
     * prints a traceback) goes to a file next to its log */
    char *errf = tu_fmt("%s.err", hub_logpath);
    int keep = dup(2), fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    free(errf);
    if (keep < 0 || fd < 0)
        return -1;
    dup2(fd, 2);
    close(fd);
    int rc = fake_server_start(&hub, "hf_hub_server.py", args);
    dup2(keep, 2);
    close(keep);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_server_stop(&hub);
    char *dir = strdup(hub_logpath);
    *strrchr(dir, '/') = '\0';
    tu_rmtree(dir);
    free(hub_logpath);
    evt_set_log_handler(NULL, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_campaign),
        cmocka_unit_test(test_wandb_campaign),
        cmocka_unit_test(test_wandb_outage_at_end),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
