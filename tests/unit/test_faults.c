/* test_faults.c -- fault injection (issue #7, "Fault injection").
 *
 * Each test breaks one thing under a tracker that also feeds healthy
 * sinks, and checks that the host keeps working (every evt_log_* call
 * returns EVT_OK and never waits for the broken sink), that the other
 * sinks get every event, that the failure is reported with its cause
 * (captured through evt_set_log_handler), that the counters of evt_stats
 * add up (queued == written + dead_lettered per sink, nothing dropped),
 * and that what did not reach the broken sink is kept on disk and
 * delivered by the next process or by `evtrack replay`:
 *
 *  - a full disk: output_dir on a 256 KiB tmpfs (ENOSPC), in a child in
 *    its own mount namespace; skipped when mounting is not permitted;
 *  - an unwritable output directory (ENOTDIR: a file where a folder
 *    should be; EACCES too when not run as root);
 *  - a sink that hangs in write(), one that returns EVT_RETRY forever,
 *    and sinks that fail in create() (the test sink, and a bad config
 *    value of each local sink);
 *  - write errors in the middle of a record (RLIMIT_FSIZE with SIGXFSZ
 *    ignored, in a child: writes fail with EFBIG past the limit) for
 *    tensorboard-events (the batch is cut back and retried: every record
 *    once, no torn record in the middle, also after a batch that gave up),
 *    jsonl (the cut line is removed when the file is reopened; no line
 *    twice) and local-json (the last complete version stays). */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "rel_helpers.h"

#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "spool.h"
#include "tb_reader.h"

#define MODEL "evtrack/fault-model"
#define MODEL_DIR "evtrack__fault-model"
#define RUN_DATE "2026-02-02T00:00:00"
#define RETRY_FAST "\"retry\": {\"limit\": 2, \"base_ms\": 1, \"cap_ms\": 2}"

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rh_log_stop();
    rh_log_clear();
    chmod(f->dir, 0755);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- events ----------------------------------------------------------------*/

/* What a workload logged, by kind, and the seq of each sample / scalar
 * (seq 1 is run_start). */
struct load {
    long samples, scalars, results, total;
    uint64_t next_seq;
    uint64_t *sample_seq, *scalar_seq; /* index -> seq */
    long cap;
};

static void load_init(struct load *ld, long cap)
{
    memset(ld, 0, sizeof *ld);
    ld->cap = cap;
    ld->next_seq = 1;
    ld->sample_seq = calloc((size_t)cap, sizeof *ld->sample_seq);
    ld->scalar_seq = calloc((size_t)cap, sizeof *ld->scalar_seq);
    assert_non_null(ld->sample_seq);
    assert_non_null(ld->scalar_seq);
}

static void load_free(struct load *ld)
{
    free(ld->sample_seq);
    free(ld->scalar_seq);
}

static int log_run_start(evt_tracker *t, struct load *ld)
{
    int rc = evt_log_json(t, EVT_EV_RUN_START,
                          "{\"model_name\": \"" MODEL "\", \"model_args\": "
                          "\"pretrained=" MODEL "\", \"date\": \"" RUN_DATE
                          "\"}");
    ld->total++;
    ld->next_seq++;
    return rc;
}

static int log_sample(evt_tracker *t, struct load *ld, const char *task,
                      long i)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", task);
    evt_int(e, "doc_id", i);
    evt_str(e, "target", "B");
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, "B");
    evt_array_end(e);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", i % 3 == 0);
    evt_map_end(e);
    evt_str(e, "input", "Question: which letter comes after A? Think it "
                        "through before you answer.\nAnswer:");
    int rc = evt_commit(e);
    if (i >= 0 && i < ld->cap)
        ld->sample_seq[i] = ld->next_seq;
    ld->samples++;
    ld->total++;
    ld->next_seq++;
    return rc;
}

static int log_scalar(evt_tracker *t, struct load *ld, long step)
{
    int rc = evt_log_scalar(t, "train/i", (double)step, step);
    if (step >= 0 && step < ld->cap)
        ld->scalar_seq[step] = ld->next_seq;
    ld->scalars++;
    ld->total++;
    ld->next_seq++;
    return rc;
}

static int log_result(evt_tracker *t, struct load *ld, const char *task,
                      double v, long step)
{
    int rc = evt_log_result(t, task, "last", NULL, v, NAN, step);
    ld->results++;
    ld->total++;
    ld->next_seq++;
    return rc;
}

static int log_run_end(evt_tracker *t, struct load *ld)
{
    ld->total++;
    ld->next_seq++;
    return evt_log_run_end(t);
}

/* Samples from..to-1 (tasks fault_a / fault_b), a scalar every 2nd, a
 * result every 100th (each followed by a flush whose status is counted in
 * *flush_fail when not EVT_OK). The first status other than EVT_OK of a
 * log call, or EVT_OK. */
static int workload(evt_tracker *t, struct load *ld, long from, long to,
                    int *flush_fail)
{
    for (long i = from; i < to; i++) {
        int rc = log_sample(t, ld, i % 2 ? "fault_b" : "fault_a", i);
        if (rc == EVT_OK && i % 2 == 0)
            rc = log_scalar(t, ld, i);
        if (rc == EVT_OK && (i + 1) % 100 == 0) {
            rc = log_result(t, ld, "fault_a", (double)i, i);
            if (rc == EVT_OK && evt_flush(t, 60000) != EVT_OK && flush_fail)
                (*flush_fail)++;
        }
        if (rc != EVT_OK)
            return rc;
    }
    return EVT_OK;
}

/* ---- reading back -----------------------------------------------------------*/

struct drec {
    char run[40];
    uint64_t seq;
    uint32_t kind;
};

/* The records after the cursor of a spool-format file. */
static size_t spool_records(const char *path, struct drec **out)
{
    size_t n = 0, cap = 64;
    *out = calloc(cap, sizeof **out);
    if (!rh_exists(path))
        return 0;
    struct evt__spool *s;
    char err[512];
    if (evt__spool_open(path, 0, &s, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    const unsigned char *r;
    size_t len;
    while (evt__spool_next(s, (const void **)&r, &len) == 1) {
        if (n == cap)
            *out = realloc(*out, (cap *= 2) * sizeof **out);
        size_t rl = (size_t)r[2] | (size_t)r[3] << 8;
        struct drec *d = &(*out)[n++];
        d->kind = (uint32_t)r[4] | (uint32_t)r[5] << 8;
        d->seq = 0;
        for (int i = 7; i >= 0; i--)
            d->seq = d->seq << 8 | r[8 + i];
        snprintf(d->run, sizeof d->run, "%.*s", (int)rl,
                 (const char *)r + 32);
    }
    evt__spool_close(s);
    return n;
}

/* seq -> how many times a test-sink record file holds it (run ignored). */
static uint8_t *record_counts(const char *path, uint64_t max_seq,
                              size_t *lines)
{
    uint8_t *c = calloc((size_t)max_seq + 2, 1);
    assert_non_null(c);
    char *text = tu_read_file(path, NULL);
    *lines = 0;
    for (char *l = text, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        if (*l == '#')
            continue;
        unsigned long long seq = strtoull(l, NULL, 10);
        if (seq == 0 || seq > max_seq)
            fail_msg("%s: a record of seq %llu (at most %llu were logged)",
                     path, seq, (unsigned long long)max_seq);
        if (c[seq] < 255)
            c[seq]++;
        (*lines)++;
    }
    free(text);
    return c;
}

/* doc ids of the JSONL lines under dir (all samples files), counted. */
struct docs {
    uint8_t *count;
    long cap, lines;
};

static void count_doc(void *ud, const cJSON *o)
{
    struct docs *d = ud;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "doc_id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 0 ||
        id->valuedouble >= (double)d->cap)
        fail_msg("a JSONL line without a valid doc_id");
    long i = (long)id->valuedouble;
    if (d->count[i] < 255)
        d->count[i]++;
    d->lines++;
}

static void docs_in(const char *dir, long cap, struct docs *d)
{
    d->cap = cap;
    d->lines = 0;
    d->count = calloc((size_t)cap, 1);
    struct rh_paths ps = {0};
    rh_list_files(dir, ".jsonl", &ps);
    for (size_t i = 0; i < ps.n; i++) {
        char err[600];
        if (rh_jsonl_scan(ps.p[i], 0, NULL, count_doc, d, err, sizeof err) <
            0)
            fail_msg("%s", err);
    }
    rh_paths_free(&ps);
}

/* Steps of the train/i scalars in every event file under dir (each must
 * parse whole: no torn record, every CRC right), counted. */
static uint8_t *tb_steps(const char *dir, long cap, long *records,
                         char *err, size_t errlen)
{
    uint8_t *c = calloc((size_t)cap, 1);
    struct rh_paths ps = {0};
    rh_list_files(dir, "events.out.tfevents.", &ps);
    *records = 0;
    for (size_t i = 0; i < ps.n && c; i++) {
        struct tbr_file tf;
        if (tbr_load_path(&tf, ps.p[i], err, errlen) != TBR_OK ||
            tf.recs.torn) {
            if (tf.recs.torn)
                snprintf(err, errlen, "%s: a torn record at offset %zu",
                         ps.p[i], tf.recs.torn_offset);
            tbr_file_free(&tf);
            free(c);
            c = NULL;
            break;
        }
        for (size_t r = 0; r < tf.n; r++)
            for (size_t v = 0; v < tf.ev[r].nvalues; v++)
                if (tbr_bytes_eq(&tf.ev[r].values[v].tag, "train/i") &&
                    tf.ev[r].step >= 0 && tf.ev[r].step < cap) {
                    if (c[tf.ev[r].step] < 255)
                        c[tf.ev[r].step]++;
                    (*records)++;
                }
        tbr_file_free(&tf);
    }
    rh_paths_free(&ps);
    return c;
}

/* Each sink's counters add up: everything queued was written or
 * dead-lettered, nothing dropped. */
static void check_counters(evt_tracker *t, const char *const *names,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct evt_sink_stats st = {0};
        if (!rh_stats_of(t, names[i], &st))
            fail_msg("no sink %s", names[i]);
        if (st.queued + st.spilled != st.written + st.dead_lettered ||
            st.dropped || st.depth)
            fail_msg("sink %s: queued %llu + spilled %llu != written %llu + "
                     "dead-lettered %llu (dropped %llu, depth %llu)",
                     names[i], (unsigned long long)st.queued,
                     (unsigned long long)st.spilled,
                     (unsigned long long)st.written,
                     (unsigned long long)st.dead_lettered,
                     (unsigned long long)st.dropped,
                     (unsigned long long)st.depth);
    }
}

