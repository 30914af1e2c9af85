/* test_crash.c -- kill -9 at random points (issue #7, "Crash tests").
 *
 * test_kill_local_sinks: a child process logs N samples (1 M with
 * EVT_TEST_FULL=1) plus scalars and results through local-json + jsonl +
 * tensorboard-events, calls evt_flush every K samples and tells the parent,
 * through a pipe, the last sample index whose flush returned EVT_OK. The
 * parent SIGKILLs it at >= 20 random points (seeded: EVT_TEST_SEED), and
 * after each kill checks, on disk:
 *  - every sample, scalar and result logged before that flush is there
 *    (JSONL lines, TFRecord scalars; the results file is the version of
 *    that flush or of a later one);
 *  - every file parses: each JSONL line is one JSON object, only the last
 *    line of a file may be torn; every TFRecord record has both CRCs right
 *    and decodes as an Event, only the last one of a file may be torn; the
 *    results file is whole JSON (and every older run's results file is
 *    byte for byte what it was);
 *  - no process wrote an event twice (per process, doc ids and steps only
 *    grow), and each line/record comes from a process that logged it;
 * and then restarts a child in the same output_dir/state_dir that resumes
 * after the last flushed sample: it must open, write, flush and (the last
 * one) close without error. A torn JSONL tail must be gone once the next
 * process appended to that file, with the warning that names its size
 * (docs/sinks/jsonl.md section 4).
 *
 * test_kill_during_spill: a slow spill sink ("sp", queue of 16) and a sink
 * that dead-letters everything ("dl") are killed at >= 20 random points
 * while spilling. After each kill: the spool and the dead-letter file
 * recover (torn tail cut), every flushed event was delivered (sp) or is in
 * the dead-letter file (dl), every committed event is delivered, pending in
 * the spool or among the at most 2 x 16 events held in memory, and the
 * events both delivered and still pending form a prefix of the spool of at
 * most one batch (256): the batch that was inside write(). The next process
 * delivers the spool's backlog first, in order. At the end every spooled
 * event was delivered exactly once, except those of a batch in flight at a
 * kill, which were delivered at most once more per such kill; then
 * `evtrack replay` delivers every dead letter exactly once. */
#include "rel_helpers.h"

#include <math.h>

#include "spool.h"
#include "tb_reader.h"

#define MODEL "evtrack/crash-model"
#define MODEL_DIR "evtrack__crash-model"
#define RUN_DATE "2026-01-01T00:00:00"

enum { MSG_OPENED = 1, MSG_FLUSHED = 2, MSG_DONE = 3, MSG_COMMITTED = 4 };

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
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ======================================================================
 * Part 1: local-json + jsonl + tensorboard-events
 * ====================================================================== */

#define SCALAR_EVERY 8
#define MAX_GENS 256

static char *crash_config(const char *dir, int gen)
{
    char *lj = rh_sink("results", "local-json", "", "");
    char *jl = rh_sink("samples", "jsonl", "", "\"fsync\": \"flush\"");
    char *tb = rh_sink("tb", "tensorboard-events", "", "\"flush_secs\": 5");
    char *json = tu_fmt("{\"output_dir\": \"%s/out\", \"state_dir\": "
                        "\"%s/state\", \"run_id\": \"gen-%d\", "
                        "\"sinks\": [%s, %s, %s]}",
                        dir, dir, gen, lj, jl, tb);
    free(lj), free(jl), free(tb);
    return json;
}

static int flush_point(long i, long n, long k)
{
    return (i + 1) % k == 0 || i == n - 1;
}

static int log_sample(evt_tracker *t, long i, int gen)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", i % 2 ? "crash_b" : "crash_a");
    evt_int(e, "doc_id", i);
    evt_str(e, "target", "B");
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, "The answer is B.");
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, "B");
    evt_array_end(e);
    evt_str(e, "filter", "none");
    evt_int(e, "gen", gen);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", i % 3 == 0 ? 1.0 : 0.0);
    evt_map_end(e);
    evt_str(e, "input", "Question: which letter comes after A?\nAnswer:");
    return evt_commit(e);
}

/* The child: log samples start .. n-1 (scalars every 8th, a result and a
 * flush every k-th), report each flush, and (unless killed) end the run
 * and close. Never returns. */
static void crash_child(const char *dir, int gen, long start, long n, long k,
                        int fd)
{
    char *logp = tu_fmt("%s/child-%d.log", dir, gen);
    rh_log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    free(logp);
    evt_set_log_handler(rh_log_cb, NULL);
    char *json = crash_config(dir, gen);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    int rc = evt_open_json(json, dir, &t, err, sizeof err);
    free(json);
    RH_CK(rc == EVT_OK, "open (generation %d): %s", gen, err);
    rh_send(fd, MSG_OPENED, gen, 0);
    rc = evt_log_json(t, EVT_EV_RUN_START,
                      "{\"model_name\": \"" MODEL "\", \"model_args\": "
                      "\"pretrained=" MODEL "\", \"date\": \"" RUN_DATE "\"}");
    RH_CK(rc == EVT_OK, "run_start: %s", evt_status_name(rc));
    for (long i = start; i < n; i++) {
        rc = log_sample(t, i, gen);
        RH_CK(rc == EVT_OK, "sample %ld: %s", i, evt_status_name(rc));
        if (i % SCALAR_EVERY == 0) {
            rc = evt_log_scalar(t, "train/i", (double)i, i);
            RH_CK(rc == EVT_OK, "scalar %ld: %s", i, evt_status_name(rc));
        }
        if (flush_point(i, n, k)) {
            rc = evt_log_result(t, "crash_a", "last", NULL, (double)i, NAN,
                                i);
            RH_CK(rc == EVT_OK, "result %ld: %s", i, evt_status_name(rc));
            rc = evt_flush(t, 120000);
            char last[256] = "";
            evt_last_error(t, last, sizeof last);
            RH_CK(rc == EVT_OK, "flush at %ld: %s (%s)", i,
                  evt_status_name(rc), last);
            rh_send(fd, MSG_FLUSHED, i, 0);
        }
    }
    rc = evt_log_run_end(t);
    RH_CK(rc == EVT_OK, "run_end: %s", evt_status_name(rc));
    rc = evt_close(t, 120000);
    RH_CK(rc == EVT_OK, "close: %s", evt_status_name(rc));
    rh_send(fd, MSG_DONE, gen, 0);
    rh_child_exit(0);
}

