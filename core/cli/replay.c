/* replay.c -- `evtrack replay [-c CONFIG] [--sink NAME]... [--dry-run]`:
 * send the events that sinks dead-lettered again, through those sink
 * instances only (core/replay.c does the work; see docs/REPLAY.md). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evtrack/evtrack.h"

#include "../replay.h"
#include "replay.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define DEFAULT_CONFIG "evtrack.json"
#define RUN_IDS_SHOWN 10

static const char usage_replay[] =
    "usage: evtrack replay [-c CONFIG] [--sink NAME]... [--dry-run]\n"
    "\n"
    "Send again the events that sinks dead-lettered (their retries ran\n"
    "out, or write() failed) to <state_dir>/rejected/<name>.spool, through\n"
    "those sink instances only: the other sinks of CONFIG receive nothing.\n"
    "Events keep their order, run_id and seq. A batch is marked consumed\n"
    "only once the sink accepted it; events that fail again stay in the\n"
    "dead-letter file for the next replay. A replay that was killed resumes\n"
    "where it stopped: at most the batch that was in flight is sent twice,\n"
    "none is skipped (see docs/REPLAY.md).\n"
    "\n"
    "options:\n"
    "  -c, --config CONFIG     the evtrack config (default: ./" DEFAULT_CONFIG
    ")\n"
    "  --sink NAME             replay this sink instance only (repeatable);\n"
    "                          default: every enabled sink with dead letters\n"
    "  --dry-run               list what would be sent (per sink: count, run\n"
    "                          ids, kinds) and send nothing\n"
    "  -h, --help              show this help\n"
    "\n"
    "For each sink it prints: delivered N, failed M, left K.\n"
    "\n"
    "exit codes: 0 every dead letter delivered (or none to send), 1 some\n"
    "failed again and were kept (or a dead-letter file could not be used),\n"
    "2 usage or config error (also an unknown or disabled --sink)\n";

static const char *const kind_names[6] = {
    "run_start", "task_config", "sample", "result", "scalar", "run_end"};

struct opts {
    const char *config;
    const char **sinks; /* --sink values */
    size_t nsinks;
    int dry_run;
};

/* ---- arguments -----------------------------------------------------------*/

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

/* 0, or -1 on bad usage (o->sinks has room for argc values). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return -1;
            o->config = argv[++i];
        } else if (strcmp(a, "--sink") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return -1;
            o->sinks[o->nsinks++] = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

/* ---- choosing the sinks --------------------------------------------------*/

static const struct evt_replay_sink *
find_sink(const struct evt_replay_sink *all, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0)
            return &all[i];
    return NULL;
}

static void print_names(const struct evt_replay_sink *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", all[i].name);
    if (n == 0)
        fputs("none", stderr);
}

/* Every --sink names an enabled sink of the config; 0 or -1 (reported). */
static int check_named(const struct opts *o, const struct evt_replay_sink *all,
                       size_t n)
{
    for (size_t i = 0; i < o->nsinks; i++) {
        const struct evt_replay_sink *s = find_sink(all, n, o->sinks[i]);
        if (!s) {
            fprintf(stderr, "evtrack replay: --sink \"%s\": %s has no sink "
                    "of that name (its sinks: ", o->sinks[i], o->config);
            print_names(all, n);
            fputs(")\n", stderr);
            return -1;
        }
        if (!s->enabled && !o->dry_run) {
            fprintf(stderr, "evtrack replay: --sink \"%s\": the sink is "
                    "disabled in %s (\"enabled\": false); enable it to "
                    "replay its dead letters\n", o->sinks[i], o->config);
            return -1;
        }
    }
    return 0;
}

/* The sinks to replay, by default: the enabled ones with dead letters.
 * Disabled ones with dead letters are only mentioned. */
static size_t pick_default(const struct evt_replay_sink *all, size_t n,
                           const struct opts *o, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (all[i].pending == 0)
            continue;
        if (all[i].enabled || o->dry_run)
            out[k++] = all[i].name;
        else
            fprintf(stderr, "evtrack replay: sink %s is disabled in %s: its "
                    "%" PRIu64 " dead letters are left as they are\n",
                    all[i].name, o->config, all[i].pending);
    }
    return k;
}