/* The same in a child: 0, or -1 with the reason on stderr. */
static int child_counters(evt_tracker *t, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct evt_sink_stats st;
        if (!rh_stats_of(t, names[i], &st) ||
            st.queued + st.spilled != st.written + st.dead_lettered ||
            st.dropped || st.depth) {
            fprintf(stderr, "sink %s: queued %llu spilled %llu written %llu "
                    "dead-lettered %llu dropped %llu depth %llu\n", names[i],
                    (unsigned long long)st.queued,
                    (unsigned long long)st.spilled,
                    (unsigned long long)st.written,
                    (unsigned long long)st.dead_lettered,
                    (unsigned long long)st.dropped,
                    (unsigned long long)st.depth);
            return -1;
        }
    }
    return 0;
}

static uint64_t stat_of(evt_tracker *t, const char *name, int which)
{
    struct evt_sink_stats st;
    if (!rh_stats_of(t, name, &st))
        return 0;
    switch (which) {
    case 0: return st.written;
    case 1: return st.dead_lettered;
    case 2: return st.retried;
    case 3: return st.queued;
    default: return (uint64_t)st.enabled;
    }
}

enum { ST_WRITTEN, ST_DEAD, ST_RETRIED, ST_QUEUED, ST_ENABLED };

/* Every log message of sink name at level error/warn holding needle. */
static size_t sink_logs(int level, const char *name, const char *needle)
{
    char *prefix = tu_fmt("sink \"%s\": ", name);
    size_t n = rh_log_count(level, prefix, needle, NULL);
    free(prefix);
    return n;
}

/* The healthy sink name logged no error. */
static void no_errors_from(const char *name)
{
    if (sink_logs(EVT_LOG_ERROR, name, "") == 0)
        return;
    char *all = rh_log_text();
    fail_msg("sink %s logged errors:\n%s", name, all);
}

static char *config_text(const char *out, const char *state,
                         const char *sinks)
{
    return tu_fmt("{\"output_dir\": \"%s\", \"state_dir\": \"%s\", "
                  "\"run_id\": \"faults\", \"sinks\": [%s]}",
                  out, state, sinks);
}

static evt_tracker *open_or_fail(const char *json, const char *dir)
{
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    if (evt_open_json(json, dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    return t;
}

/* Run `evtrack replay -c cfg`; it must exit 0 with want in its output. */
static void replay_ok(const char *dir, const char *cfg_path,
                      const char *want)
{
    char *args = tu_fmt("replay -c %s", cfg_path), *out;
    int rc = rh_cli(dir, args, &out);
    if (rc != 0 || (want && !strstr(out, want)))
        fail_msg("evtrack %s: exit %d, output:\n%s\n(want \"%s\")", args, rc,
                 out, want ? want : "");
    free(args), free(out);
}

static void write_config(const char *path, const char *json)
{
    tu_write_file(path, json);
}

/* ======================================================================
 * A full disk: ENOSPC on a small tmpfs
 * ====================================================================== */

#define DF_PHASE1 1500
#define DF_TOTAL 2000
#define SKIP_CODE 77

static char *diskfull_sinks(const char *dir)
{
    char *rec = tu_fmt("%s/other.rec", dir);
    char *a = rh_sink("results", "local-json", RETRY_FAST, "");
    char *b = rh_sink("samples", "jsonl", RETRY_FAST, "");
    char *c = rh_sink("tb", "tensorboard-events", RETRY_FAST,
                      "\"flush_secs\": 0");
    char *d = rh_sink("table", "markdown-table", RETRY_FAST,
                      "\"stdout\": false");
    char *e = rh_test_sink("other", rec, "",
                           "\"record_msgpack\": false");
    char *s = tu_fmt("%s, %s, %s, %s, %s", a, b, c, d, e);
    free(rec), free(a), free(b), free(c), free(d), free(e);
    return s;
}

static void diskfull_child(const char *dir)
{
    char *out = tu_fmt("%s/out", dir);
    if (mkdir(out, 0755) != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("evt-test", out, "tmpfs", MS_NOSUID | MS_NODEV,
              "size=256k") != 0)
        rh_child_exit(SKIP_CODE);
    /* Fill it, then leave 40 KiB free. */
    char *filler = tu_fmt("%s/filler", out);
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    RH_CK(fd >= 0, "filler: %s", strerror(errno));
    static char block[4096];
    long long size = 0;
    for (;;) {
        ssize_t w = write(fd, block, sizeof block);
        if (w <= 0)
            break;
        size += w;
    }
    RH_CK(errno == ENOSPC, "filling the tmpfs: %s", strerror(errno));
    RH_CK(ftruncate(fd, size > 40960 ? size - 40960 : 0) == 0, "truncate");
    close(fd);
    char *logp = tu_fmt("%s/child.log", dir);
    rh_log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    rh_log_start();
    char *sinks = diskfull_sinks(dir), *state = tu_fmt("%s/state", dir);
    char *json = config_text(out, state, sinks);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    RH_CK(evt_open_json(json, dir, &t, err, sizeof err) == EVT_OK, "open: %s",
          err);
    struct load ld;
    load_init(&ld, DF_TOTAL);
    int flush_fail = 0;
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    int rc = workload(t, &ld, 0, DF_PHASE1, &flush_fail);
    RH_CK(rc == EVT_OK, "logging on a full disk: %s", evt_status_name(rc));
    RH_CK(flush_fail > 0, "no flush failed on a full disk");
    RH_CK(stat_of(t, "samples", ST_DEAD) > 0, "jsonl dead-lettered nothing");
    RH_CK(stat_of(t, "other", ST_WRITTEN) == (uint64_t)ld.total,
          "the healthy sink got %llu of %ld events",
          (unsigned long long)stat_of(t, "other", ST_WRITTEN), ld.total);
    RH_CK(rh_log_count(EVT_LOG_ERROR, "No space left on device", NULL,
                       NULL) > 0, "the cause was not logged");
    /* Space is back: the sinks go on by themselves. */
    RH_CK(unlink(filler) == 0, "unlink filler");
    int fail2 = 0;
    rc = workload(t, &ld, DF_PHASE1, DF_TOTAL, &fail2);
    RH_CK(rc == EVT_OK, "logging after the disk was freed");
    RH_CK(log_run_end(t, &ld) == EVT_OK, "run_end");
    rc = evt_flush(t, 60000);
    char last[512] = "";
    evt_last_error(t, last, sizeof last);
    RH_CK(rc == EVT_OK, "flush with space again: %s (%s)",
          evt_status_name(rc), last);
    static const char *const names[] = {"results", "samples", "tb", "table",
                                        "other"};
    RH_CK(child_counters(t, names, 5) == 0, "counters");
    RH_CK(stat_of(t, "other", ST_DEAD) == 0, "other dead-lettered");
    /* Figures for the parent. */
    char *fig = tu_fmt("%s/child.txt", dir);
    char *txt = tu_fmt(
        "flush_fail %d\nsamples_dead %llu\ntb_dead %llu\nresults_dead %llu\n"
        "table_dead %llu\nretried %llu\nerrors %zu\n",
        flush_fail, (unsigned long long)stat_of(t, "samples", ST_DEAD),
        (unsigned long long)stat_of(t, "tb", ST_DEAD),
        (unsigned long long)stat_of(t, "results", ST_DEAD),
        (unsigned long long)stat_of(t, "table", ST_DEAD),
        (unsigned long long)(stat_of(t, "samples", ST_RETRIED) +
                             stat_of(t, "tb", ST_RETRIED) +
                             stat_of(t, "results", ST_RETRIED) +
                             stat_of(t, "table", ST_RETRIED)),
        rh_log_count(EVT_LOG_ERROR, "No space left on device", NULL, NULL));
    tu_write_file(fig, txt);
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    /* The tmpfs goes with this process: keep a copy of what it holds. */
    unlink(filler);
    char *copy = tu_fmt("%s/copy", dir);
    RH_CK(rh_copy_tree(out, copy) == 0, "copy");
    rh_child_exit(0);
}

/* 1 when one line of text holds every non-NULL needle. */
static int line_has(const char *text, const char *a, const char *b,
                    const char *c)
{
    for (const char *l = text; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        char *line = strndup(l, n);
        int hit = (!a || strstr(line, a)) && (!b || strstr(line, b)) &&
                  (!c || strstr(line, c));
        free(line);
        if (hit)
            return 1;
        l = nl ? nl + 1 : NULL;
    }
    return 0;
}

static long figure(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    assert_non_null(p);
    return strtol(p + strlen(key), NULL, 10);
}

static void test_disk_full_enospc(void **state)
{
    struct fx *f = *state;
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        diskfull_child(f->dir);
    int st = rh_wait(pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_CODE) {
        printf("[ faults ] disk full: no tmpfs can be mounted here (needs "
               "root in a mount namespace); skipped\n");
        skip();
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("the disk-full child failed (status %d): see above", st);
    char *figp = tu_fmt("%s/child.txt", f->dir);
    char *fig = tu_read_file(figp, NULL);
    assert_non_null(fig);
    long samples_dead = figure(fig, "samples_dead "),
         tb_dead = figure(fig, "tb_dead ");
    /* The cause, named with the file, for each sink that failed. */
    char *logp = tu_fmt("%s/child.log", f->dir);
    char *log = tu_read_file(logp, NULL);
    assert_non_null(log);
    assert_true(line_has(log, "sink \"samples\": ", "_samples_fault_",
                         "No space left on device"));
    assert_true(line_has(log, "sink \"results\": cannot write the results "
                              "file: ", "No space left on device", NULL));
    /* Files: whole, and every sample and scalar either there (once) or a
     * dead letter. */
    char *copy = tu_fmt("%s/copy", f->dir);
    struct docs d;
    docs_in(copy, DF_TOTAL, &d);
    char *state_dir = tu_fmt("%s/state", f->dir);
    char *rej = tu_fmt("%s/rejected/samples.spool", state_dir);
    struct drec *dl;
    size_t ndl = spool_records(rej, &dl);
    struct load ld; /* the seqs the child gave its events */
    load_init(&ld, DF_TOTAL);
    {
        /* Recompute the seq of each sample and scalar (workload order). */
        ld.next_seq = 2;
        for (long i = 0; i < DF_TOTAL; i++) {
            ld.sample_seq[i] = ld.next_seq++;
            if (i % 2 == 0)
                ld.scalar_seq[i] = ld.next_seq++;
            if ((i + 1) % 100 == 0)
                ld.next_seq++;
        }
    }
    uint8_t *in_dl = calloc(ld.next_seq + 2, 1);
    for (size_t i = 0; i < ndl; i++)
        if (dl[i].seq < ld.next_seq + 2)
            in_dl[dl[i].seq] = 1;
    long both = 0;
    for (long i = 0; i < DF_TOTAL; i++) {
        int dead = in_dl[ld.sample_seq[i]];
        if (d.count[i] > 1)
            fail_msg("sample %ld is %u times in the samples files", i,
                     d.count[i]);
        if (!d.count[i] && !dead)
            fail_msg("sample %ld is neither in a samples file nor a dead "
                     "letter", i);
        both += d.count[i] && dead;
    }
    /* jsonl reports the events of a failed batch whose lines are on disk
     * (api->batch_done), and a failed write is cut back: none is both. */
    if (both)
        fail_msg("%ld samples are in a samples file and a dead letter",
                 both);
    free(dl);
    free(in_dl);
    /* TensorBoard: whole, each scalar once, the failed ones only as dead
     * letters (a failed batch is cut back). */
    char err[600] = "";
    long records;
    uint8_t *steps = tb_steps(copy, DF_TOTAL, &records, err, sizeof err);
    if (!steps)
        fail_msg("%s", err);
    char *tbrej = tu_fmt("%s/rejected/tb.spool", state_dir);
    size_t ntb = spool_records(tbrej, &dl);
    in_dl = calloc(ld.next_seq + 2, 1);
    for (size_t i = 0; i < ntb; i++)
        if (dl[i].seq < ld.next_seq + 2)
            in_dl[dl[i].seq] = 1;
    for (long i = 0; i < DF_TOTAL; i += 2) {
        int dead = in_dl[ld.scalar_seq[i]];
        if (steps[i] > 1 || (steps[i] && dead) || (!steps[i] && !dead))
            fail_msg("scalar %ld: %u times in the event file, %s", i,
                     steps[i], dead ? "also a dead letter" : "no dead letter");
    }
    /* The results file and the table: the final version. */
    struct rh_paths ps = {0};
    rh_list_files(copy, "_results.json", &ps);
    assert_int_equal(ps.n, 1);
    char *text = tu_read_file(ps.p[0], NULL);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "results"), "fault_a"),
        "last,none");
    assert_true(cJSON_IsNumber(v) && v->valuedouble == DF_TOTAL - 1);
    cJSON_Delete(o);
    free(text);
    rh_paths_free(&ps);
    rh_list_files(copy, "_results_table.md", &ps);
    assert_int_equal(ps.n, 1);
    rh_paths_free(&ps);
    /* The healthy sink: every event once. */
    char *other = tu_fmt("%s/other.rec", f->dir);
    size_t lines;
    uint8_t *oc = record_counts(other, ld.next_seq, &lines); /* + run_end */
    for (uint64_t s = 1; s <= ld.next_seq; s++)
        if (oc[s] != 1)
            fail_msg("other: seq %llu recorded %u times",
                     (unsigned long long)s, oc[s]);
    free(oc);
    /* The dead letters go out again, once, to a disk with room. */
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    char *out2 = tu_fmt("%s/replayed", f->dir);
    char *sinks = diskfull_sinks(f->dir);
    char *json = config_text(out2, state_dir, sinks);
    write_config(cfgp, json);
    replay_ok(f->dir, cfgp, "left 0");
    struct docs d2;
    docs_in(out2, DF_TOTAL, &d2);
    for (long i = 0; i < DF_TOTAL; i++)
        if (d.count[i] + d2.count[i] != 1)
            fail_msg("sample %ld: %u times after the replay", i,
                     d2.count[i]);
    free(steps);
    steps = tb_steps(out2, DF_TOTAL, &records, err, sizeof err);
    if (!steps)
        fail_msg("%s", err);
    for (long i = 0; i < DF_TOTAL; i += 2)
        if (in_dl[ld.scalar_seq[i]] != steps[i])
            fail_msg("replayed scalar %ld: %u times", i, steps[i]);
    printf("[ faults ] disk full (ENOSPC): %ld flushes failed, %ld errors "
           "logged, %ld failed writes retried; dead-lettered %ld samples "
           "(%ld of them also written before the batch failed) and %ld "
           "scalars; all replayed once\n",
           figure(fig, "flush_fail "), figure(fig, "errors "),
           figure(fig, "retried "), samples_dead, both, tb_dead);
    free(dl), free(in_dl), free(steps);
    free(d.count), free(d2.count);
    load_free(&ld);
    free(figp), free(fig), free(logp), free(log), free(copy), free(rej);
    free(state_dir), free(tbrej), free(other), free(cfgp), free(out2);
    free(sinks), free(json);
}