/* What the parent knows of each child process ("generation"). */
struct gen {
    long start;   /* first sample index it logged */
    long flushed; /* last index whose flush it reported (start - 1: none) */
    long bound;   /* the last index it can have logged */
    int killed;
    char *results; /* its results file (NULL: none seen) */
    uint64_t results_hash;
    size_t results_len;
};

struct jfile {
    char *path;
    long long verified; /* bytes checked: whole lines */
    long long torn;     /* bytes of a torn last line at the last check */
    int torn_gen;       /* the generation killed when it was seen */
    long last_doc[MAX_GENS];
};

struct crash {
    char *dir, *sample_dir, *results_dir, *tb_dir;
    long n, k;
    int ngens;
    struct gen g[MAX_GENS];
    uint8_t *seen_sample, *seen_scalar, *seen_result;
    long sample_ok, scalar_ok, result_ok; /* everything below is on disk */
    struct jfile jf[8];
    size_t njf;
    struct rh_paths tb_done;
    /* figures */
    long lines, records, results_files, torn_lines, torn_records,
        stale_tmp, repairs;
};

/* Check the new whole lines of one JSONL file; remember a torn tail. */
static void check_jsonl(struct crash *c, struct jfile *j, int killed_gen,
                        int final)
{
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("%s: cannot open", j->path);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    if (st.st_size < j->verified)
        fail_msg("%s: shrank below its checked part (%lld < %lld bytes)",
                 j->path, (long long)st.st_size, j->verified);
    size_t len = (size_t)(st.st_size - j->verified);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, j->verified + (off_t)got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    long long prev_torn = j->torn;
    size_t pos = 0;
    int appended = 0;
    while (pos < len) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl)
            break;
        *nl = '\0';
        const char *line = buf + pos;
        cJSON *o = cJSON_Parse(line);
        if (!o || !cJSON_IsObject(o))
            fail_msg("%s, offset %lld: not one JSON object (a torn line in "
                     "the middle?): %.120s",
                     j->path, j->verified + (long long)pos, line);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "doc_id");
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gen");
        if (!cJSON_IsNumber(d) || !cJSON_IsNumber(g))
            fail_msg("%s: a line without doc_id or gen: %.120s", j->path,
                     line);
        long doc = (long)d->valuedouble;
        int gen = (int)g->valuedouble;
        if (gen < 0 || gen >= c->ngens || doc < c->g[gen].start ||
            doc > c->g[gen].bound || doc >= c->n)
            fail_msg("%s: doc %ld of generation %d, which logged %ld..%ld",
                     j->path, doc, gen, gen >= 0 && gen < c->ngens
                                            ? c->g[gen].start : -1L,
                     gen >= 0 && gen < c->ngens ? c->g[gen].bound : -1L);
        if (doc <= j->last_doc[gen])
            fail_msg("%s: generation %d wrote doc %ld after doc %ld: an "
                     "event written twice or out of order",
                     j->path, gen, doc, j->last_doc[gen]);
        j->last_doc[gen] = doc;
        if (c->seen_sample[doc] < 255)
            c->seen_sample[doc]++;
        cJSON_Delete(o);
        c->lines++;
        appended = 1;
        pos = (size_t)(nl - buf) + 1;
    }
    j->verified += (long long)pos;
    long long torn = (long long)(len - pos);
    /* A torn tail left at an earlier kill was cut by the next process
     * that opened the file (the lines after it parse), which said so. */
    if (prev_torn && appended) {
        char *want = tu_fmt("%s: removed %lld bytes of a torn last line",
                            j->path, prev_torn);
        int found = 0;
        for (int by = j->torn_gen + 1; by < c->ngens && !found; by++) {
            char *logp = tu_fmt("%s/child-%d.log", c->dir, by);
            char *log = tu_read_file(logp, NULL);
            found = log && strstr(log, want);
            free(logp), free(log);
        }
        if (!found)
            fail_msg("%s was appended to without the warning \"%s\"",
                     j->path, want);
        c->repairs++;
        free(want);
    }
    if (torn && final)
        fail_msg("%s: ends with a torn line of %lld bytes after a clean "
                 "close", j->path, torn);
    if (torn && (torn != prev_torn || appended)) {
        c->torn_lines++;
        j->torn_gen = killed_gen;
    }
    j->torn = torn;
    free(buf);
}

static void check_all_jsonl(struct crash *c, int killed_gen, int final)
{
    struct rh_paths ps = {0};
    rh_list_files(c->sample_dir, "_samples_", &ps);
    for (size_t i = 0; i < ps.n; i++) {
        struct jfile *j = NULL;
        for (size_t x = 0; x < c->njf; x++)
            if (strcmp(c->jf[x].path, ps.p[i]) == 0)
                j = &c->jf[x];
        if (!j) {
            if (c->njf == sizeof c->jf / sizeof *c->jf)
                fail_msg("too many samples files: %s", ps.p[i]);
            j = &c->jf[c->njf++];
            memset(j, 0, sizeof *j);
            j->path = strdup(ps.p[i]);
            for (int g = 0; g < MAX_GENS; g++)
                j->last_doc[g] = -1;
        }
        check_jsonl(c, j, killed_gen, final);
    }
    if (ps.n > 2)
        fail_msg("%zu samples files in %s; expected one per task", ps.n,
                 c->sample_dir);
    rh_paths_free(&ps);
}

