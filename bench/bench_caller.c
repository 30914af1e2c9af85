/* bench_caller.c -- what logging costs the caller's thread.
 *
 * Logs ~400-byte sample events (the shape of an lm-eval samples line)
 * through the builder to a null sink and prints, for 1 and 8 producer
 * threads: median and p99 ns per event (each event timed on its own,
 * minus the cost of reading the clock) and heap allocations per event on
 * the producer's thread (counted by wrapping malloc). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "evtrack/evtrack.h"

/* ---- malloc counting on the threads that ask for it ---------------------*/

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static _Thread_local int counting;
static _Thread_local unsigned long allocs;

void *malloc(size_t n)
{
    allocs += counting;
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    allocs += counting;
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    allocs += counting;
    return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }

/* ---- the event ------------------------------------------------------------*/

static const char prompt[] =
    "The following are multiple choice questions (with answers) about "
    "abstract algebra.\n\nFind all c in Z_3 such that Z_3[x]/(x^2 + c) is "
    "a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:";

/* A value as a harness has it: a string made at run time, whose length
 * the compiler cannot know (keys stay literals, as callers write them). */
static inline const char *rt(const char *s)
{
    __asm__("" : "+r"(s));
    return s;
}

static void log_sample(evt_tracker *t, int64_t i)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", rt("mmlu_abstract_algebra"));
    evt_int(e, "doc_id", i);
    evt_str(e, "target", rt("B"));
    evt_array_begin(e, "arguments");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, rt(prompt));
    evt_str(e, NULL, rt(" B"));
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, rt("-0.6931471805599453"));
    evt_str(e, NULL, rt("False"));
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, rt("-0.6931471805599453"));
    evt_array_end(e);
    evt_str(e, "doc_hash", rt("3f2a5b0c9e8d7f6a1b2c3d4e5f60718293a4b5c6d7e8f9"
                              "012345678901234567"));
    evt_str(e, "filter", rt("none"));
    evt_str(e, "metrics", rt("acc"));
    evt_double(e, "acc", 1.0);
    if (evt_commit(e) != EVT_OK) {
        fprintf(stderr, "commit failed\n");
        exit(1);
    }
}

/* The same sample as one ready msgpack map (the caller encoded it). */
static msgpack_sbuffer ready;

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void build_ready_sample(void)
{
    msgpack_sbuffer_init(&ready);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &ready, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    pack_str(&pk, "task"), pack_str(&pk, "mmlu_abstract_algebra");
    pack_str(&pk, "doc_id"), msgpack_pack_int64(&pk, 7);
    pack_str(&pk, "target"), pack_str(&pk, "B");
    pack_str(&pk, "arguments"), msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2), pack_str(&pk, prompt), pack_str(&pk, " B");
    pack_str(&pk, "resps"), msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2), pack_str(&pk, "-0.6931471805599453");
    pack_str(&pk, "False");
    pack_str(&pk, "filtered_resps"), msgpack_pack_array(&pk, 1);
    pack_str(&pk, "-0.6931471805599453");
    pack_str(&pk, "doc_hash");
    pack_str(&pk, "3f2a5b0c9e8d7f6a1b2c3d4e5f60718293a4b5c6d7e8f90123456789"
                  "01234567");
    pack_str(&pk, "filter"), pack_str(&pk, "none");
    pack_str(&pk, "metrics"), pack_str(&pk, "acc");
    pack_str(&pk, "acc"), msgpack_pack_double(&pk, 1.0);
}

static void log_ready_sample(evt_tracker *t, int64_t i)
{
    (void)i;
    if (evt_log_sample_msgpack(t, ready.data, ready.size) != EVT_OK) {
        fprintf(stderr, "log failed\n");
        exit(1);
    }
}

static void (*log_one)(evt_tracker *, int64_t) = log_sample;

/* ---- timing ------------------------------------------------------------------*/

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t clock_cost(void)
{
    int64_t best = INT64_MAX;
    for (int i = 0; i < 100000; i++) {
        int64_t a = now_ns(), b = now_ns();
        if (b - a < best)
            best = b - a;
    }
    return best;
}

struct run {
    evt_tracker *t;
    int n;
    int64_t *lat;
    unsigned long allocs;
    long warm; /* events logged before the measured ones */
};

/* Steady state: the pool allocates an event only when more are in flight
 * (queued or being written) than ever before, a number the queue bounds.
 * So warm up in rounds of WARM_ROUND events until one whole round
 * allocates nothing (at most WARM_MAX rounds), then measure. */