/* The config's sinks into *all (heap); their count, or -1 (reported). */
static long list_sinks(const char *config, struct evt_replay_sink **all)
{
    char err[EVT_ERRMSG_SIZE];
    *all = NULL;
    int n = evt_replay_list(config, NULL, 0, err, sizeof err);
    if (n > 0) {
        *all = calloc((size_t)n, sizeof **all);
        if (!*all) {
            fputs("evtrack replay: out of memory\n", stderr);
            return -1;
        }
        n = evt_replay_list(config, *all, (size_t)n, err, sizeof err);
    }
    if (n < 0) {
        fprintf(stderr, "evtrack replay: %s\n", err);
        return n == EVT_ECONFIG || n == EVT_EABI || n == EVT_EINVAL ? -2 : -1;
    }
    return n;
}

/* ---- --dry-run -----------------------------------------------------------*/

struct run_count {
    char *id;
    uint64_t n;
};

struct dry {
    uint64_t n, kinds[6], other_kinds;
    struct run_count *runs;
    size_t nruns, cap;
    int oom;
};

static void count_run(struct dry *d, const char *run_id)
{
    if (d->nruns && strcmp(d->runs[d->nruns - 1].id, run_id) == 0) {
        d->runs[d->nruns - 1].n++; /* runs come in long stretches */
        return;
    }
    for (size_t i = 0; i < d->nruns; i++)
        if (strcmp(d->runs[i].id, run_id) == 0) {
            d->runs[i].n++;
            return;
        }
    if (d->nruns == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct run_count *r = realloc(d->runs, cap * sizeof *r);
        if (!r) {
            d->oom = 1;
            return;
        }
        d->runs = r;
        d->cap = cap;
    }
    size_t len = strlen(run_id);
    char *id = malloc(len + 1);
    if (!id) {
        d->oom = 1;
        return;
    }
    memcpy(id, run_id, len + 1);
    d->runs[d->nruns++] = (struct run_count){id, 1};
}

static void visit(void *ud, const char *run_id, uint32_t kind, uint64_t seq)
{
    struct dry *d = ud;
    (void)seq;
    d->n++;
    int known = 0;
    for (unsigned i = 0; i < 6; i++)
        if (kind == (1u << i)) {
            d->kinds[i]++;
            known = 1;
        }
    d->other_kinds += !known;
    count_run(d, run_id);
}

static void print_dry(const char *sink, const struct dry *d)
{
    printf("sink %s: %" PRIu64 " events would be sent\n", sink, d->n);
    if (d->n == 0)
        return;
    printf("  run ids:");
    for (size_t i = 0; i < d->nruns && i < RUN_IDS_SHOWN; i++)
        printf("%s %s (%" PRIu64 ")", i ? "," : "", d->runs[i].id,
               d->runs[i].n);
    if (d->nruns > RUN_IDS_SHOWN)
        printf(", and %zu more", d->nruns - RUN_IDS_SHOWN);
    printf("\n  kinds:");
    int first = 1;
    for (unsigned i = 0; i < 6; i++)
        if (d->kinds[i]) {
            printf("%s %s %" PRIu64, first ? "" : ",", kind_names[i],
                   d->kinds[i]);
            first = 0;
        }
    if (d->other_kinds)
        printf("%s unknown %" PRIu64, first ? "" : ",", d->other_kinds);
    printf("\n");
}

static int dry_run_one(const char *config, const char *sink)
{
    struct dry d = {0};
    char err[EVT_ERRMSG_SIZE];
    int rc = evt_replay_scan(config, sink, visit, &d, err, sizeof err);
    if (rc == EVT_OK && !d.oom)
        print_dry(sink, &d);
    else
        fprintf(stderr, "evtrack replay: %s\n",
                rc != EVT_OK ? err : "out of memory");
    for (size_t i = 0; i < d.nruns; i++)
        free(d.runs[i].id);
    free(d.runs);
    return rc == EVT_OK && !d.oom ? 0 : EXIT_RUNTIME;
}

/* ---- replay --------------------------------------------------------------*/

struct bar {
    int shown;
};