/* ======================================================================
 * An unwritable output directory
 * ====================================================================== */

static char *unwritable_sinks(const char *dir)
{
    char *rec = tu_fmt("%s/other.rec", dir);
    const char *retry = "\"retry\": {\"limit\": 1, \"base_ms\": 0, "
                        "\"cap_ms\": 0}";
    char *a = rh_sink("results", "local-json", retry, "");
    char *b = rh_sink("samples", "jsonl", retry, "");
    char *c = rh_sink("tb", "tensorboard-events", retry, "");
    char *d = rh_sink("table", "markdown-table", retry, "\"stdout\": false");
    char *e = rh_test_sink("other", rec, "", "\"record_msgpack\": false");
    char *s = tu_fmt("%s, %s, %s, %s, %s", a, b, c, d, e);
    free(rec), free(a), free(b), free(c), free(d), free(e);
    return s;
}

/* Messages of sink name holding needle, counted before the handler was
 * removed (kept in rh_logs). */
static size_t sink_logs_total(const char *name, const char *needle)
{
    return sink_logs(-1, name, needle);
}

/* out is not writable for the reason `cause`; then it is made writable
 * and `evtrack replay` delivers what was kept. */
static void unwritable(struct fx *f, const char *out, const char *cause,
                       void (*repair)(const char *dir))
{
    rh_log_start();
    char *sinks = unwritable_sinks(f->dir), *state = tu_fmt("%s/state",
                                                            f->dir);
    char *json = config_text(out, state, sinks);
    evt_tracker *t = open_or_fail(json, f->dir);
    struct load ld;
    load_init(&ld, 400);
    int flush_fail = 0;
    assert_int_equal(log_run_start(t, &ld), EVT_OK);
    assert_int_equal(workload(t, &ld, 0, 400, &flush_fail), EVT_OK);
    assert_int_equal(log_run_end(t, &ld), EVT_OK);
    int rc = evt_flush(t, 60000);
    assert_int_equal(rc, EVT_EIO); /* local-json could not write */
    char last[512] = "";
    evt_last_error(t, last, sizeof last);
    assert_non_null(strstr(last, cause));
    assert_true(flush_fail >= 4);
    static const char *const names[] = {"results", "samples", "tb", "table",
                                        "other"};
    check_counters(t, names, 5);
    assert_int_equal(stat_of(t, "other", ST_WRITTEN), (uint64_t)ld.total);
    assert_int_equal(stat_of(t, "other", ST_DEAD), 0);
    /* Every sample and scalar waits in a dead-letter file. */
    assert_int_equal(stat_of(t, "samples", ST_WRITTEN) +
                         stat_of(t, "samples", ST_DEAD),
                     (uint64_t)(ld.samples + 2));
    assert_true(stat_of(t, "samples", ST_DEAD) >= (uint64_t)ld.samples);
    assert_true(stat_of(t, "tb", ST_DEAD) >= (uint64_t)ld.scalars);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(stat_of(t, names[i], ST_ENABLED), 1);
    long faults = 0;
    for (size_t i = 0; i < 4; i++)
        faults += (long)stat_of(t, names[i], ST_RETRIED);
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    /* The cause is logged, naming the path, by each sink that failed. */
    assert_true(sink_logs(EVT_LOG_ERROR, "samples", cause) >= 1);
    assert_true(sink_logs(EVT_LOG_ERROR, "tb", cause) >= 1);
    assert_true(sink_logs(EVT_LOG_ERROR, "results", cause) >= 1);
    assert_true(sink_logs(EVT_LOG_ERROR, "table", cause) >= 1);
    size_t errors = rh_log_count(EVT_LOG_ERROR, cause, NULL, NULL);
    size_t gave_up = rh_log_count(EVT_LOG_WARN, "gave up after 1 retries",
                                  NULL, NULL);
    rh_log_stop();
    /* Repaired: the dead letters arrive once. */
    repair(f->dir);
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    write_config(cfgp, json);
    replay_ok(f->dir, cfgp, "sink samples: delivered");
    struct docs d;
    docs_in(out, 400, &d);
    for (long i = 0; i < 400; i++)
        if (d.count[i] != 1)
            fail_msg("sample %ld: %u times after the replay", i, d.count[i]);
    char err[600] = "";
    long records;
    uint8_t *steps = tb_steps(out, 400, &records, err, sizeof err);
    if (!steps)
        fail_msg("%s", err);
    for (long i = 0; i < 400; i += 2)
        if (steps[i] != 1)
            fail_msg("scalar %ld: %u times after the replay", i, steps[i]);
    /* local-json keeps its results in memory (EVT_SINK_F_HOLDS) and its
     * file could never be written: the host kept every event it
     * acknowledged and dead-lettered them ahead of the run_end batch, so
     * the replayed file has the results. */
    struct rh_paths ps = {0};
    rh_list_files(out, "_results.json", &ps);
    assert_int_equal(ps.n, 1);
    char *rtext = tu_read_file(ps.p[0], NULL);
    cJSON *ro = cJSON_Parse(rtext);
    assert_non_null(ro);
    const cJSON *rres = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ro, "results"), "fault_a");
    assert_non_null(rres);
    cJSON_Delete(ro);
    free(rtext);
    rh_paths_free(&ps);
    assert_true(sink_logs_total("results", "cannot write the results file")
                >= 1);
    printf("[ faults ] unwritable output_dir (%s): %ld failed writes, %zu "
           "error lines naming the cause, %zu batches dead-lettered; all "
           "delivered by replay\n", cause, faults, errors, gave_up);
    free(steps), free(d.count), free(cfgp);
    load_free(&ld);
    free(sinks), free(state), free(json);
}