/* Check every event file of dead processes not checked yet. */
static void check_tb(struct crash *c, int final)
{
    struct rh_paths ps = {0};
    rh_list_files(c->tb_dir, "events.out.tfevents.", &ps);
    for (size_t i = 0; i < ps.n; i++) {
        if (rh_paths_has(&c->tb_done, ps.p[i]))
            continue;
        const char *run = strstr(ps.p[i], "/gen-");
        assert_non_null(run);
        int gen = (int)strtol(run + 5, NULL, 10);
        assert_true(gen >= 0 && gen < c->ngens);
        struct tbr_file tf;
        char err[600] = "";
        int rc = tbr_load_path(&tf, ps.p[i], err, sizeof err);
        if (rc != TBR_OK)
            fail_msg("%s: %s", ps.p[i], err);
        if (tf.recs.torn) {
            if (final && !c->g[gen].killed)
                fail_msg("%s: a torn record at offset %zu after a clean "
                         "close", ps.p[i], tf.recs.torn_offset);
            c->torn_records++;
        }
        if (tf.n == 0 && c->g[gen].killed) {
            /* Killed between creating the file (O_EXCL) and writing its
             * file_version record (or part of it): an empty file, which
             * readers take as one of no events; nothing was acknowledged. */
            tbr_file_free(&tf);
            rh_paths_add(&c->tb_done, strdup(ps.p[i]));
            continue;
        }
        assert_true(tf.n >= 1);
        assert_true(tbr_bytes_eq(&tf.ev[0].file_version, "brain.Event:2"));
        long last_scalar = -1, last_result = -1;
        for (size_t r = 1; r < tf.n; r++) {
            const struct tbr_event *ev = &tf.ev[r];
            for (size_t v = 0; v < ev->nvalues; v++) {
                const struct tbr_value *val = &ev->values[v];
                long step = (long)ev->step;
                long *last;
                uint8_t *seen;
                long slot;
                if (tbr_bytes_eq(&val->tag, "train/i")) {
                    if (step % SCALAR_EVERY != 0)
                        fail_msg("%s: scalar at step %ld", ps.p[i], step);
                    last = &last_scalar;
                    seen = c->seen_scalar;
                    slot = step / SCALAR_EVERY;
                } else if (tbr_bytes_eq(&val->tag, "eval/crash_a/last")) {
                    if (!flush_point(step, c->n, c->k))
                        fail_msg("%s: result at step %ld", ps.p[i], step);
                    last = &last_result;
                    seen = c->seen_result;
                    slot = step / c->k;
                } else {
                    continue; /* the table and hparams of the last run */
                }
                if (!val->has_simple || val->simple_value != (float)step)
                    fail_msg("%s: step %ld holds the wrong value", ps.p[i],
                             step);
                if (step < c->g[gen].start || step > c->g[gen].bound)
                    fail_msg("%s: step %ld from generation %d, which logged "
                             "%ld..%ld", ps.p[i], step, gen,
                             c->g[gen].start, c->g[gen].bound);
                if (step <= *last)
                    fail_msg("%s: step %ld after step %ld: a record written "
                             "twice or out of order", ps.p[i], step, *last);
                *last = step;
                if (seen[slot] < 255)
                    seen[slot]++;
            }
            c->records++;
        }
        tbr_file_free(&tf);
        rh_paths_add(&c->tb_done, strdup(ps.p[i]));
    }
    rh_paths_free(&ps);
}

/* Number of crash_a samples (even indices) in [from, to]. */
static long evens(long from, long to)
{
    if (to < from)
        return 0;
    long first = from + (from & 1);
    return first > to ? 0 : (to - first) / 2 + 1;
}

/* The results file of generation gen: whole JSON, the version of its last
 * reported flush or of the flush that was in progress. */
static void check_results(struct crash *c, int gen, int final)
{
    struct gen *g = &c->g[gen];
    struct rh_paths ps = {0};
    rh_list_files(c->results_dir, "_results.json", &ps);
    size_t tmp = 0;
    for (size_t i = 0; i < ps.n; i++) {
        if (strstr(ps.p[i], ".tmp.")) {
            tmp++;
            continue;
        }
        int known = 0;
        for (int x = 0; x < gen; x++)
            known |= c->g[x].results && strcmp(c->g[x].results, ps.p[i]) == 0;
        if (known)
            continue;
        if (g->results)
            fail_msg("generation %d wrote two results files: %s and %s", gen,
                     g->results, ps.p[i]);
        g->results = strdup(ps.p[i]);
    }
    rh_paths_free(&ps);
    /* At most one stale temp file per killed process (docs/sinks/
     * local-json.md section 2). */
    int kills = 0;
    for (int x = 0; x <= gen; x++)
        kills += c->g[x].killed;
    if (tmp > (size_t)kills)
        fail_msg("%zu stale temp files after %d kills", tmp, kills);
    c->stale_tmp = (long)tmp;
    if (!g->results) {
        if (g->flushed >= g->start)
            fail_msg("generation %d flushed up to %ld but left no results "
                     "file", gen, g->flushed);
        return;
    }
    char *text = tu_read_file(g->results, &g->results_len);
    assert_non_null(text);
    cJSON *o = cJSON_Parse(text);
    if (!o || !cJSON_IsObject(o))
        fail_msg("%s: not whole JSON", g->results);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "results");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(res, "crash_a");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(a, "last,none");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(o, "n-samples");
    const cJSON *na = cJSON_GetObjectItemCaseSensitive(ns, "crash_a");
    const cJSON *eff = cJSON_GetObjectItemCaseSensitive(na, "effective");
    if (!cJSON_IsNumber(last) || !cJSON_IsNumber(eff))
        fail_msg("%s: no results.crash_a[\"last,none\"] or n-samples",
                 g->results);
    long v = (long)last->valuedouble;
    long next = ((g->flushed + 1) / c->k + 1) * c->k - 1;
    if (next > c->n - 1)
        next = c->n - 1;
    if (final && !g->killed) {
        if (v != c->n - 1)
            fail_msg("%s: last result %ld after a clean close (want %ld)",
                     g->results, v, c->n - 1);
    } else if (v != g->flushed && v != next) {
        fail_msg("%s: holds the version of index %ld; generation %d's last "
                 "flush was at %ld (the next one at %ld)",
                 g->results, v, gen, g->flushed, next);
    }
    /* One consistent version: its sample count matches its result. */
    if ((long)eff->valuedouble != evens(g->start, v))
        fail_msg("%s: n-samples.crash_a.effective %ld, want %ld (samples "
                 "%ld..%ld)", g->results, (long)eff->valuedouble,
                 evens(g->start, v), g->start, v);
    cJSON_Delete(o);
    free(text);
    g->results_hash = rh_file_hash(g->results, NULL);
    c->results_files++;
}