static void progress(void *ud, const char *sink, uint64_t done,
                     uint64_t total)
{
    struct bar *b = ud;
    if (total == 0)
        return;
    uint64_t pct = done >= total ? 100 : done * 100 / total;
    char hashes[41];
    memset(hashes, '#', (size_t)pct * 40 / 100);
    memset(hashes + pct * 40 / 100, '.', 40 - (size_t)pct * 40 / 100);
    hashes[40] = '\0';
    fprintf(stderr, "\r[%s] %3u%% %s %" PRIu64 "/%" PRIu64, hashes,
            (unsigned)pct, sink, done, total);
    fflush(stderr);
    b->shown = 1;
}

static void print_result(const char *sink, const struct evt_replay_result *r)
{
    printf("sink %s: delivered %" PRIu64 ", failed %" PRIu64 ", left %" PRIu64,
           sink, r->delivered, r->failed, r->left);
    if (r->lost)
        printf(", lost %" PRIu64, r->lost);
    printf("%s\n", r->resumed ? " (an interrupted replay was resumed)" : "");
    if (r->left)
        printf("  %" PRIu64 " events are kept in rejected/%s.spool: run "
               "evtrack replay again to retry them\n", r->left, sink);
    if (r->incomplete)
        printf("  a dead-letter file could not be read or written, or the "
               "sink's flush failed (see the messages above)\n");
}

static int replay_one(const char *config, const char *sink)
{
    struct bar b = {0};
    struct evt_replay_result res;
    char err[EVT_ERRMSG_SIZE];
    int tty = isatty(STDERR_FILENO);
    int rc = evt_replay_run(config, sink, tty ? progress : NULL, &b, &res,
                            err, sizeof err);
    if (b.shown)
        fputc('\n', stderr);
    if (rc != EVT_OK) {
        fprintf(stderr, "evtrack replay: %s\n", err);
        return rc == EVT_ECONFIG || rc == EVT_EABI ? EXIT_USAGE
                                                   : EXIT_RUNTIME;
    }
    print_result(sink, &res);
    fflush(stdout);
    int bad = res.failed || res.lost || res.left || res.incomplete;
    return bad ? EXIT_RUNTIME : 0;
}

/* ---- the command ---------------------------------------------------------*/

/* Replay (or list) the chosen sinks; the exit code. */
static int run_sinks(const struct opts *o, const char **names, size_t n)
{
    int code = 0;
    if (n == 0)
        printf("nothing to replay: no sink of %s has dead letters\n",
               o->config);
    for (size_t i = 0; i < n; i++) {
        int c = o->dry_run ? dry_run_one(o->config, names[i])
                           : replay_one(o->config, names[i]);
        if (c > code)
            code = c;
    }
    return code;
}

static int replay_main(struct opts *o)
{
    char err[EVT_ERRMSG_SIZE];
    if (evt_check_config(o->config, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "evtrack replay: %s\n", err);
        return EXIT_USAGE;
    }
    struct evt_replay_sink *all;
    long n = list_sinks(o->config, &all);
    if (n < 0)
        return n == -2 ? EXIT_USAGE : EXIT_RUNTIME;
    int code = EXIT_USAGE;
    const char **names = calloc((size_t)n + 1, sizeof *names);
    if (!names)
        fputs("evtrack replay: out of memory\n", stderr);
    else if (check_named(o, all, (size_t)n) == 0) {
        size_t k = o->nsinks;
        if (k)
            memcpy(names, o->sinks, k * sizeof *names);
        else
            k = pick_default(all, (size_t)n, o, names);
        code = run_sinks(o, names, k);
    }
    free(names);
    free(all);
    return code;
}

/* Drop repeated --sink values (keeping the first). */
static void dedupe(struct opts *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->nsinks; i++) {
        size_t j = 0;
        while (j < k && strcmp(o->sinks[j], o->sinks[i]) != 0)
            j++;
        if (j == k)
            o->sinks[k++] = o->sinks[i];
    }
    o->nsinks = k;
}

int evt_cli_replay(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_replay, stdout);
        return 0;
    }
    struct opts o = {.config = DEFAULT_CONFIG};
    o.sinks = calloc((size_t)argc + 1, sizeof *o.sinks);
    if (!o.sinks) {
        fputs("evtrack replay: out of memory\n", stderr);
        return EXIT_RUNTIME;
    }
    int code;
    if (parse_args(argc, argv, &o) != 0) {
        fputs(usage_replay, stderr);
        code = EXIT_USAGE;
    } else {
        dedupe(&o);
        code = replay_main(&o);
    }
    free(o.sinks);
    return code;
}