static void remove_blocker(const char *dir)
{
    char *p = tu_fmt("%s/blocker", dir);
    assert_int_equal(unlink(p), 0);
    free(p);
}

static void test_unwritable_output_dir_enotdir(void **state)
{
    struct fx *f = *state;
    char *blocker = tu_fmt("%s/blocker", f->dir);
    tu_write_file(blocker, "a file where a folder should be\n");
    char *out = tu_fmt("%s/out", blocker);
    unwritable(f, out, "Not a directory", remove_blocker);
    free(out), free(blocker);
}

static void make_writable(const char *dir)
{
    char *p = tu_fmt("%s/ro", dir);
    assert_int_equal(chmod(p, 0755), 0);
    free(p);
}

static void test_unwritable_output_dir_eacces(void **state)
{
    struct fx *f = *state;
    if (geteuid() == 0) {
        printf("[ faults ] unwritable output_dir (EACCES): running as root, "
               "permissions do not apply; skipped\n");
        skip();
    }
    char *ro = tu_fmt("%s/ro", f->dir);
    assert_int_equal(mkdir(ro, 0555), 0);
    char *out = tu_fmt("%s/out", ro);
    unwritable(f, out, "Permission denied", make_writable);
    free(out), free(ro);
}

/* ======================================================================
 * A sink that hangs in write()
 * ====================================================================== */

static void test_sink_hangs_in_write(void **state)
{
    struct fx *f = *state;
    rh_log_start();
    char *hrec = tu_fmt("%s/hang.rec", f->dir), *orec = tu_fmt("%s/other.rec",
                                                              f->dir);
    char *hang_slow = rh_test_sink(
        "hang", hrec, "\"queue\": {\"max_events\": 64, \"overflow\": "
                      "\"spill\"}",
        "\"record_msgpack\": false, \"sleep_ms\": 1500");
    char *hang_ok = rh_test_sink(
        "hang", hrec, "\"queue\": {\"max_events\": 64, \"overflow\": "
                      "\"spill\"}",
        "\"record_msgpack\": false");
    char *other = rh_test_sink("other", orec, "", "\"record_msgpack\": false");
    char *jl = rh_sink("samples", "jsonl", "", "");
    char *out = tu_fmt("%s/out", f->dir), *state_dir = tu_fmt("%s/state",
                                                              f->dir);
    char *sinks = tu_fmt("%s, %s, %s", hang_slow, other, jl);
    char *json = config_text(out, state_dir, sinks);
    evt_tracker *t = open_or_fail(json, f->dir);
    struct load ld;
    load_init(&ld, 2000);
    int64_t worst = 0;
    assert_int_equal(log_run_start(t, &ld), EVT_OK);
    for (long i = 0; i < 2000; i++) {
        int64_t t0 = rh_now_us();
        assert_int_equal(log_sample(t, &ld, "fault_a", i), EVT_OK);
        assert_int_equal(log_scalar(t, &ld, i), EVT_OK);
        int64_t dt = rh_now_us() - t0;
        if (dt > worst)
            worst = dt;
    }
    assert_int_equal(log_run_end(t, &ld), EVT_OK);
    /* The producer never waited for the hung sink (1.5 s per write). */
    if (worst > 1000000)
        fail_msg("a log call took %lld us", (long long)worst);
    assert_int_equal(evt_flush(t, 300), EVT_ETIMEDOUT);
    /* The other sinks finish meanwhile. */
    for (int i = 0; i < 2000 && stat_of(t, "other", ST_WRITTEN) <
                                    (uint64_t)ld.total; i++)
        rh_sleep_us(5000);
    assert_int_equal(stat_of(t, "other", ST_WRITTEN), (uint64_t)ld.total);
    assert_true(stat_of(t, "hang", ST_WRITTEN) < (uint64_t)ld.total);
    int64_t c0 = rh_now_us();
    assert_int_equal(evt_close(t, 300), EVT_ETIMEDOUT);
    int64_t close_us = rh_now_us() - c0;
    assert_true(close_us < 1400000); /* not waiting for the write */
    assert_int_equal(sink_logs(EVT_LOG_ERROR, "hang",
                               "still inside write() or flush() at the "
                               "close deadline; its events were kept on "
                               "disk"), 1);
    no_errors_from("other");
    no_errors_from("samples");
    /* The abandoned worker finishes its write and destroys the instance. */
    int destroyed = 0;
    for (int i = 0; i < 1000 && !destroyed; i++) {
        char *text = tu_read_file(hrec, NULL);
        destroyed = text && strstr(text, "# destroyed");
        free(text);
        if (!destroyed)
            rh_sleep_us(5000);
    }
    assert_true(destroyed);
    struct docs d;
    docs_in(out, 2000, &d);
    for (long i = 0; i < 2000; i++)
        assert_int_equal(d.count[i], 1);
    /* Nothing lost: delivered, spooled or dead-lettered. */
    char *spool = tu_fmt("%s/spool/hang.spool", state_dir);
    char *rej = tu_fmt("%s/rejected/hang.spool", state_dir);
    struct drec *sp, *dl;
    size_t nsp = spool_records(spool, &sp), ndl = spool_records(rej, &dl);
    size_t lines;
    uint8_t *got = record_counts(hrec, (uint64_t)ld.total, &lines);
    for (uint64_t s = 1; s <= (uint64_t)ld.total; s++) {
        int kept = 0;
        for (size_t i = 0; i < nsp; i++)
            kept |= sp[i].seq == s;
        for (size_t i = 0; i < ndl; i++)
            kept |= dl[i].seq == s;
        if (!got[s] && !kept)
            fail_msg("seq %llu: not delivered and not on disk",
                     (unsigned long long)s);
    }
    /* The batch inside write() stayed unacknowledged in the spool (read
     * from it) or went to the dead-letter file (read from the queue). */
    assert_true(nsp + ndl > 0);
    /* The next process (no longer hung) delivers the spool first; replay
     * delivers the dead letters: each event arrives, the abandoned batch
     * (delivered late, and kept in case it was not) at most twice. */
    free(sinks), free(json);
    sinks = tu_fmt("%s, %s, %s", hang_ok, other, jl);
    json = config_text(out, state_dir, sinks);
    t = open_or_fail(json, f->dir);
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    assert_int_equal(rh_file_size(spool), 8);
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    write_config(cfgp, json);
    char *want = ndl ? tu_fmt("sink hang: delivered %zu, failed 0, left 0",
                              ndl)
                     : strdup("nothing to replay");
    replay_ok(f->dir, cfgp, want);
    free(want);
    free(got);
    got = record_counts(hrec, (uint64_t)ld.total, &lines);
    size_t twice = 0;
    for (uint64_t s = 1; s <= (uint64_t)ld.total; s++) {
        int in_dl = 0;
        for (size_t i = 0; i < ndl; i++)
            in_dl |= dl[i].seq == s;
        for (size_t i = 0; i < nsp; i++)
            in_dl |= sp[i].seq == s;
        if (got[s] < 1 || got[s] > 1 + in_dl)
            fail_msg("seq %llu delivered %u times", (unsigned long long)s,
                     got[s]);
        twice += got[s] > 1;
    }
    printf("[ faults ] hung sink: worst log call %lld us, close returned "
           "after %lld ms; %zu events kept in the spool, %zu dead-lettered, "
           "%zu delivered twice (the batch inside write(), delivered late "
           "and kept)\n",
           (long long)worst, (long long)close_us / 1000, nsp, ndl, twice);
    free(got), free(sp), free(dl), free(spool), free(rej), free(cfgp);
    free(d.count);
    load_free(&ld);
    free(hrec), free(orec), free(hang_slow), free(hang_ok), free(other);
    free(jl), free(out), free(state_dir), free(sinks), free(json);
}