/* Every older results file is still what it was: never overwritten. */
static void check_old_results(struct crash *c, int upto)
{
    for (int x = 0; x < upto; x++) {
        if (!c->g[x].results)
            continue;
        size_t len;
        uint64_t h = rh_file_hash(c->g[x].results, &len);
        if (h != c->g[x].results_hash || len != c->g[x].results_len)
            fail_msg("%s (generation %d) changed after its process died",
                     c->g[x].results, x);
    }
}

/* Everything up to the last reported flush is on disk. */
static void check_flushed(struct crash *c, long flushed)
{
    for (; c->sample_ok <= flushed; c->sample_ok++)
        if (!c->seen_sample[c->sample_ok])
            fail_msg("sample %ld was flushed (up to %ld) but is in no "
                     "samples file", c->sample_ok, flushed);
    for (; c->scalar_ok * SCALAR_EVERY <= flushed; c->scalar_ok++)
        if (!c->seen_scalar[c->scalar_ok])
            fail_msg("scalar %ld was flushed (up to %ld) but is in no event "
                     "file", c->scalar_ok * SCALAR_EVERY, flushed);
    for (; (c->result_ok + 1) * c->k - 1 <= flushed; c->result_ok++)
        if (!c->seen_result[c->result_ok])
            fail_msg("result %ld was flushed but is in no event file",
                     (c->result_ok + 1) * c->k - 1);
}

static void check_after(struct crash *c, int gen, int final)
{
    check_all_jsonl(c, gen, final);
    check_tb(c, final);
    check_results(c, gen, final);
    check_old_results(c, gen);
    check_flushed(c, c->g[gen].flushed);
    /* No event was dead-lettered, nothing spilled. */
    char *rej = tu_fmt("%s/state/rejected", c->dir);
    char *spool = tu_fmt("%s/state/spool", c->dir);
    struct rh_paths ps = {0};
    rh_list_files(rej, NULL, &ps);
    rh_list_files(spool, NULL, &ps);
    if (ps.n)
        fail_msg("unexpected state file %s", ps.p[0]);
    rh_paths_free(&ps);
    free(rej), free(spool);
}

/* A kill inside write(2) rarely cuts a line, so every 4th kill also
 * leaves one by hand: the start of a line at the end of a samples file
 * (as a crash of any writer would). 1 when one was added. */
static int inject_torn_line(struct crash *c, struct rh_rng *rng)
{
    struct rh_paths ps = {0};
    rh_list_files(c->sample_dir, "_samples_", &ps);
    int done = 0;
    if (ps.n) {
        const char *path = ps.p[rh_below(rng, ps.n)];
        size_t len;
        char *text = tu_read_file(path, &len);
        if (text && len && text[len - 1] == '\n') {
            static const char part[] =
                "{\"doc_id\": 999999999, \"target\": \"B\", \"filtered_resps\"";
            size_t n = 1 + (size_t)rh_below(rng, sizeof part - 1);
            FILE *fp = fopen(path, "ab");
            assert_non_null(fp);
            assert_int_equal(fwrite(part, 1, n, fp), n);
            fclose(fp);
            done = 1;
        }
        free(text);
    }
    rh_paths_free(&ps);
    return done;
}