#define WARM_ROUND 100000
#define WARM_MAX 30

static void *producer(void *arg)
{
    struct run *r = arg;
    counting = 1;
    do {
        allocs = 0;
        for (int i = 0; i < WARM_ROUND; i++)
            log_one(r->t, i);
        r->warm += WARM_ROUND;
    } while (allocs && r->warm < (long)WARM_ROUND * WARM_MAX);
    allocs = 0;
    for (int i = 0; i < r->n; i++) {
        int64_t a = now_ns();
        log_one(r->t, i);
        r->lat[i] = now_ns() - a;
    }
    counting = 0;
    r->allocs = allocs;
    return NULL;
}

static evt_tracker *open_null(const char *dir)
{
    char json[1024], err[EVT_ERRMSG_SIZE];
    if (getenv("BENCH_NO_SINK"))
        snprintf(json, sizeof json,
                 "{\"output_dir\": \"%s\", \"sinks\": []}", dir);
    else
        snprintf(json, sizeof json,
                 "{\"output_dir\": \"%s\", \"sinks\": [{\"path\": "
                 "\"%s\", \"name\": \"null\"}]}", dir, BENCH_NULL_SINK);
    evt_tracker *t;
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        exit(1);
    }
    return t;
}

static char last_log[256];

static void keep_log(void *ud, int level, const char *msg)
{
    (void)ud, (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void bench(const char *path, int threads, int per_thread, int64_t clk)
{
    char dir[] = "/tmp/evt-bench-XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    evt_tracker *t = open_null(dir);
    struct run r[8];
    pthread_t th[8];
    int64_t *all = __libc_malloc(sizeof *all * (size_t)threads * per_thread);
    for (int i = 0; i < threads; i++) {
        r[i] = (struct run){t, per_thread, all + (size_t)i * per_thread, 0, 0};
        pthread_create(&th[i], NULL, producer, &r[i]);
    }
    unsigned long allocs_total = 0;
    long warm = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        allocs_total += r[i].allocs;
        warm = r[i].warm > warm ? r[i].warm : warm;
    }
    evt_close(t, -1);
    size_t n = (size_t)threads * per_thread;
    qsort(all, n, sizeof *all, cmp_i64);
    printf("%-10s %-8d %10lld %10lld %14.4f %12ld\n", path, threads,
           (long long)(all[n / 2] - clk), (long long)(all[n * 99 / 100] - clk),
           (double)allocs_total / (double)n, warm);
    printf("RESULT caller_%s_%dt_median_ns %lld\n", path, threads,
           (long long)(all[n / 2] - clk));
    printf("RESULT caller_%s_%dt_p99_ns %lld\n", path, threads,
           (long long)(all[n * 99 / 100] - clk));
    printf("RESULT caller_%s_%dt_allocs_per_event %.4f\n", path, threads,
           (double)allocs_total / (double)n);
    printf("RESULT caller_%s_%dt_allocs %lu\n", path, threads, allocs_total);
    printf("RESULT caller_%s_%dt_warmup_events %ld\n", path, threads, warm);
    __libc_free(all);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* bench_caller [N [builder|msgpack [THREADS]]]: with a path, runs only
 * that row (for profiling). */
int main(int argc, char **argv)
{
    int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1000000;
    const char *only = argc > 2 ? argv[2] : NULL;
    int threads = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 1;
    if (threads < 1 || threads > 8)
        threads = 1;
    int64_t clk = clock_cost();
    evt_set_log_handler(keep_log, NULL);
    printf("caller cost of one ~400 B sample event (builder, null sink)\n");
    printf("clock read cost subtracted: %lld ns\n", (long long)clk);
    printf("%-10s %-8s %10s %10s %14s %12s\n", "path", "threads",
           "median_ns", "p99_ns", "allocs/event", "warm-up");
    build_ready_sample();
    if (only) {
        if (strcmp(only, "msgpack") == 0)
            log_one = log_ready_sample;
        bench(only, threads, n / threads, clk);
    } else {
        bench("builder", 1, n, clk);
        bench("builder", 8, n / 8, clk);
        log_one = log_ready_sample;
        bench("msgpack", 1, n, clk);
        bench("msgpack", 8, n / 8, clk);
    }
    msgpack_sbuffer_destroy(&ready);
    printf("event size: %s\n", last_log);
    return 0;
}