/* ======================================================================
 * A sink that returns EVT_RETRY forever
 * ====================================================================== */

static void test_sink_retries_forever(void **state)
{
    struct fx *f = *state;
    rh_log_start();
    char *frec = tu_fmt("%s/flaky.rec", f->dir),
         *orec = tu_fmt("%s/other.rec", f->dir);
    const char *retry = "\"retry\": {\"limit\": 3, \"base_ms\": 1, "
                        "\"cap_ms\": 2}";
    char *flaky = rh_test_sink("flaky", frec, retry,
                               "\"record_msgpack\": false, "
                               "\"retry_forever\": true");
    char *fixed = rh_test_sink("flaky", frec, retry,
                               "\"record_msgpack\": false");
    char *other = rh_test_sink("other", orec, "", "\"record_msgpack\": false");
    char *a = rh_sink("results", "local-json", "", "");
    char *b = rh_sink("samples", "jsonl", "", "");
    char *c = rh_sink("tb", "tensorboard-events", "", "");
    char *out = tu_fmt("%s/out", f->dir), *state_dir = tu_fmt("%s/state",
                                                              f->dir);
    char *sinks = tu_fmt("%s, %s, %s, %s, %s", flaky, other, a, b, c);
    char *json = config_text(out, state_dir, sinks);
    evt_tracker *t = open_or_fail(json, f->dir);
    struct load ld;
    load_init(&ld, 1000);
    int flush_fail = 0;
    assert_int_equal(log_run_start(t, &ld), EVT_OK);
    assert_int_equal(workload(t, &ld, 0, 1000, &flush_fail), EVT_OK);
    assert_int_equal(log_run_end(t, &ld), EVT_OK);
    /* Dead letters are durable: flush reports success. */
    assert_int_equal(evt_flush(t, 60000), EVT_OK);
    assert_int_equal(flush_fail, 0);
    static const char *const names[] = {"flaky", "other", "results",
                                        "samples", "tb"};
    check_counters(t, names, 5);
    uint64_t dead = stat_of(t, "flaky", ST_DEAD),
             retried = stat_of(t, "flaky", ST_RETRIED);
    assert_int_equal(stat_of(t, "flaky", ST_WRITTEN), 0);
    assert_int_equal(dead, (uint64_t)ld.total);
    assert_int_equal(stat_of(t, "flaky", ST_ENABLED), 1);
    for (size_t i = 1; i < 5; i++)
        assert_int_equal(stat_of(t, names[i], ST_DEAD), 0);
    assert_int_equal(stat_of(t, "other", ST_WRITTEN), (uint64_t)ld.total);
    /* Each batch: 4 calls (limit 3), then one warning naming the file;
     * past 20 a second the host's rate limit holds them back. */
    size_t gave_up = sink_logs(EVT_LOG_WARN, "flaky",
                               "gave up after 3 retries: ");
    size_t batches = (size_t)(retried / 4);
    assert_int_equal(retried % 4, 0);
    assert_true(batches >= 1);
    assert_true(gave_up <= batches && (gave_up == batches || gave_up >= 20));
    assert_true(sink_logs(EVT_LOG_WARN, "flaky", "rejected/flaky.spool") ==
                gave_up);
    assert_int_equal(rh_log_count(EVT_LOG_ERROR, NULL, NULL, NULL), 0);
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    /* Replayed once the sink works. */
    free(json);
    free(sinks);
    sinks = tu_fmt("%s, %s, %s, %s, %s", fixed, other, a, b, c);
    json = config_text(out, state_dir, sinks);
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    write_config(cfgp, json);
    char *want = tu_fmt("sink flaky: delivered %ld, failed 0, left 0",
                        ld.total);
    replay_ok(f->dir, cfgp, want);
    size_t lines;
    uint8_t *got = record_counts(frec, (uint64_t)ld.total, &lines);
    for (long s = 1; s <= ld.total; s++)
        if (got[s] != 1)
            fail_msg("seq %ld replayed %u times", s, got[s]);
    printf("[ faults ] RETRY forever: %llu write calls failed, %zu batches "
           "(%llu events) dead-lettered, %zu \"gave up\" warnings (20 a "
           "second at most), 0 errors; all replayed once\n",
           (unsigned long long)retried, batches, (unsigned long long)dead,
           gave_up);
    rh_log_stop();
    free(got), free(cfgp), free(want);
    load_free(&ld);
    free(frec), free(orec), free(flaky), free(fixed), free(other);
    free(a), free(b), free(c), free(out), free(state_dir), free(sinks);
    free(json);
}

/* ======================================================================
 * Sinks that fail in create()
 * ====================================================================== */

static void test_sinks_fail_in_create(void **state)
{
    struct fx *f = *state;
    rh_log_start();
    char *brec = tu_fmt("%s/broken.rec", f->dir),
         *orec = tu_fmt("%s/other.rec", f->dir);
    struct {
        const char *name, *bad, *good, *cause;
    } broken[] = {
        {"broken", NULL, NULL, "told to fail in create"},
        {"lj", "\"layout\": \"bogus\"", "\"layout\": \"lm-eval\"",
         "config key \"layout\": expected"},
        {"jl", "\"fsync\": \"sometimes\"", "\"fsync\": \"none\"",
         "config: fsync must be"},
        {"tbx", "\"scalar_form\": \"double\"", "\"scalar_form\": \"tensor\"",
         "config key \"scalar_form\": expected"},
    };
    const char *plugins[] = {NULL, "local-json", "jsonl",
                             "tensorboard-events"};
    char *bad_s[4], *good_s[4];
    bad_s[0] = rh_test_sink("broken", brec, "", "\"record_msgpack\": false, "
                                                "\"fail\": \"create\"");
    good_s[0] = rh_test_sink("broken", brec, "", "\"record_msgpack\": false");
    for (int i = 1; i < 4; i++) {
        bad_s[i] = rh_sink(broken[i].name, plugins[i], "", broken[i].bad);
        good_s[i] = rh_sink(broken[i].name, plugins[i], "", broken[i].good);
    }
    char *other = rh_test_sink("other", orec, "", "\"record_msgpack\": false");
    char *samples = rh_sink("samples", "jsonl", "", "");
    char *out = tu_fmt("%s/out", f->dir), *state_dir = tu_fmt("%s/state",
                                                              f->dir);
    char *sinks = tu_fmt("%s, %s, %s, %s, %s, %s", bad_s[0], bad_s[1],
                         bad_s[2], bad_s[3], other, samples);
    char *json = config_text(out, state_dir, sinks);
    evt_tracker *t = open_or_fail(json, f->dir); /* opens all the same */
    struct load ld;
    load_init(&ld, 500);
    int flush_fail = 0;
    assert_int_equal(log_run_start(t, &ld), EVT_OK);
    assert_int_equal(workload(t, &ld, 0, 500, &flush_fail), EVT_OK);
    assert_int_equal(log_run_end(t, &ld), EVT_OK);
    assert_int_equal(evt_flush(t, 60000), EVT_OK);
    static const char *const names[] = {"broken", "lj", "jl", "tbx",
                                        "other", "samples"};
    check_counters(t, names, 6);
    uint64_t kept = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(stat_of(t, names[i], ST_ENABLED), 0);
        assert_int_equal(stat_of(t, names[i], ST_WRITTEN), 0);
        assert_true(stat_of(t, names[i], ST_DEAD) > 0);
        kept += stat_of(t, names[i], ST_DEAD);
        /* Reported once, with its cause, at open. */
        assert_int_equal(sink_logs(EVT_LOG_ERROR, names[i],
                                   "create failed (status "), 1);
        assert_int_equal(sink_logs(EVT_LOG_ERROR, names[i], broken[i].cause),
                         1);
    }
    assert_int_equal(rh_log_count(-1, NULL, NULL, NULL), 8);
    assert_int_equal(stat_of(t, "other", ST_WRITTEN), (uint64_t)ld.total);
    assert_int_equal(stat_of(t, "samples", ST_DEAD), 0);
    char last[512] = "";
    assert_true(evt_last_error(t, last, sizeof last) > 0);
    assert_non_null(strstr(last, "create failed"));
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    struct docs d;
    docs_in(out, 500, &d);
    for (long i = 0; i < 500; i++)
        assert_int_equal(d.count[i], 1);
    free(d.count);
    /* With the config fixed, replay delivers everything, once. */
    free(sinks), free(json);
    sinks = tu_fmt("%s, %s, %s, %s, %s, %s", good_s[0], good_s[1], good_s[2],
                   good_s[3], other, samples);
    json = config_text(out, state_dir, sinks);
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    write_config(cfgp, json);
    char *want = tu_fmt("sink broken: delivered %ld, failed 0, left 0",
                        ld.total);
    replay_ok(f->dir, cfgp, want);
    size_t lines;
    uint8_t *got = record_counts(brec, (uint64_t)ld.total, &lines);
    for (long s = 1; s <= ld.total; s++)
        if (got[s] != 1)
            fail_msg("seq %ld replayed %u times", s, got[s]);
    printf("[ faults ] create failed in 4 sinks: each reported once with "
           "its cause, %llu events dead-lettered, all replayed\n",
           (unsigned long long)kept);
    rh_log_stop();
    for (int i = 0; i < 4; i++)
        free(bad_s[i]), free(good_s[i]);
    free(got), free(cfgp), free(want);
    load_free(&ld);
    free(brec), free(orec), free(other), free(samples), free(out);
    free(state_dir), free(sinks), free(json);
}