static void test_kill_local_sinks(void **state)
{
    struct fx *f = *state;
    int64_t t0 = rh_now_us();
    struct crash *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->dir = f->dir;
    c->n = rh_env_long("EVT_TEST_CRASH_SAMPLES", rh_scaled(1000000, 5000));
    long kills = rh_env_long("EVT_TEST_CRASH_KILLS", rh_full() ? 200 : 20);
    if (kills > MAX_GENS - 1)
        kills = MAX_GENS - 1;
    c->k = c->n / 400 > 50 ? c->n / 400 : 50;
    c->sample_dir = tu_fmt("%s/out/%s", f->dir, MODEL_DIR);
    c->results_dir = c->sample_dir;
    c->tb_dir = tu_fmt("%s/out/tb", f->dir);
    c->seen_sample = calloc((size_t)c->n, 1);
    c->seen_scalar = calloc((size_t)c->n / SCALAR_EVERY + 1, 1);
    c->seen_result = calloc((size_t)c->n / c->k + 2, 1);
    assert_non_null(c->seen_sample);
    struct rh_rng rng = {rh_seed("crash/local sinks")};
    printf("[ crash ] %ld samples, flush every %ld, %ld kills\n", c->n, c->k,
           kills);
    long flushed = -1; /* last index flushed by any process */
    int64_t us_per_flush = 20000;
    long early = 0, injected = 0;
    for (int gen = 0; gen <= kills; gen++) {
        int last_gen = gen == kills;
        struct gen *g = &c->g[gen];
        g->start = flushed + 1;
        g->flushed = flushed;
        c->ngens = gen + 1;
        /* The kill: at a random sample index of this stretch (the next
         * 1/(kills - gen + 1) of what is left, at most 90 % of the run),
         * then a random time within one flush interval; one time in 5
         * right after the start instead (open, recovery, first writes). */
        long left = (long)(c->n * 9 / 10) - g->start;
        long target = g->start + (left > 0 ? (long)rh_below(
                                                  &rng, (uint64_t)(2 * left /
                                                        (kills - gen + 1)) + 1)
                                            : 0);
        int is_early = !last_gen && rh_below(&rng, 5) == 0;
        int64_t delay = is_early ? (int64_t)rh_below(&rng, 30000)
                                 : (int64_t)rh_below(&rng, (uint64_t)
                                                      us_per_flush + 1);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(stdout);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(f->dir, gen, g->start, c->n, c->k, fds[1]);
        }
        close(fds[1]);
        int64_t last_flush_at = 0;
        int done = 0;
        struct rh_msg m;
        if (is_early) {
            rh_sleep_us(delay);
        } else {
            while (!last_gen ? g->flushed < target : !done) {
                int r = rh_recv(fds[0], &m, 300000);
                if (r != 1) {
                    kill(pid, SIGKILL);
                    rh_wait(pid);
                    fail_msg("generation %d: %s before sample %ld (status "
                             "above)", gen, r ? "no word for 300 s" :
                             "the child ended", target);
                }
                if (m.type == MSG_FLUSHED) {
                    g->flushed = (long)m.value;
                    int64_t now = rh_now_us();
                    if (last_flush_at)
                        us_per_flush = (us_per_flush * 7 +
                                        (now - last_flush_at)) / 8;
                    last_flush_at = now;
                }
                done |= m.type == MSG_DONE;
            }
            if (!last_gen)
                rh_sleep_us(delay);
        }
        if (!last_gen) {
            assert_int_equal(kill(pid, SIGKILL), 0);
            g->killed = 1;
            early += is_early;
        }
        int st = rh_wait(pid);
        /* What it reported before it died. */
        while (rh_recv(fds[0], &m, 1000) == 1) {
            if (m.type == MSG_FLUSHED)
                g->flushed = (long)m.value;
            done |= m.type == MSG_DONE;
        }
        close(fds[0]);
        if (last_gen) {
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !done)
                fail_msg("the last generation did not finish cleanly "
                         "(status %d)", st);
        } else if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
            fail_msg("generation %d ended before the kill (status %d): see "
                     "its reason above", gen, st);
        }
        /* It cannot have logged past the flush after its last one. */
        g->bound = last_gen ? c->n - 1
                            : ((g->flushed + 1) / c->k + 1) * c->k - 1;
        if (g->bound > c->n - 1)
            g->bound = c->n - 1;
        if (!last_gen && gen % 4 == 1)
            injected += inject_torn_line(c, &rng);
        check_after(c, gen, last_gen);
        flushed = g->flushed;
    }
    /* The end: every sample, scalar and result is on disk. */
    check_flushed(c, c->n - 1);
    for (long i = 0; i < c->n; i++)
        assert_true(c->seen_sample[i] >= 1);
    int64_t us = rh_now_us() - t0;
    long dup = 0;
    for (long i = 0; i < c->n; i++)
        dup += c->seen_sample[i] - 1;
    printf("[ crash ] %ld kills survived (%ld right after start); checked "
           "%ld JSONL lines (%ld re-logged after a kill), %ld TFRecord "
           "records, %ld results files; %ld torn JSONL tails (%ld of them "
           "added by the test; %ld repaired and reported), %ld torn "
           "TFRecord tails, %ld stale temp files; %.1f s\n",
           kills, early, c->lines, dup, c->records, c->results_files,
           c->torn_lines, injected, c->repairs, c->torn_records, c->stale_tmp,
           (double)us / 1e6);
    for (int gen = 0; gen < c->ngens; gen++)
        free(c->g[gen].results);
    for (size_t i = 0; i < c->njf; i++)
        free(c->jf[i].path);
    rh_paths_free(&c->tb_done);
    free(c->seen_sample), free(c->seen_scalar), free(c->seen_result);
    free(c->sample_dir), free(c->tb_dir);
    free(c);
}

/* ======================================================================
 * Part 2: spill, spool recovery, dead letters, replay
 * ====================================================================== */

#define SP_QUEUE 16
#define BATCH 256 /* EVT__BATCH_MAX */

struct rec {
    int gen;
    uint64_t seq;
};

struct recs {
    struct rec *r;
    size_t n, cap;
};

static void recs_add(struct recs *v, int gen, uint64_t seq)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->r = realloc(v->r, v->cap * sizeof *v->r);
        assert_non_null(v->r);
    }
    v->r[v->n].gen = gen;
    v->r[v->n].seq = seq;
    v->n++;
}