/* ======================================================================
 * Write errors in the middle of a record: RLIMIT_FSIZE (EFBIG)
 * ====================================================================== */

/* The soft limit on the size of any file this process writes; the log
 * handler lifts it when a message holds lift_needle (then the host's
 * retry succeeds). */
static atomic_int lift_armed;
static const char *lift_needle;
static atomic_int lifts;

static void set_fsize(rlim_t limit)
{
    struct rlimit rl;
    RH_CK(getrlimit(RLIMIT_FSIZE, &rl) == 0, "getrlimit");
    rl.rlim_cur = limit == RLIM_INFINITY ? rl.rlim_max : limit;
    RH_CK(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit: %s",
          strerror(errno));
}

static void lifting_log(void *ud, int level, const char *msg)
{
    rh_log_cb(ud, level, msg);
    if (atomic_load(&lift_armed) && lift_needle && strstr(msg, lift_needle)) {
        set_fsize(RLIM_INFINITY);
        atomic_store(&lift_armed, 0);
        atomic_fetch_add(&lifts, 1);
    }
}

/* Leave the figures text (heap) in dir/child.txt and exit 0 (child
 * side; run_child_figures reads them). */
static void child_exit_figures(const char *dir, char *text)
{
    char *fig = tu_fmt("%s/child.txt", dir);
    tu_write_file(fig, text);
    free(fig);
    free(text);
    rh_child_exit(0);
}

static void efbig_child_setup(const char *dir, const char *needle)
{
    signal(SIGXFSZ, SIG_IGN);
    char *logp = tu_fmt("%s/child.log", dir);
    rh_log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    free(logp);
    lift_needle = needle;
    evt_set_log_handler(lifting_log, NULL);
}

/* The one file under dir whose name holds needle (child side). */
static char *only_file(const char *dir, const char *needle)
{
    struct rh_paths ps = {0};
    rh_list_files(dir, needle, &ps);
    size_t real = 0;
    char *found = NULL;
    for (size_t i = 0; i < ps.n; i++)
        if (!strstr(ps.p[i], ".tmp.")) {
            real++;
            free(found);
            found = strdup(ps.p[i]);
        }
    RH_CK(real == 1, "%zu files named *%s* under %s", real, needle, dir);
    rh_paths_free(&ps);
    return found;
}

/* Wait until the flush returns; its status. */
static int flush_long(evt_tracker *t)
{
    return evt_flush(t, 120000);
}

/* tensorboard-events: a write that fails half way through a record is
 * cut back and the batch retried (docs/sinks/tensorboard-events.md §6). */
static void tb_child(const char *dir, uint64_t seed)
{
    struct rh_rng rng = {seed};
    efbig_child_setup(dir, "cannot write the events");
    char *out = tu_fmt("%s/out", dir), *state = tu_fmt("%s/state", dir);
    char *rec = tu_fmt("%s/other.rec", dir);
    char *tb = rh_sink("tb", "tensorboard-events", RETRY_FAST,
                       "\"flush_secs\": 1000");
    char *other = rh_test_sink("other", rec, "", "\"record_msgpack\": false");
    char *sinks = tu_fmt("%s, %s", tb, other);
    char *json = config_text(out, state, sinks);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    RH_CK(evt_open_json(json, dir, &t, err, sizeof err) == EVT_OK, "open: %s",
          err);
    struct load ld;
    load_init(&ld, 4000);
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    for (long i = 0; i < 1000; i++)
        RH_CK(log_scalar(t, &ld, i) == EVT_OK, "scalar");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    char *file = only_file(out, "events.out.tfevents.");
    /* A: the limit falls inside the next records; the first failure lifts
     * it, so the host's retry succeeds. */
    long long size0 = rh_file_size(file);
    set_fsize((rlim_t)(size0 + 1000 + (long long)rh_below(&rng, 49)));
    atomic_store(&lift_armed, 1);
    for (long i = 1000; i < 2000; i++)
        RH_CK(log_scalar(t, &ld, i) == EVT_OK, "scalar");
    RH_CK(flush_long(t) == EVT_OK, "flush after the retry");
    RH_CK(atomic_load(&lifts) == 1, "the write never failed (%d lifts)",
          atomic_load(&lifts));
    RH_CK(stat_of(t, "tb", ST_RETRIED) >= 1, "no retry");
    RH_CK(stat_of(t, "tb", ST_DEAD) == 0, "dead letters after a retry");
    char e2[600] = "";
    long records = 0;
    uint8_t *steps = tb_steps(out, 4000, &records, e2, sizeof e2);
    RH_CK(steps != NULL, "after the retry: %s", e2);
    for (long i = 0; i < 2000; i++)
        RH_CK(steps[i] == 1, "after the retry: step %ld %u times", i,
              steps[i]);
    RH_CK(records == 2000, "%ld records", records);
    free(steps);
    /* B: the limit stays until the batches that cross it gave up (dead
     * letters); a few small batches follow once it is lifted. Their
     * records must come right after the last good one: nothing of the
     * failed writes may stay in the file. */
    long long size1 = rh_file_size(file);
    set_fsize((rlim_t)(size1 + 600 + (long long)rh_below(&rng, 49)));
    for (long i = 2000; i < 2600; i++)
        RH_CK(log_scalar(t, &ld, i) == EVT_OK, "scalar");
    RH_CK(flush_long(t) == EVT_OK, "flush (dead letters are durable)");
    uint64_t dead = stat_of(t, "tb", ST_DEAD);
    RH_CK(dead > 0, "nothing was dead-lettered");
    set_fsize(RLIM_INFINITY);
    for (long i = 2600; i < 2603; i++)
        RH_CK(log_scalar(t, &ld, i) == EVT_OK, "scalar");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    steps = tb_steps(out, 4000, &records, e2, sizeof e2);
    RH_CK(steps != NULL, "after a batch gave up: %s", e2);
    /* Each scalar once: in the file or a dead letter, never both. */
    char *rej = tu_fmt("%s/rejected/tb.spool", state);
    struct drec *dl = NULL;
    size_t ndl = 0;
    {
        struct evt__spool *s;
        struct evt__spool_recovery rv;
        char e3[512];
        /* The tracker holds the dead-letter file open (and locked): read
         * a copy. */
        char *cp = tu_fmt("%s/dl-copy.spool", dir);
        size_t len;
        char *bytes = tu_read_file(rej, &len);
        RH_CK(bytes != NULL, "no dead-letter file");
        FILE *fp = fopen(cp, "wb");
        RH_CK(fp && fwrite(bytes, 1, len, fp) == len, "copy");
        fclose(fp);
        RH_CK(evt__spool_open(cp, 0, &s, &rv, e3, sizeof e3) == 0, "%s", e3);
        const unsigned char *r;
        size_t rl;
        dl = calloc(rv.pending + 1, sizeof *dl);
        while (evt__spool_next(s, (const void **)&r, &rl) == 1) {
            uint64_t seq = 0;
            for (int i = 7; i >= 0; i--)
                seq = seq << 8 | r[8 + i];
            dl[ndl++].seq = seq;
        }
        evt__spool_close(s);
        free(bytes), free(cp);
    }
    RH_CK(ndl == dead, "%zu dead letters, counter %llu", ndl,
          (unsigned long long)dead);
    for (long i = 0; i < 2603; i++) {
        int in_dl = 0;
        for (size_t k = 0; k < ndl; k++)
            in_dl |= dl[k].seq == ld.scalar_seq[i];
        RH_CK(steps[i] + in_dl == 1, "step %ld: %u in the file, %s", i,
              steps[i], in_dl ? "a dead letter" : "not a dead letter");
    }
    free(steps);
    static const char *const names[] = {"tb", "other"};
    RH_CK(child_counters(t, names, 2) == 0, "counters");
    RH_CK(log_run_end(t, &ld) == EVT_OK, "run_end");
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    steps = tb_steps(out, 4000, &records, e2, sizeof e2);
    RH_CK(steps != NULL, "after close: %s", e2);
    size_t errors = rh_log_count(EVT_LOG_ERROR, "sink \"tb\": cannot write "
                                 "the events: ", "File too large", NULL);
    child_exit_figures(dir, tu_fmt("errors %zu\ndead %llu\n", errors,
                                   (unsigned long long)dead));
}

static void run_child(struct fx *f, void (*child)(const char *, uint64_t),
                      const char *what)
{
    uint64_t seed = rh_seed(what);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child(f->dir, seed);
    rh_wait_ok(pid, 240000, what);
}

/* run_child, then the figures the child left in child.txt (heap text). */
static char *run_child_figures(struct fx *f,
                               void (*child)(const char *, uint64_t),
                               const char *what)
{
    run_child(f, child, what);
    char *fig = tu_fmt("%s/child.txt", f->dir);
    char *text = tu_read_file(fig, NULL);
    assert_non_null(text);
    free(fig);
    return text;
}

static void test_tensorboard_write_error_rollback(void **state)
{
    struct fx *f = *state;
    char *text = run_child_figures(f, tb_child, "faults/tensorboard EFBIG");
    printf("[ faults ] tensorboard-events: %ld failed writes reported "
           "(File too large), %ld scalars dead-lettered, file whole\n",
           figure(text, "errors "), figure(text, "dead "));
    free(text);
}

/* The seqs of the first max records in the dead-letter file of sink
 * name (child side); the count, *out a heap array. */