static char *spool_config(const char *dir, int gen, int dl_fails)
{
    char *rec = tu_fmt("%s/sp.rec", dir), *drec = tu_fmt("%s/dl.rec", dir);
    char *sp = rh_test_sink(
        "sp", rec,
        "\"queue\": {\"max_events\": 16, \"overflow\": \"spill\"}",
        "\"record_msgpack\": false, \"record_run_id\": true, "
        "\"sleep_ms\": 1, \"sleep_after_ms\": 2");
    char *dl = rh_test_sink(
        "dl", drec,
        "\"queue\": {\"max_events\": 16}, "
        "\"retry\": {\"limit\": 0, \"base_ms\": 0, \"cap_ms\": 0}",
        dl_fails ? "\"record_msgpack\": false, \"record_run_id\": true, "
                   "\"retry_forever\": true"
                 : "\"record_msgpack\": false, \"record_run_id\": true");
    char *json = tu_fmt("{\"output_dir\": \"%s/out\", \"state_dir\": "
                        "\"%s/state\", \"run_id\": \"g%d\", "
                        "\"sinks\": [%s, %s]}",
                        dir, dir, gen, sp, dl);
    free(rec), free(drec), free(sp), free(dl);
    return json;
}

/* Log `count` scalars (seq 1..count), flushing every 1024 and reporting
 * the committed seq every 64; then wait to be killed (or, with last, close
 * cleanly). */
static void spool_child(const char *dir, int gen, long count, int last,
                        int fd)
{
    char *json = spool_config(dir, gen, 1);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    evt_set_log_handler(rh_log_cb, NULL); /* quiet: expected warnings */
    int rc = evt_open_json(json, dir, &t, err, sizeof err);
    free(json);
    RH_CK(rc == EVT_OK, "open (generation %d): %s", gen, err);
    rh_send(fd, MSG_OPENED, gen, 0);
    for (long i = 1; i <= count; i++) {
        rc = evt_log_scalar(t, "x", (double)i, i);
        RH_CK(rc == EVT_OK, "scalar %ld: %s", i, evt_status_name(rc));
        if (i % 64 == 0)
            rh_send(fd, MSG_COMMITTED, i, 0);
        if (i % 1024 == 0) {
            rc = evt_flush(t, 120000);
            RH_CK(rc == EVT_OK, "flush: %s", evt_status_name(rc));
            rh_send(fd, MSG_FLUSHED, i, 0);
        }
    }
    rh_send(fd, MSG_COMMITTED, count, 0);
    if (last) {
        rc = evt_close(t, 120000);
        RH_CK(rc == EVT_OK, "close: %s", evt_status_name(rc));
        rh_send(fd, MSG_DONE, gen, 0);
        rh_child_exit(0);
    }
    for (;;)
        pause();
}

/* The records after the cursor of a spool-format file, in file order
 * (opening it runs recovery: a torn tail is cut). */
static void spool_pending(const char *path, struct recs *out,
                          uint64_t *truncated)
{
    struct evt__spool *s;
    struct evt__spool_recovery rv = {0};
    char err[512];
    out->n = 0;
    if (truncated)
        *truncated = 0;
    if (!rh_exists(path))
        return;
    if (evt__spool_open(path, 0, &s, &rv, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (truncated)
        *truncated = rv.truncated_bytes;
    const unsigned char *r;
    size_t len;
    while (evt__spool_next(s, (const void **)&r, &len) == 1) {
        assert_true(len >= 32);
        size_t rl = (size_t)r[2] | (size_t)r[3] << 8;
        uint64_t seq = 0;
        for (int i = 7; i >= 0; i--)
            seq = seq << 8 | r[8 + i];
        assert_true(rl >= 2 && r[32] == 'g');
        int gen = (int)strtol((const char *)r + 33, NULL, 10);
        recs_add(out, gen, seq);
    }
    evt__spool_close(s);
}

/* The record lines of a test-sink file, in order; a line that does not
 * parse (cut by a kill) is counted in *bad. stamps: the offsets (record
 * indices) at which each "# stamp" line occurred. */
static void sink_lines(const char *path, struct recs *out, size_t *bad,
                       struct recs *stamps)
{
    out->n = 0;
    *bad = 0;
    if (stamps)
        stamps->n = 0;
    char *text = tu_read_file(path, NULL);
    for (char *l = text, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        *nl = '\0';
        char *st = strstr(l, "# stamp");
        if (st && st != l) /* a line cut by a kill, then a new process */
            (*bad)++;
        if (st && stamps)
            recs_add(stamps, 0, out->n);
        if (*l == '#' || st)
            continue;
        char *p, *r = strstr(l, " r=g");
        unsigned long long seq = strtoull(l, &p, 10);
        if (!r || p == l) {
            (*bad)++;
            continue;
        }
        recs_add(out, (int)strtol(r + 4, NULL, 10), seq);
    }
    free(text);
}

struct sgen {
    uint64_t flushed, committed;
};

/* Per generation, a bitmap-like count array indexed by seq. */
struct counts {
    uint16_t *c[MAX_GENS];
    uint64_t size[MAX_GENS];
};

static void counts_fill(struct counts *k, const struct recs *v, int ngens,
                        const struct sgen *sg)
{
    for (int g = 0; g < ngens; g++) {
        free(k->c[g]);
        /* committed is reported every 64 events: up to 64 more exist */
        k->size[g] = sg[g].committed + 65;
        k->c[g] = calloc((size_t)k->size[g], sizeof *k->c[g]);
        assert_non_null(k->c[g]);
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct rec *r = &v->r[i];
        if (r->gen < 0 || r->gen >= ngens || r->seq == 0 ||
            r->seq >= k->size[r->gen])
            fail_msg("a record of g%d seq %llu, which was never logged",
                     r->gen, (unsigned long long)r->seq);
        k->c[r->gen][r->seq]++;
    }
}

static void counts_free(struct counts *k)
{
    for (int g = 0; g < MAX_GENS; g++)
        free(k->c[g]);
    memset(k, 0, sizeof *k);
}

static void test_kill_during_spill(void **state)
{
    struct fx *f = *state;
    int64_t t0 = rh_now_us();
    long kills = rh_env_long("EVT_TEST_CRASH_KILLS", rh_full() ? 200 : 20);
    if (kills > MAX_GENS - 2)
        kills = MAX_GENS - 2;
    long per_gen = rh_scaled(4096, 2048);
    struct rh_rng rng = {rh_seed("crash/spill") ^ 0x5bd1e995u};
    char *sp_rec = tu_fmt("%s/sp.rec", f->dir);
    char *spool = tu_fmt("%s/state/spool/sp.spool", f->dir);
    char *dlq = tu_fmt("%s/state/rejected/dl.spool", f->dir);
    struct sgen sg[MAX_GENS] = {{0, 0}};
    struct recs pending = {0}, delivered = {0}, stamps = {0}, dead = {0};
    /* Per (gen, seq): kills at which it was delivered and still pending
     * (in flight), and whether it was in memory only at its kill. */
    struct counts overlap = {0}, in_memory = {0};
    size_t bad_lines = 0, nonempty = 0, max_pending = 0, max_overlap = 0;
    uint64_t truncated = 0, dl_trunc = 0;
    long lost_in_memory = 0;
    int ngens = 0;
    for (int gen = 0; gen <= kills; gen++) {
        int last = gen == kills;
        ngens = gen + 1;
        long target = (long)rh_below(&rng, (uint64_t)per_gen) + 1;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(stdout);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            spool_child(f->dir, gen, last ? 100 : per_gen, last, fds[1]);
        }
        close(fds[1]);
        struct rh_msg m;
        int done = 0;
        while (last ? !done : (long)sg[gen].committed < target) {
            int r = rh_recv(fds[0], &m, 300000);
            if (r != 1) {
                kill(pid, SIGKILL);
                rh_wait(pid);
                fail_msg("spill generation %d: %s", gen,
                         r ? "no word for 300 s" : "the child ended");
            }
            if (m.type == MSG_COMMITTED)
                sg[gen].committed = (uint64_t)m.value;
            if (m.type == MSG_FLUSHED)
                sg[gen].flushed = (uint64_t)m.value;
            done |= m.type == MSG_DONE;
        }
        if (!last) {
            rh_sleep_us((int64_t)rh_below(&rng, 3000));
            assert_int_equal(kill(pid, SIGKILL), 0);
        }
        int st = rh_wait(pid);
        while (rh_recv(fds[0], &m, 1000) == 1) {
            if (m.type == MSG_COMMITTED)
                sg[gen].committed = (uint64_t)m.value;
            if (m.type == MSG_FLUSHED)
                sg[gen].flushed = (uint64_t)m.value;
            done |= m.type == MSG_DONE;
        }
        close(fds[0]);
        if (last ? !(WIFEXITED(st) && WEXITSTATUS(st) == 0 && done)
                 : !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
            fail_msg("spill generation %d ended with status %d", gen, st);
        /* Recover the spool and the dead letters as the next open will. */
        uint64_t cut = 0, dcut = 0;
        struct recs prev_pending = pending;
        memset(&pending, 0, sizeof pending);
        spool_pending(spool, &pending, &cut);
        truncated += cut;
        spool_pending(dlq, &dead, &dcut);
        dl_trunc += dcut;
        sink_lines(sp_rec, &delivered, &bad_lines, &stamps);
        if (bad_lines > (size_t)gen)
            fail_msg("%zu cut lines in sp.rec after %d kills", bad_lines,
                     gen);
        /* The spool holds each run's events in seq order, older runs
         * first. */
        for (size_t i = 1; i < pending.n; i++)
            if (pending.r[i].gen < pending.r[i - 1].gen ||
                (pending.r[i].gen == pending.r[i - 1].gen &&
                 pending.r[i].seq <= pending.r[i - 1].seq))
                fail_msg("spool out of order at record %zu", i);
        struct counts k = {0};
        counts_fill(&k, &delivered, ngens, sg);
        /* This process delivered its backlog first, in order: the lines
         * after its stamp start with the previous spool's records. */
        assert_true(stamps.n >= (size_t)ngens);
        size_t from = (size_t)stamps.r[gen].seq;
        size_t to = gen + 1 < (int)stamps.n ? (size_t)stamps.r[gen + 1].seq
                                            : delivered.n;
        for (size_t i = 0; i < prev_pending.n && from + i < to; i++)
            if (delivered.r[from + i].gen != prev_pending.r[i].gen ||
                delivered.r[from + i].seq != prev_pending.r[i].seq)
                fail_msg("generation %d: delivery %zu is g%d seq %llu, the "
                         "spool held g%d seq %llu there", gen, i,
                         delivered.r[from + i].gen,
                         (unsigned long long)delivered.r[from + i].seq,
                         prev_pending.r[i].gen,
                         (unsigned long long)prev_pending.r[i].seq);
        if (!last) {
            /* Flushed: delivered. Committed: delivered, pending, or one of
             * the <= 2 x 16 events held in memory (queue + batch). */
            long missing = 0;
            overlap.size[gen] = in_memory.size[gen] = sg[gen].committed + 65;
            overlap.c[gen] = calloc((size_t)overlap.size[gen], 2);
            in_memory.c[gen] = calloc((size_t)in_memory.size[gen], 2);
            assert_non_null(overlap.c[gen]);
            assert_non_null(in_memory.c[gen]);
            struct counts pk = {0};
            counts_fill(&pk, &pending, ngens, sg);
            for (uint64_t s = 1; s <= sg[gen].committed; s++) {
                int there = k.c[gen][s] || pk.c[gen][s];
                if (s <= sg[gen].flushed && !k.c[gen][s])
                    fail_msg("g%d seq %llu was flushed but never delivered",
                             gen, (unsigned long long)s);
                if (!there) {
                    missing++;
                    in_memory.c[gen][s] = 1;
                }
            }
            if (missing > 2 * SP_QUEUE)
                fail_msg("g%d: %ld committed events neither delivered nor "
                         "spooled (at most %d may be in memory)", gen,
                         missing, 2 * SP_QUEUE);
            lost_in_memory += missing;
            /* Delivered and still pending: a prefix of the spool, at most
             * one batch (the one inside write() at the kill). */
            size_t ov = 0;
            for (size_t i = 0; i < pending.n; i++) {
                const struct rec *r = &pending.r[i];
                if (k.c[r->gen][r->seq]) {
                    if (i != ov)
                        fail_msg("g%d seq %llu was delivered and is still "
                                 "pending, but is not in the spool's first "
                                 "batch", r->gen, (unsigned long long)r->seq);
                    overlap.c[r->gen][r->seq]++;
                    ov++;
                }
            }
            if (ov > BATCH)
                fail_msg("%zu events both delivered and pending", ov);
            if (ov > max_overlap)
                max_overlap = ov;
            nonempty += pending.n > 0;
            if (pending.n > max_pending)
                max_pending = pending.n;
            counts_free(&pk);
        }
        /* Dead letters: each flushed event once; all in order. */
        struct counts dk = {0};
        counts_fill(&dk, &dead, ngens, sg);
        for (int g = 0; g < ngens; g++)
            for (uint64_t s = 1; s < dk.size[g]; s++) {
                if (dk.c[g][s] > 1)
                    fail_msg("g%d seq %llu dead-lettered %u times", g,
                             (unsigned long long)s, dk.c[g][s]);
                if (s <= sg[g].flushed && !dk.c[g][s])
                    fail_msg("g%d seq %llu was flushed but is not in the "
                             "dead-letter file", g, (unsigned long long)s);
            }
        counts_free(&dk);
        counts_free(&k);
        free(prev_pending.r);
    }
    /* The clean last process drained the whole backlog. */
    assert_int_equal(pending.n, 0);
    assert_int_equal(rh_file_size(spool), 8);
    /* Each spooled or flushed event was delivered; twice only when it was
     * in flight at a kill (once more per such kill). */
    struct counts k = {0};
    counts_fill(&k, &delivered, ngens, sg);
    size_t twice = 0;
    for (int g = 0; g < ngens; g++)
        for (uint64_t s = 1; s < k.size[g]; s++) {
            size_t allowed = 1 + (overlap.c[g] ? overlap.c[g][s] : 0u);
            if (k.c[g][s] > allowed)
                fail_msg("g%d seq %llu delivered %u times (in flight at %zu "
                         "kills)", g, (unsigned long long)s, k.c[g][s],
                         allowed - 1);
            if (s <= sg[g].committed && !k.c[g][s] &&
                !(in_memory.c[g] && in_memory.c[g][s]))
                fail_msg("g%d seq %llu was committed and spooled but never "
                         "delivered", g, (unsigned long long)s);
            twice += k.c[g][s] > 1 ? k.c[g][s] - 1u : 0u;
        }
    /* Dead letters: `evtrack replay` delivers each exactly once. */
    char *ok_cfg = tu_fmt("%s/spool-ok.json", f->dir);
    char *json = spool_config(f->dir, 999, 0);
    tu_write_file(ok_cfg, json);
    free(json);
    size_t ndead = dead.n;
    struct recs before = {0};
    for (size_t i = 0; i < dead.n; i++)
        recs_add(&before, dead.r[i].gen, dead.r[i].seq);
    char *out = tu_fmt("%s/replay.out", f->dir);
    char *cmd = tu_fmt("cd %s && %s/bin/evtrack replay -c %s >%s 2>&1",
                       f->dir, rh_build_dir(), ok_cfg, out);
    int rc = system(cmd);
    char *text = tu_read_file(out, NULL);
    char *want = tu_fmt("sink dl: delivered %zu, failed 0, left 0", ndead);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0 || !text ||
        !strstr(text, want))
        fail_msg("evtrack replay: status %d, output:\n%s\n(want \"%s\")", rc,
                 text ? text : "", want);
    struct recs got = {0};
    size_t dbad;
    char *dl_rec = tu_fmt("%s/dl.rec", f->dir);
    sink_lines(dl_rec, &got, &dbad, NULL);
    assert_int_equal(dbad, 0);
    assert_int_equal(got.n, ndead);
    for (size_t i = 0; i < ndead; i++)
        if (got.r[i].gen != before.r[i].gen || got.r[i].seq != before.r[i].seq)
            fail_msg("replay delivery %zu: g%d seq %llu, want g%d seq %llu",
                     i, got.r[i].gen, (unsigned long long)got.r[i].seq,
                     before.r[i].gen, (unsigned long long)before.r[i].seq);
    assert_false(rh_exists(dlq));
    printf("[ crash ] spill: %ld kills survived (%zu while the spool held "
           "events, up to %zu; in-flight batch delivered twice: up to %zu "
           "events), %zu deliveries checked (%zu repeats), %ld committed "
           "events still in memory at the kills, %llu torn spool bytes cut; "
           "%zu dead letters replayed once; %.1f s\n",
           kills, nonempty, max_pending, max_overlap, delivered.n, twice,
           lost_in_memory, (unsigned long long)(truncated + dl_trunc), ndead,
           (double)(rh_now_us() - t0) / 1e6);
    /* The runs were really killed while spilling. */
    assert_true(nonempty > 0);
    counts_free(&k);
    free(got.r), free(before.r), free(pending.r), free(delivered.r);
    free(stamps.r), free(dead.r);
    counts_free(&overlap);
    counts_free(&in_memory);
    free(text), free(want), free(out), free(cmd), free(ok_cfg), free(dl_rec);
    free(sp_rec), free(spool), free(dlq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_local_sinks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kill_during_spill, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