static size_t dead_letters(const char *state, const char *name, size_t max,
                           struct drec **out)
{
    char *rej = tu_fmt("%s/rejected/%s.spool", state, name);
    struct evt__spool *s;
    char err[512];
    RH_CK(evt__spool_open(rej, 0, &s, NULL, err, sizeof err) == 0, "%s", err);
    const unsigned char *r;
    size_t rl, n = 0;
    *out = calloc(max + 1, sizeof **out);
    while (evt__spool_next(s, (const void **)&r, &rl) == 1 && n <= max) {
        uint64_t seq = 0;
        for (int i = 7; i >= 0; i--)
            seq = seq << 8 | r[8 + i];
        (*out)[n++].seq = seq;
    }
    evt__spool_close(s);
    free(rej);
    return n;
}

/* Samples from..to-1 (doc ids = indexes): each at most once in the files
 * (d), and a dead letter (dl) when not there. Returns how many are both. */
static long written_or_dead(const struct load *ld, const struct docs *d,
                            const struct drec *dl, size_t ndl, long from,
                            long to)
{
    long both = 0;
    for (long i = from; i < to; i++) {
        int in_dl = 0;
        for (size_t k = 0; k < ndl; k++)
            in_dl |= dl[k].seq == ld->sample_seq[i];
        RH_CK(d->count[i] <= 1, "doc %ld is %u times in the files", i,
              d->count[i]);
        RH_CK(d->count[i] || in_dl, "doc %ld neither written nor kept", i);
        both += d->count[i] && in_dl;
    }
    return both;
}

/* Open the tracker of a child's config text (child side). */
static evt_tracker *open_child(const char *dir, const char *json)
{
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    RH_CK(evt_open_json(json, dir, &t, err, sizeof err) == EVT_OK, "open: %s",
          err);
    return t;
}

/* jsonl: a write that fails part way is cut back to where it started, so
 * the retry writes each line once: no partial line, no repeated whole line
 * (docs/sinks/jsonl.md §4, §5). */
static void jsonl_child(const char *dir, uint64_t seed)
{
    struct rh_rng rng = {seed};
    efbig_child_setup(dir, "write: File too large");
    char *out = tu_fmt("%s/out", dir), *state = tu_fmt("%s/state", dir);
    char *rec = tu_fmt("%s/other.rec", dir);
    char *jl = rh_sink("samples", "jsonl", RETRY_FAST, "");
    char *other = rh_test_sink("other", rec, "", "\"record_msgpack\": false");
    char *sinks = tu_fmt("%s, %s", jl, other);
    char *json = config_text(out, state, sinks);
    evt_tracker *t = open_child(dir, json);
    struct load ld;
    load_init(&ld, 2000);
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    for (long i = 0; i < 300; i++)
        RH_CK(log_sample(t, &ld, "fault_a", i) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    char *file = only_file(out, "_samples_fault_a.jsonl");
    /* A: the first failure lifts the limit; the failed write was cut
     * back, and the retry writes each line once. */
    long long size0 = rh_file_size(file);
    /* Lines 300..599 have the length of line 299: let the limit fall
     * inside one, so that the failed write leaves a cut line. */
    size_t flen;
    char *ftext = tu_read_file(file, &flen);
    RH_CK(ftext && flen > 2 && ftext[flen - 1] == '\n', "file");
    ftext[flen - 1] = '\0';
    long long line = (long long)(flen - (size_t)(strrchr(ftext, '\n') -
                                                 ftext) - 1);
    free(ftext);
    long long off = 2000 + (long long)rh_below(&rng, 97);
    if (off % line == 0)
        off++;
    set_fsize((rlim_t)(size0 + off));
    atomic_store(&lift_armed, 1);
    for (long i = 300; i < 600; i++)
        RH_CK(log_sample(t, &ld, "fault_a", i) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush after the retry");
    RH_CK(atomic_load(&lifts) == 1, "the write never failed");
    RH_CK(rh_log_count(EVT_LOG_ERROR, file, "write: File too large",
                       NULL) == 1, "the failed write was not reported");
    RH_CK(rh_log_count(-1, "cannot remove the", NULL, NULL) == 0,
          "the failed write was not cut back");
    RH_CK(rh_log_count(EVT_LOG_WARN, "bytes of a torn last line", NULL,
                       NULL) == 0, "a partial line was left to repair");
    struct docs d;
    char e2[600] = "";
    d.cap = 2000;
    d.lines = 0;
    d.count = calloc(2000, 1);
    long n = rh_jsonl_scan(file, 0, NULL, count_doc, &d, e2, sizeof e2);
    RH_CK(n >= 600, "after the retry: %s (%ld lines)", e2, n);
    RH_CK(n == 600, "%ld lines after the retry, want 600", n);
    for (long i = 0; i < 600; i++)
        RH_CK(d.count[i] == 1, "doc %ld %u times (the cut write held %lld "
              "whole lines)", i, d.count[i], off / line);
    RH_CK(stat_of(t, "samples", ST_DEAD) == 0, "dead letters");
    /* B: the limit stays until batches gave up; then it is lifted. */
    long long size1 = rh_file_size(file);
    set_fsize((rlim_t)(size1 + 2000 + (long long)rh_below(&rng, 97)));
    for (long i = 600; i < 800; i++)
        RH_CK(log_sample(t, &ld, "fault_a", i) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    uint64_t dead = stat_of(t, "samples", ST_DEAD);
    RH_CK(dead > 0, "nothing was dead-lettered");
    set_fsize(RLIM_INFINITY);
    for (long i = 800; i < 810; i++)
        RH_CK(log_sample(t, &ld, "fault_a", i) == EVT_OK, "sample");
    RH_CK(log_run_end(t, &ld) == EVT_OK, "run_end");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    static const char *const names[] = {"samples", "other"};
    RH_CK(child_counters(t, names, 2) == 0, "counters");
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    memset(d.count, 0, 2000);
    d.lines = 0;
    long lines = rh_jsonl_scan(file, 0, NULL, count_doc, &d, e2, sizeof e2);
    RH_CK(lines > 0, "after a batch gave up: %s", e2);
    struct drec *dl;
    size_t ndl = dead_letters(state, "samples", (size_t)dead, &dl);
    long both = written_or_dead(&ld, &d, dl, ndl, 0, 810);
    size_t errors = rh_log_count(EVT_LOG_ERROR, "write: File too large",
                                 NULL, NULL);
    /* Every failed write was cut back: no partial line for an open to
     * repair, no whole line of a failed write left to repeat. */
    RH_CK(errors > 1, "%zu failed writes", errors);
    RH_CK(rh_log_count(-1, "cannot remove the", NULL, NULL) == 0,
          "a failed write was not cut back");
    size_t cuts = rh_log_count(EVT_LOG_WARN, "bytes of a torn last line",
                               NULL, NULL);
    RH_CK(cuts == 0, "%zu partial lines were left to repair", cuts);
    child_exit_figures(dir, tu_fmt("errors %zu\ndead %llu\nboth %ld\n",
                                   errors, (unsigned long long)dead, both));
}

static void test_jsonl_write_error_rollback(void **state)
{
    struct fx *f = *state;
    char *text = run_child_figures(f, jsonl_child, "faults/jsonl EFBIG");
    printf("[ faults ] jsonl: %ld failed writes reported (File too large), "
           "each cut back to where it started (no partial line, no line "
           "twice), %ld samples dead-lettered (%ld of them also written "
           "before their batch gave up)\n",
           figure(text, "errors "), figure(text, "dead "),
           figure(text, "both "));
    free(text);
}

/* jsonl: a batch whose lines go to two files, where the second file
 * cannot grow. The sink tells the host which leading events are on disk
 * (api->batch_done), so the host retries, and then dead-letters, only the
 * rest: no sample is both in a file and a dead letter, where a replay
 * would write it a second time (docs/sinks/jsonl.md §5). */
static void jsonl_two_files_child(const char *dir, uint64_t seed)
{
    (void)seed;
    efbig_child_setup(dir, "no message lifts the limit here");
    char *out = tu_fmt("%s/out", dir), *state = tu_fmt("%s/state", dir);
    char *jl = rh_sink("samples", "jsonl", RETRY_FAST, "");
    char *json = config_text(out, state, jl);
    evt_tracker *t = open_child(dir, json);
    struct load ld;
    load_init(&ld, 2000);
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    /* A big file and a small one. The size limit applies to every file,
     * the dead-letter file too: the big one is made large enough (~370
     * KB) that the dead letters (~60 KB) stay well under it. */
    for (long i = 0; i < 1500; i++)
        RH_CK(log_sample(t, &ld, "fault_big", i) == EVT_OK, "sample");
    RH_CK(log_sample(t, &ld, "fault_small", 1500) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    char *big = only_file(out, "_samples_fault_big.jsonl");
    set_fsize((rlim_t)rh_file_size(big) + 1); /* big cannot take a line */
    /* Alternate: every write of a small line is followed by a failing
     * big one, in whatever batches the worker takes them. */
    for (long i = 1600; i < 1800; i++)
        RH_CK(log_sample(t, &ld, i % 2 ? "fault_big" : "fault_small", i) ==
                  EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    set_fsize(RLIM_INFINITY);
    uint64_t dead = stat_of(t, "samples", ST_DEAD);
    RH_CK(dead > 0, "nothing was dead-lettered");
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    struct docs d;
    docs_in(out, 2000, &d);
    struct drec *dl;
    size_t ndl = dead_letters(state, "samples", 2000, &dl);
    RH_CK(ndl >= dead, "%zu dead letters, counted %llu", ndl,
          (unsigned long long)dead);
    long both = written_or_dead(&ld, &d, dl, ndl, 1600, 1800), written = 0;
    for (long i = 1600; i < 1800; i++) {
        RH_CK(!(i % 2) || !d.count[i], "doc %ld grew the full file", i);
        written += d.count[i];
    }
    RH_CK(written > 0, "no small line was written");
    RH_CK(both == 0, "%ld samples both written and dead-lettered", both);
    child_exit_figures(dir, tu_fmt("written %ld\ndead %llu\n", written,
                                   (unsigned long long)dead));
}

static void test_jsonl_two_files_partial_batch(void **state)
{
    struct fx *f = *state;
    char *text = run_child_figures(f, jsonl_two_files_child, "faults/jsonl two files");
    printf("[ faults ] jsonl, one file full: %ld of 200 samples written, "
           "%ld dead-lettered, none both\n",
           figure(text, "written "), figure(text, "dead "));
    free(text);
}

/* jsonl: when a failed write cannot be cut back, the error says so, the
 * next open cuts the partial line off, and only whole lines of the failed
 * write repeat (docs/sinks/jsonl.md §5). Here another writer appended a
 * line behind the sink, so the file is not the size the sink expects and
 * it must not cut. */
static void jsonl_uncut_child(const char *dir, uint64_t seed)
{
    struct rh_rng rng = {seed};
    efbig_child_setup(dir, "write: File too large");
    char *out = tu_fmt("%s/out", dir), *state = tu_fmt("%s/state", dir);
    char *jl = rh_sink("samples", "jsonl", RETRY_FAST, "");
    char *json = config_text(out, state, jl);
    evt_tracker *t = open_child(dir, json);
    struct load ld;
    load_init(&ld, 2000);
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    for (long i = 100; i < 200; i++) /* 3-digit ids: lines of one length */
        RH_CK(log_sample(t, &ld, "fault_u", i) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush");
    char *file = only_file(out, "_samples_fault_u.jsonl");
    size_t flen;
    char *ftext = tu_read_file(file, &flen);
    RH_CK(ftext && flen > 2 && ftext[flen - 1] == '\n', "file");
    size_t start = flen - 1; /* of the last line */
    while (start > 0 && ftext[start - 1] != '\n')
        start--;
    free(ftext);
    long long line = (long long)(flen - start);
    static const char other[] = "{\"doc_id\": 1999, \"by\": \"another\"}\n";
    int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
    RH_CK(fd >= 0 && write(fd, other, sizeof other - 1) ==
                         (ssize_t)(sizeof other - 1), "append");
    close(fd);
    long long off = 3 * line + 1 + (long long)rh_below(&rng,
                                                       (uint64_t)line - 2);
    set_fsize((rlim_t)(rh_file_size(file) + off));
    atomic_store(&lift_armed, 1);
    for (long i = 200; i < 300; i++)
        RH_CK(log_sample(t, &ld, "fault_u", i) == EVT_OK, "sample");
    RH_CK(flush_long(t) == EVT_OK, "flush after the retry");
    RH_CK(atomic_load(&lifts) == 1, "the write never failed");
    RH_CK(rh_log_count(EVT_LOG_ERROR, "write: File too large; cannot remove "
                       "the ", "(the file changed size behind the sink)",
                       NULL) == 1, "the uncut write was not reported");
    RH_CK(rh_log_count(EVT_LOG_WARN, "bytes of a torn last line", NULL,
                       NULL) == 1, "the partial line was not repaired");
    RH_CK(stat_of(t, "samples", ST_DEAD) == 0, "dead letters");
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    struct docs d = {calloc(2000, 1), 2000, 0};
    char e2[600] = "";
    RH_CK(rh_jsonl_scan(file, 0, NULL, count_doc, &d, e2, sizeof e2) > 0,
          "%s", e2);
    long dups = 0;
    for (long i = 100; i < 300; i++) {
        RH_CK(d.count[i] >= 1, "doc %ld lost", i);
        dups += d.count[i] - 1;
    }
    RH_CK(d.count[1999] == 1, "the other writer's line");
    RH_CK(dups <= off / line, "%ld lines repeated; the failed write held "
          "%lld whole lines", dups, off / line);
    child_exit_figures(dir, tu_fmt("dups %ld\n", dups));
}

static void test_jsonl_uncut_write(void **state)
{
    struct fx *f = *state;
    char *text = run_child_figures(f, jsonl_uncut_child, "faults/jsonl uncut");
    printf("[ faults ] jsonl, write not cut back (another writer): reported, "
           "partial line repaired, %ld whole lines repeated\n",
           figure(text, "dups "));
    free(text);
}

/* local-json: a failed rewrite leaves the last complete version and no
 * temp file; flush reports it; the run_end batch is retried. */
static void local_json_child(const char *dir, uint64_t seed)
{
    struct rh_rng rng = {seed};
    efbig_child_setup(dir, "cannot write the results file");
    char *out = tu_fmt("%s/out", dir), *state = tu_fmt("%s/state", dir);
    char *rec = tu_fmt("%s/other.rec", dir);
    char *lj = rh_sink("results", "local-json", RETRY_FAST, "");
    char *other = rh_test_sink("other", rec, "", "\"record_msgpack\": false");
    char *sinks = tu_fmt("%s, %s", lj, other);
    char *json = config_text(out, state, sinks);
    evt_tracker *t = open_child(dir, json);
    struct load ld;
    load_init(&ld, 10);
    RH_CK(log_run_start(t, &ld) == EVT_OK, "run_start");
    char task[32];
    for (int i = 0; i < 5; i++) {
        snprintf(task, sizeof task, "task_%02d", i);
        RH_CK(log_result(t, &ld, task, i, -1) == EVT_OK, "result");
    }
    RH_CK(flush_long(t) == EVT_OK, "flush");
    char *file = only_file(out, "_results.json");
    size_t len1;
    uint64_t h1 = rh_file_hash(file, &len1);
    /* The next version is larger than the limit allows. */
    set_fsize((rlim_t)len1 + 1 + (rlim_t)rh_below(&rng, 50));
    for (int i = 5; i < 25; i++) {
        snprintf(task, sizeof task, "task_%02d", i);
        RH_CK(log_result(t, &ld, task, i, -1) == EVT_OK, "result");
    }
    int rc = flush_long(t);
    RH_CK(rc == EVT_EIO, "flush on a failed write: %s", evt_status_name(rc));
    char last[512] = "";
    evt_last_error(t, last, sizeof last);
    RH_CK(strstr(last, "cannot write the results file: ") &&
          strstr(last, file) && strstr(last, "File too large"),
          "last error: %s", last);
    size_t len;
    RH_CK(rh_file_hash(file, &len) == h1 && len == len1,
          "the results file changed on a failed write");
    char *folder = strdup(file);
    *strrchr(folder, '/') = '\0';
    struct rh_paths ps = {0};
    rh_list_files(folder, ".tmp.", &ps);
    RH_CK(ps.n == 0, "a temp file was left: %s", ps.n ? ps.p[0] : "");
    rh_paths_free(&ps);
    set_fsize(RLIM_INFINITY);
    RH_CK(flush_long(t) == EVT_OK, "flush with room again");
    char *text = tu_read_file(file, NULL);
    cJSON *o = cJSON_Parse(text);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "results");
    RH_CK(cJSON_GetArraySize(res) == 25, "%d tasks", cJSON_GetArraySize(res));
    cJSON_Delete(o);
    free(text);
    /* The run_end batch: its write fails once and is retried. */
    size_t len2;
    rh_file_hash(file, &len2);
    for (int i = 25; i < 45; i++) {
        snprintf(task, sizeof task, "task_%02d", i);
        RH_CK(log_result(t, &ld, task, i, -1) == EVT_OK, "result");
    }
    set_fsize((rlim_t)len2 + 1 + (rlim_t)rh_below(&rng, 50));
    atomic_store(&lift_armed, 1);
    RH_CK(log_run_end(t, &ld) == EVT_OK, "run_end");
    RH_CK(flush_long(t) == EVT_OK, "flush after run_end");
    RH_CK(atomic_load(&lifts) == 1, "the run_end write never failed");
    RH_CK(stat_of(t, "results", ST_RETRIED) >= 1, "no retry");
    RH_CK(stat_of(t, "results", ST_DEAD) == 0, "dead letters");
    static const char *const names[] = {"results", "other"};
    RH_CK(child_counters(t, names, 2) == 0, "counters");
    RH_CK(evt_close(t, 60000) == EVT_OK, "close");
    text = tu_read_file(file, NULL);
    o = cJSON_Parse(text);
    res = cJSON_GetObjectItemCaseSensitive(o, "results");
    RH_CK(cJSON_GetArraySize(res) == 45, "%d tasks", cJSON_GetArraySize(res));
    cJSON_Delete(o);
    free(text);
    rh_list_files(folder, ".tmp.", &ps);
    RH_CK(ps.n == 0, "a temp file was left: %s", ps.n ? ps.p[0] : "");
    size_t errors = rh_log_count(EVT_LOG_ERROR, "cannot write the results "
                                 "file: ", "File too large", NULL);
    child_exit_figures(dir, tu_fmt("errors %zu\n", errors));
}

static void test_local_json_write_error_keeps_last_version(void **state)
{
    struct fx *f = *state;
    char *text = run_child_figures(f, local_json_child, "faults/local-json EFBIG");
    printf("[ faults ] local-json: %ld failed rewrites reported (File too "
           "large); the last complete version stayed each time\n",
           figure(text, "errors "));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disk_full_enospc, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_output_dir_enotdir,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_output_dir_eacces,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_hangs_in_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sink_retries_forever, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sinks_fail_in_create, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tensorboard_write_error_rollback,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_write_error_rollback,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_two_files_partial_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_uncut_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_local_json_write_error_keeps_last_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
