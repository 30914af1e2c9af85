/* test_secrets.c -- tokens never leak (issue #7, "Secrets").
 *
 * HF_TOKEN, HUGGING_FACE_HUB_TOKEN and WANDB_API_KEY are set to marker
 * strings, and the same markers are put where a harness puts tokens by
 * mistake or by design: model_args ("token=..."), run config values and
 * keys, task names, sample fields, metric names, scalar tags, and sink
 * config values. Every local sink runs, healthy and failing (an
 * unwritable folder: errors, retries, dead letters), plus create()
 * failures on a marker config value, a spilling sink (spool), the
 * config checker, `evtrack replay`, `evtrack demo` and `evtrack ingest`.
 * Then every file under the output and state folders is searched byte
 * for byte (names too), with every log line, every evt_last_error and
 * every error message and command output: no marker may occur.
 *
 * The local sinks are one table (SINKS below), each run healthy and
 * failing. The network sinks, hf-hub and wandb, run against the fake
 * servers of tests/fake/ with server faults (503, 429, an error body that
 * echoes the token), a refused token (401), unreachable servers (dead
 * letters, wandb's offline .wandb run) and `evt_replay_run`; their files,
 * logs, errors and what the servers received and stored are searched too
 * (test_network_sinks). */
#include "rel_helpers.h"

#include <arpa/inet.h>
#include <math.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../fake/fake_server.h"
#include "../fake/fake_wandb.h"
#include "evtrack/sdk/http.h"
#include "replay.h"
#include "scrub.h"

/* The tokens; >= 8 bytes, so that every occurrence is scrubbed. */
#define M_HF "hf_EvtMarkerHFtokenQ7x9Lm2Pz4Rt8Wv"
#define M_HUB "EVTMARKERhubTokenK3j5H8n1"
#define M_WB "EVTMARKERwandbKey0a9b8c7d6e5f4a3b2c1"

static const char *const markers[] = {M_HF, M_HUB, M_WB};
static const char *const marker_env[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                                         "WANDB_API_KEY"};

/* ---- the sinks -------------------------------------------------------------
 * name: instance name; plugin; members: extra sink members; config: its
 * config members, where "@BAD@" becomes a folder that cannot be created
 * (a file stands in its way) for the failing variant and is dropped (with
 * the member) for the healthy one. Each entry is run healthy and, when
 * its config has @BAD@, failing. The network sinks run apart, against the
 * fake servers (test_network_sinks). */
struct sink_def {
    const char *name, *plugin, *members, *healthy, *failing;
};

#define RETRY1 "\"retry\": {\"limit\": 1, \"base_ms\": 0, \"cap_ms\": 0}"

static const struct sink_def SINKS[] = {
    {"results", "local-json", RETRY1, "", "\"dir\": \"@BAD@/lj\""},
    {"samples", "jsonl", RETRY1, "", "\"dir\": \"@BAD@/jl\""},
    {"tb", "tensorboard-events", RETRY1, "", "\"logdir\": \"@BAD@/tb\""},
    {"table", "markdown-table", RETRY1, "\"stdout\": false", NULL},
    {"lighteval", "local-json", RETRY1, "\"layout\": \"lighteval\"",
     "\"layout\": \"lighteval\", \"dir\": \"@BAD@/le\""},
    {"details", "jsonl", RETRY1, "\"layout\": \"lighteval\"",
     "\"layout\": \"lighteval\", \"dir\": \"@BAD@/ld\""},
    {"lmeval", "jsonl", RETRY1, "\"layout\": \"lm-eval\"",
     "\"layout\": \"lm-eval\", \"dir\": \"@BAD@/lm\""},
};
#define NSINKS (sizeof SINKS / sizeof *SINKS)

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    for (int i = 0; i < 3; i++)
        setenv(marker_env[i], markers[i], 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rh_log_stop();
    rh_log_clear();
    for (int i = 0; i < 3; i++)
        unsetenv(marker_env[i]);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* The stats of sink name (more sinks than rh_stats_of looks at). */
static int stats_of(evt_tracker *t, const char *name,
                    struct evt_sink_stats *out)
{
    struct evt_sink_stats st[64];
    size_t n = evt_stats(t, st, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (strcmp(st[i].name, name) == 0) {
            *out = st[i];
            return 1;
        }
    return 0;
}

/* ---- search ------------------------------------------------------------------*/

struct hits {
    size_t files, bytes; /* searched */
    char *report;        /* what was found where */
    size_t report_len;
};

static void hit(struct hits *h, const char *where, const char *marker)
{
    char *line = tu_fmt("LEAK  %s holds %s\n", where, marker);
    size_t n = strlen(line);
    h->report = realloc(h->report, h->report_len + n + 1);
    assert_non_null(h->report);
    memcpy(h->report + h->report_len, line, n + 1);
    h->report_len += n;
    free(line);
}

/* Search text[0..len) for every marker. */
static int search_bytes(struct hits *h, const char *where, const char *text,
                        size_t len)
{
    int found = 0;
    for (int i = 0; i < 3; i++)
        if (rh_mem_has(text, len, markers[i], strlen(markers[i]))) {
            hit(h, where, markers[i]);
            found = 1;
        }
    h->bytes += len;
    return found;
}

/* Every file under dir: its path and its bytes. */
static void search_tree(struct hits *h, const char *dir)
{
    struct rh_paths ps = {0};
    rh_list_files(dir, NULL, &ps);
    for (size_t i = 0; i < ps.n; i++) {
        char *where = tu_fmt("file name %s", ps.p[i]);
        search_bytes(h, where, ps.p[i], strlen(ps.p[i]));
        free(where);
        size_t len;
        char *text = tu_read_file(ps.p[i], &len);
        if (!text)
            continue;
        where = tu_fmt("file %s", ps.p[i]);
        search_bytes(h, where, text, len);
        free(where);
        free(text);
        h->files++;
    }
    rh_paths_free(&ps);
}

static void search_text(struct hits *h, const char *what, const char *text)
{
    if (text)
        search_bytes(h, what, text, strlen(text));
}

/* ---- the run ---------------------------------------------------------------*/

static char *sink_json(const struct sink_def *d, int failing,
                       const char *bad)
{
    const char *cfg = failing ? d->failing : d->healthy;
    char *c = strdup(cfg);
    char *at = strstr(c, "@BAD@");
    if (at) {
        char *x = tu_fmt("%.*s%s%s", (int)(at - c), c, bad, at + 5);
        free(c);
        c = x;
    }
    char *name = tu_fmt("%s%s", d->name, failing ? "_bad" : "");
    char *s = rh_sink(name, d->plugin, d->members, c);
    free(c), free(name);
    return s;
}

/* The config: every table sink healthy and (when it can) failing; two
 * sinks whose create() fails on a marker config value; a slow spilling
 * sink; a sink that dead-letters everything. */
static char *full_config(const char *dir, int with_failing)
{
    char *bad = tu_fmt("%s/blocker", dir);
    char *list = strdup("");
    for (size_t i = 0; i < NSINKS; i++)
        for (int failing = 0; failing <= (with_failing ? 1 : 0); failing++) {
            if (failing && !SINKS[i].failing)
                continue;
            char *s = sink_json(&SINKS[i], failing, bad);
            char *x = tu_fmt("%s%s%s", list, list[0] ? ", " : "", s);
            free(list), free(s);
            list = x;
        }
    char *extra = tu_fmt(
        "{\"name\": \"cfg_jsonl\", \"plugin\": \"jsonl\", \"config\": "
        "{\"layout\": \"${HF_TOKEN}\"}}, "
        "{\"name\": \"cfg_json\", \"plugin\": \"local-json\", \"config\": "
        "{\"nan\": \"${WANDB_API_KEY}\"}}, "
        "{\"name\": \"spill\", \"path\": \"%s/test_sink.so\", \"queue\": "
        "{\"max_events\": 2, \"overflow\": \"spill\"}, \"config\": "
        "{\"sleep_ms\": 1000}}, "
        "{\"name\": \"dead\", \"path\": \"%s/test_sink.so\", %s, \"config\": "
        "{\"retry_forever\": true}}",
        tu_fixture_dir(), tu_fixture_dir(), RETRY1);
    char *json = tu_fmt("{\"output_dir\": \"%s/out\", \"state_dir\": "
                        "\"%s/state\", \"run_id\": \"secrets-run\", "
                        "\"sinks\": [%s%s%s]}",
                        dir, dir, list, with_failing ? ", " : "",
                        with_failing ? extra : "");
    free(bad), free(list), free(extra);
    return json;
}

static void log_events(evt_tracker *t)
{
    assert_int_equal(
        evt_log_json(t, EVT_EV_RUN_START,
                     "{\"model_name\": \"evtrack/secret-model\", "
                     "\"model_args\": \"pretrained=evtrack/secret-model,"
                     "token=" M_HF ",api_key=" M_WB "\", "
                     "\"date\": \"2026-03-03T00:00:00\", "
                     "\"config\": {\"model\": \"hf\", \"model_args\": "
                     "\"pretrained=evtrack/secret-model,token=" M_HF "\", "
                     "\"hf_token\": \"" M_HUB "\", \"api_key\": \"" M_WB
                     "\", \"note\": \"the key is " M_WB " here\", \"" M_HUB
                     "\": 1, \"batch_size\": 1}}"),
        EVT_OK);
    const char *tasks[] = {"plain", "leak_" M_HF};
    for (int k = 0; k < 2; k++) {
        char *tc = tu_fmt("{\"task\": \"%s\", \"version\": 1, \"n-shot\": 0, "
                          "\"alias\": \"%s\", \"config\": {\"token\": \"%s\"}}",
                          tasks[k], tasks[k], M_HUB);
        assert_int_equal(evt_log_json(t, EVT_EV_TASK_CONFIG, tc), EVT_OK);
        free(tc);
        for (int i = 0; i < 300; i++) {
            evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
            evt_str(e, "task", tasks[k]);
            evt_int(e, "doc_id", i);
            evt_str(e, "target", "the token is " M_WB);
            evt_array_begin(e, "resps");
            evt_array_begin(e, NULL);
            evt_str(e, NULL, "answer " M_HF);
            evt_array_end(e);
            evt_array_end(e);
            evt_array_begin(e, "filtered_resps");
            evt_str(e, NULL, M_HUB);
            evt_array_end(e);
            evt_map_begin(e, "doc");
            evt_str(e, "question", "what is " M_HUB "?");
            evt_str(e, M_WB, "a key named by a token");
            evt_map_end(e);
            evt_str(e, "input", "Q: " M_HF);
            evt_map_begin(e, "metrics");
            evt_double(e, "acc", 1.0);
            evt_map_end(e);
            assert_int_equal(evt_commit(e), EVT_OK);
            if (i % 10 == 0)
                assert_int_equal(
                    evt_log_scalar(t, "train/" M_HUB, i, i), EVT_OK);
        }
        assert_int_equal(evt_log_result(t, tasks[k], "acc", NULL, 0.5, 0.1,
                                        -1), EVT_OK);
        assert_int_equal(evt_log_result(t, tasks[k], "acc_" M_WB, "f_" M_HF,
                                        0.25, NAN, -1), EVT_OK);
    }
    assert_int_equal(evt_log_run_end(t), EVT_OK);
}

static void search_logs(struct hits *h)
{
    char *text = rh_log_text();
    search_text(h, "the log", text);
    free(text);
}

static void test_no_marker_anywhere(void **state)
{
    struct fx *f = *state;
    char *blocker = tu_fmt("%s/blocker", f->dir);
    tu_write_file(blocker, "not a folder\n");
    struct hits h = {0};
    rh_log_start();
    /* Config errors with markers in values. */
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    const char *bad_configs[] = {
        "{\"sinks\": [{\"plugin\": \"jsonl\", \"config\": {\"bogus\": "
        "\"${HF_TOKEN}\"}}]}",
        "{\"sinks\": [{\"plugin\": \"jsonl\", \"config\": {\"layout\": "
        "\"${HF_TOKEN}\", \"fsync\": 3}}]}",
        "{\"run_id\": \"${WANDB_API_KEY}!\", \"sinks\": []}",
        "{\"output_dir\": 7, \"state_dir\": \"${HUGGING_FACE_HUB_TOKEN}\", "
        "\"sinks\": []}",
        "{\"sinks\": [{\"plugin\": \"${HF_TOKEN}\"}]}",
        "{\"sinks\": [{\"plugin\": \"jsonl\", \"name\": \"a\"}, {\"plugin\": "
        "\"jsonl\", \"name\": \"a\", \"queue\": {\"overflow\": "
        "\"${WANDB_API_KEY}\"}}]}",
    };
    for (size_t i = 0; i < sizeof bad_configs / sizeof *bad_configs; i++) {
        err[0] = '\0';
        assert_int_not_equal(evt_open_json(bad_configs[i], f->dir, &t, err,
                                           sizeof err), EVT_OK);
        assert_null(t);
        assert_true(err[0] != '\0');
        char *what = tu_fmt("open error %zu (%s)", i, err);
        search_text(&h, what, err);
        free(what);
    }
    /* The run: every sink, healthy and failing. */
    char *json = full_config(f->dir, 1);
    t = NULL;
    if (evt_open_json(json, f->dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    log_events(t);
    /* The spool of the slow sink, while it holds events: its write()
     * sleeps 1 s per batch of at most 256, so the spilled events stay for
     * seconds after the 600 samples are logged (with 30 ms, a slow run
     * under valgrind found the spool already drained). */
    char *spool = tu_fmt("%s/state/spool/spill.spool", f->dir);
    size_t slen;
    char *sbytes = tu_read_file(spool, &slen);
    assert_non_null(sbytes);
    assert_true(slen > 1000); /* it does hold events */
    search_bytes(&h, "the spool, mid-run", sbytes, slen);
    free(sbytes);
    int rc = evt_flush(t, 60000);
    assert_int_equal(rc, EVT_EIO); /* the failing local-json instances */
    char last[EVT_ERRMSG_SIZE] = "";
    evt_last_error(t, last, sizeof last);
    search_text(&h, "evt_last_error after flush", last);
    struct evt_sink_stats st;
    assert_true(stats_of(t, "samples_bad", &st) && st.dead_lettered > 0);
    assert_true(stats_of(t, "tb_bad", &st) && st.dead_lettered > 0);
    assert_true(stats_of(t, "dead", &st) && st.dead_lettered > 0);
    assert_true(stats_of(t, "cfg_jsonl", &st) && !st.enabled);
    assert_true(stats_of(t, "cfg_json", &st) && !st.enabled);
    assert_true(stats_of(t, "spill", &st) && st.spilled > 0);
    rc = evt_close(t, 60000);
    if (rc != EVT_OK) {
        char *all = rh_log_text();
        fail_msg("close: %s\n%s", evt_status_name(rc), all);
    }
    /* The sinks wrote what they should (the search is not vacuous). */
    struct rh_paths ps = {0};
    char *out = tu_fmt("%s/out", f->dir);
    rh_list_files(out, "_results.json", &ps); /* lmms-eval layout */
    assert_int_equal(ps.n, 1);
    rh_paths_free(&ps);
    rh_list_files(out, "results_2026", &ps); /* lighteval layout */
    assert_int_equal(ps.n, 1);
    rh_paths_free(&ps);
    rh_list_files(out, ".jsonl", &ps);
    assert_true(ps.n >= 4);
    rh_paths_free(&ps);
    rh_list_files(out, "events.out.tfevents.", &ps);
    assert_int_equal(ps.n, 1);
    rh_paths_free(&ps);
    rh_list_files(out, "_table.md", &ps);
    assert_int_equal(ps.n, 1);
    rh_paths_free(&ps);
    char *rej = tu_fmt("%s/state/rejected", f->dir);
    rh_list_files(rej, ".spool", &ps);
    assert_true(ps.n >= 4);
    rh_paths_free(&ps);
    assert_true(rh_log_count(EVT_LOG_ERROR, "Not a directory", NULL, NULL) >
                0);
    search_logs(&h);
    search_tree(&h, f->dir);
    /* Replay, with the folder fixed: dead letters go out again. */
    assert_int_equal(unlink(blocker), 0);
    char *cfgp = tu_fmt("%s/replay.json", f->dir);
    tu_write_file(cfgp, json);
    char *args = tu_fmt("replay -c %s", cfgp), *cli;
    int code = rh_cli(f->dir, args, &cli);
    search_text(&h, "evtrack replay output", cli);
    if (code != 1 || !strstr(cli, "sink samples_bad: delivered"))
        fail_msg("replay: exit %d (want 1: dead is never delivered):\n%s",
                 code, cli);
    free(cli), free(args);
    h.files = h.bytes = 0;
    search_tree(&h, f->dir);
    size_t files = h.files, bytes = h.bytes;
    rh_log_stop();
    printf("[ secrets ] searched %zu files (%zu bytes), %zu log lines, "
           "%zu error messages and the replay output for 3 markers\n",
           files, bytes, rh_log_n(), sizeof bad_configs / sizeof *bad_configs
                                     + 1);
    if (h.report) {
        printf("%s", h.report);
        fail_msg("markers leaked (see above)");
    }
    free(h.report), free(json), free(blocker), free(spool), free(out);
    free(rej), free(cfgp);
}

/* `evtrack demo` and `evtrack ingest` with the tokens set. */
static void test_cli_paths(void **state)
{
    struct fx *f = *state;
    struct hits h = {0};
    char *demo = tu_fmt("%s/demo", f->dir), *out;
    char *args = tu_fmt("demo -o %s --samples 40", demo);
    int code = rh_cli(f->dir, args, &out);
    if (code != 0)
        fail_msg("evtrack demo: exit %d:\n%s", code, out);
    search_text(&h, "evtrack demo output", out);
    free(out), free(args);
    /* ingest: an lmms-eval results file and samples file that carry the
     * tokens, outside the searched folders. */
    char *in = tu_fmt("%s/inputs", f->dir);
    assert_int_equal(mkdir(in, 0755), 0);
    char *res = tu_fmt("%s/20260303_000000_results.json", in);
    tu_write_file(
        res,
        "{\"results\": {\"mme\": {\"alias\": \"mme\", \"acc,none\": 0.5, "
        "\"acc_stderr,none\": \"N/A\"}}, \"configs\": {\"mme\": {\"task\": "
        "\"mme\", \"dataset_kwargs\": {\"token\": true}}}, \"versions\": "
        "{\"mme\": 1}, \"n-shot\": {\"mme\": 0}, \"config\": {\"model\": "
        "\"llava\", \"model_args\": \"pretrained=lmms-lab/llava,token=" M_HF
        "\", \"hf_token\": \"" M_HUB "\"}, \"git_hash\": \"abc\", "
        "\"lmms_eval_version\": \"0.6\", \"date\": \"20260303_000000\", "
        "\"model_name\": \"lmms-lab/llava\", \"note\": \"" M_WB "\"}");
    char *smp = tu_fmt("%s/20260303_000000_samples_mme.jsonl", in);
    tu_write_file(smp,
                  "{\"doc_id\": 0, \"target\": \"" M_WB "\", "
                  "\"filtered_resps\": [\"" M_HF "\"], \"acc\": 1.0, "
                  "\"input\": \"" M_HUB "\"}\n");
    char *cfgp = tu_fmt("%s/ingest.json", f->dir);
    char *json = full_config(f->dir, 0);
    tu_write_file(cfgp, json);
    args = tu_fmt("ingest -c %s %s", cfgp, res);
    code = rh_cli(f->dir, args, &out);
    if (code != 0)
        fail_msg("evtrack ingest: exit %d:\n%s", code, out);
    search_text(&h, "evtrack ingest output", out);
    free(out), free(args);
    char *o = tu_fmt("%s/out", f->dir);
    struct rh_paths ps = {0};
    rh_list_files(o, "_results.json", &ps);
    assert_true(ps.n >= 1);
    rh_paths_free(&ps);
    search_tree(&h, demo);
    search_tree(&h, o);
    char *st = tu_fmt("%s/state", f->dir);
    search_tree(&h, st);
    printf("[ secrets ] demo and ingest: searched %zu files (%zu bytes) and "
           "both outputs\n", h.files, h.bytes);
    if (h.report) {
        printf("%s", h.report);
        fail_msg("markers leaked (see above)");
    }
    free(h.report), free(demo), free(in), free(res), free(smp), free(cfgp);
    free(json), free(o), free(st);
}

/* ---- network sinks -----------------------------------------------------------
 * hf-hub and wandb against the fake servers of tests/fake/ (127.0.0.1
 * only), with the tokens set to the markers: a healthy instance of each
 * through server faults (503, 429; an error body that echoes the token), an
 * hf-hub whose token the server refuses (401), and one of each whose
 * server is unreachable (dead letters; wandb falls back to an offline
 * .wandb run), then `evt_replay_run` of those dead letters. The
 * Authorization header carries the token to the server by design; every
 * other byte is searched: files under the output and state folders, the
 * log, every error string, the request paths and bodies the servers got,
 * and what they stored. */

/* A port nothing listens on. */
static int closed_port(void)
{
    int port = fake_server_closed_port();
    assert_true(port > 0);
    return port;
}

/* A request to the fake Hub; the answer's body (heap) when status 200. */
static char *hub_call(const struct fake_server *hub, const char *method,
                      const char *path, const char *body)
{
    char *u = tu_fmt("%s%s", hub->url, path), err[512];
    struct evt_http_request rq = {.method = method, .url = u, .body = body,
                                  .body_len = body ? strlen(body) : 0};
    struct evt_http_response rs;
    memset(&rs, 0, sizeof rs);
    int rc = evt_http_do(&rq, &rs, err, sizeof err);
    char *out = rc == 0 && rs.status == 200 && rs.body ? rs.body : NULL;
    if (out)
        rs.body = NULL;
    evt_http_response_free(&rs);
    free(u);
    return out;
}

/* Drop every "headers" member (the Authorization header carries the
 * token to the server by design). */
static void drop_headers(cJSON *j)
{
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(j, "headers");
    cJSON *c;
    cJSON_ArrayForEach(c, j)
    drop_headers(c);
}

/* Search JSON text (or JSON lines) without its headers. */
static void search_json(struct hits *h, const char *what, const char *text,
                        int lines)
{
    char *copy = strdup(text ? text : "");
    for (char *l = copy; l && *l;) {
        char *nl = lines ? strchr(l, '\n') : NULL;
        if (nl)
            *nl = '\0';
        cJSON *j = cJSON_Parse(l);
        if (!j && *l)
            fail_msg("%s: not JSON: %.200s", what, l);
        drop_headers(j);
        char *flat = cJSON_PrintUnformatted(j);
        search_text(h, what, flat);
        free(flat);
        cJSON_Delete(j);
        l = nl ? nl + 1 : NULL;
    }
    free(copy);
}

/* Requests answered with status in a request log: a JSON array, or JSON
 * lines. */
static int count_status(const char *text, int lines, int status)
{
    int n = 0;
    char *copy = strdup(text);
    for (char *l = copy; l && *l;) {
        char *nl = lines ? strchr(l, '\n') : NULL;
        if (nl)
            *nl = '\0';
        cJSON *j = cJSON_Parse(l), *e;
        if (cJSON_IsArray(j)) {
            cJSON_ArrayForEach(e, j)
            n += cJSON_GetNumberValue(cJSON_GetObjectItem(e, "status")) ==
                 status;
        } else if (j) {
            n += cJSON_GetNumberValue(cJSON_GetObjectItem(j, "status")) ==
                 status;
        }
        cJSON_Delete(j);
        l = nl ? nl + 1 : NULL;
    }
    free(copy);
    return n;
}

/* Every file of every repo of the fake Hub, searched; how many. */
static int search_hub_files(struct hits *h, const struct fake_server *hub)
{
    char *text = hub_call(hub, "GET", "/_ctl/repos", NULL);
    assert_non_null(text);
    cJSON *repos = cJSON_Parse(text), *r;
    int n = 0;
    cJSON_ArrayForEach(r, repos)
    {
        cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(r, "files"))
        {
            char *path = tu_fmt("/datasets/%s/resolve/main/%s", r->string,
                                f->string);
            char *body = hub_call(hub, "GET", path, NULL);
            char *what = tu_fmt("the Hub's file %s", path);
            if (!body)
                fail_msg("cannot fetch %s", path);
            search_text(h, what, body);
            search_text(h, what, path);
            free(body), free(what), free(path);
            n++;
        }
    }
    search_json(h, "the Hub's repos", text, 0);
    cJSON_Delete(repos);
    free(text);
    return n;
}

#define HUB_FAST                                                             \
    "\"http_attempts\": 4, \"http_backoff_ms\": 1, "                         \
    "\"http_backoff_cap_ms\": 4, \"timeout_secs\": 20"
#define WB_FAST                                                              \
    "\"project\": \"evals\", \"init_timeout_secs\": 2, \"retry_base_ms\": 5, " \
    "\"retry_cap_ms\": 50, \"attempts\": 4, \"request_timeout_secs\": 5, "   \
    "\"stream_interval_secs\": 0"

/* The network sinks; hub_url/wb_url for the healthy ones, down_hub and
 * down_wb for the others (an unreachable URL, or a live one to replay). */
static char *net_config(const char *dir, const char *hub_url,
                        const char *wb_url, const char *down_hub,
                        const char *down_wb)
{
    return tu_fmt(
        "{\"output_dir\": \"%s/out\", \"state_dir\": \"%s/state\", "
        "\"run_id\": \"secrets-net\", \"sinks\": ["
        "{\"name\": \"hub\", \"plugin\": \"hf-hub\", %s, \"config\": "
        "{\"endpoint\": \"%s\", \"org\": \"evt-org\", \"results_repo\": "
        "\"sec\", " HUB_FAST "}}, "
        "{\"name\": \"hub_401\", \"plugin\": \"hf-hub\", %s, \"config\": "
        "{\"endpoint\": \"%s\", \"results_repo\": \"sec401\", \"token_env\": "
        "\"HUGGING_FACE_HUB_TOKEN\", " HUB_FAST "}}, "
        "{\"name\": \"hub_down\", \"plugin\": \"hf-hub\", %s, \"config\": "
        "{\"endpoint\": \"%s\", \"org\": \"evt-org\", \"results_repo\": "
        "\"secdown\", " HUB_FAST "}}, "
        "{\"name\": \"wb\", \"plugin\": \"wandb\", %s, \"config\": "
        "{\"base_url\": \"%s\", " WB_FAST "}}, "
        "{\"name\": \"wb_down\", \"plugin\": \"wandb\", %s, \"config\": "
        "{\"base_url\": \"%s\", " WB_FAST ", \"reconnect_secs\": 0}}]}",
        dir, dir, RETRY1, hub_url, RETRY1, hub_url, RETRY1, down_hub, RETRY1,
        wb_url, RETRY1, down_wb);
}

/* Replay sink's dead letters with config cfg; the result. */
static struct evt_replay_result replay_sink(struct hits *h, const char *cfg,
                                            const char *sink)
{
    struct evt_replay_result res;
    char err[1024] = "";
    memset(&res, 0, sizeof res);
    int rc = evt_replay_run(cfg, sink, NULL, NULL, &res, err, sizeof err);
    char *what = tu_fmt("evt_replay_run %s: %s (%s)", sink,
                        evt_status_name(rc), err);
    search_text(h, what, err);
    printf("[ secrets ] %s: %llu delivered, %llu failed\n", what,
           (unsigned long long)res.delivered,
           (unsigned long long)res.failed);
    free(what);
    return res;
}

static void test_network_sinks(void **state)
{
    struct fx *f = *state;
    struct hits h = {0};
    char *srvdir = tu_fmt("%s/servers", f->dir);
    assert_int_equal(mkdir(srvdir, 0755), 0);
    char *hublog = tu_fmt("%s/hub.json", srvdir);
    const char *args[] = {"--log", hublog, "--token", M_HF, NULL};
    struct fake_server hub;
    assert_int_equal(fake_server_start(&hub, "hf_hub_server.py", args), 0);
    /* 503 twice (the error body echoes the token), then 429; the refused
     * token is echoed too. */
    char *faults = tu_fmt(
        "[{\"path\": \"/api/datasets/evt-org/sec/preupload\", \"status\": "
        "503, \"times\": 2, \"body\": \"{\\\"error\\\": \\\"busy, token "
        "%s\\\"}\"}, {\"path\": \"/api/datasets/evt-org/sec/commit\", "
        "\"status\": 429, \"times\": 1, \"headers\": {\"Retry-After\": "
        "\"0\"}}, {\"path\": \"/api/whoami-v2\", \"status\": 401, \"times\": "
        "-1, \"body\": \"{\\\"error\\\": \\\"token %s is not valid\\\"}\"}]",
        M_HF, M_HUB);
    char *ok = hub_call(&hub, "POST", "/_ctl/faults", faults);
    assert_non_null(ok);
    free(ok), free(faults);
    struct fake_wandb wb;
    fake_wandb_start(
        &wb, srvdir,
        "[{\"match\": \"graphql:UpsertBucket\", \"action\": \"status\", "
        "\"status\": 503, \"count\": 2}, {\"match\": \"file_stream\", "
        "\"action\": \"status\", \"status\": 429, \"retry_after\": "
        "\"0\", \"count\": 2}, {\"match\": \"upload\", \"action\": "
        "\"status\", \"status\": 500, \"count\": 1}]",
        0);
    char *down = tu_fmt("http://127.0.0.1:%d", closed_port());
    rh_log_start();
    char *json = net_config(f->dir, hub.url, wb.url, down, down);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    if (evt_open_json(json, f->dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    log_events(t);
    int rc = evt_flush(t, 60000);
    char last[EVT_ERRMSG_SIZE] = "";
    evt_last_error(t, last, sizeof last);
    char *what = tu_fmt("evt_last_error after flush (%s: %s)",
                        evt_status_name(rc), last);
    search_text(&h, what, last);
    free(what);
    struct evt_sink_stats st;
    assert_true(stats_of(t, "hub", &st) && st.dead_lettered == 0);
    assert_true(stats_of(t, "hub_401", &st) && st.dead_lettered > 0);
    assert_true(stats_of(t, "hub_down", &st) && st.dead_lettered > 0);
    assert_true(stats_of(t, "wb_down", &st) && st.dead_lettered > 0);
    evt_close(t, 60000);
    assert_true(rh_log_count(EVT_LOG_ERROR, "401", NULL, NULL) > 0);
    /* Not vacuous: the run reached the Hub and W&B, and went offline. */
    struct rh_paths ps = {0};
    char *wbdir = tu_fmt("%s/out/wandb", f->dir);
    rh_list_files(wbdir, ".wandb", &ps);
    assert_true(ps.n >= 1); /* the offline run of wb_down */
    rh_paths_free(&ps);
    /* Replay: the servers are reachable now; the 401 stays. */
    char *cfg = tu_fmt("%s/net.json", f->dir);
    char *live = net_config(f->dir, hub.url, wb.url, hub.url, wb.url);
    tu_write_file(cfg, live);
    assert_true(replay_sink(&h, cfg, "hub_down").delivered > 0);
    assert_true(replay_sink(&h, cfg, "wb_down").delivered > 0);
    assert_true(replay_sink(&h, cfg, "hub_401").delivered == 0);
    /* Search. */
    search_logs(&h);
    char *outdir = tu_fmt("%s/out", f->dir), *stdir = tu_fmt("%s/state",
                                                             f->dir);
    search_tree(&h, outdir);
    search_tree(&h, stdir);
    char *text = tu_read_file(hublog, NULL);
    assert_non_null(text);
    assert_true(strstr(text, "Bearer " M_HF) != NULL); /* the token went */
    /* the faults were met: 503 twice, 429, 401 */
    assert_true(count_status(text, 0, 503) >= 2);
    assert_true(count_status(text, 0, 429) >= 1);
    assert_true(count_status(text, 0, 401) >= 1);
    search_json(&h, "the Hub's request log", text, 0);
    free(text);
    int nfiles = search_hub_files(&h, &hub);
    assert_true(nfiles >= 3); /* results and samples of "sec", "secdown" */
    text = tu_read_file(wb.log, NULL);
    assert_non_null(text);
    assert_true(count_status(text, 1, 503) >= 2);
    assert_true(count_status(text, 1, 429) >= 2);
    assert_true(count_status(text, 1, 500) >= 1);
    search_json(&h, "the W&B request log", text, 1);
    free(text);
    text = tu_read_file(wb.state, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "secrets-net")); /* the run reached it */
    search_json(&h, "the W&B server's state", text, 0);
    free(text);
    if (getenv("SECRETS_VERBOSE")) {
        char *all = rh_log_text();
        printf("%s\n", all);
        free(all);
    }
    rh_log_stop();
    fake_server_stop(&hub);
    fake_wandb_stop(&wb);
    printf("[ secrets ] network sinks: searched %zu files (%zu bytes), "
           "%zu log lines, %d files on the Hub, both servers' request "
           "logs\n", h.files, h.bytes, rh_log_n(), nfiles);
    if (h.report) {
        printf("%s", h.report);
        fail_msg("markers leaked (see above)");
    }
    free(srvdir), free(hublog), free(down), free(json), free(wbdir);
    free(cfg), free(live), free(stdir), free(outdir);
}

/* The core's rewriter of spool and dead-letter records (core/scrub.c):
 * strings (values and keys, any header form) lose every occurrence of a
 * long secret and equal a short one only as a whole; other objects keep
 * their bytes; bad msgpack is refused. */
static void test_scrub_msgpack(void **state)
{
    (void)state;
    setenv("HF_TOKEN", "abc", 1); /* short: whole strings only */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    char big[400];
    memset(big, 'x', sizeof big);
    memcpy(big + 300, M_WB, strlen(M_WB));
#define PSTR(s) msgpack_pack_str_with_body(&pk, s, strlen(s))
    msgpack_pack_map(&pk, 7);
    PSTR("k"), PSTR("abc");
    PSTR("abcd"), PSTR("xabcx");
    PSTR("long"), PSTR("pre" M_WB "mid" M_HUB "post");
    PSTR(M_HUB), msgpack_pack_array(&pk, 3), msgpack_pack_int(&pk, 1),
        PSTR(M_WB), msgpack_pack_double(&pk, 2.5);
    PSTR("bin"), msgpack_pack_bin_with_body(&pk, M_WB, strlen(M_WB));
    PSTR("big"), msgpack_pack_str_with_body(&pk, big, sizeof big);
    PSTR("seq"), /* 0xcf + 8 bytes, as the core writes seq */
        msgpack_sbuffer_write(&sb, "\xcf\0\0\0\0\0\0\0\x07", 9);
#undef PSTR
    size_t len;
    int failed;
    unsigned char *c = evt__scrub_msgpack((const unsigned char *)sb.data,
                                          sb.size, &len, &failed);
    assert_non_null(c);
    assert_int_equal(failed, 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, (const char *)c, len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    const msgpack_object_map *m = &u.data.via.map;
    assert_int_equal(m->size, 7);
    const char *want[7][2] = {{"k", "[REDACTED]"},
                              {"abcd", "xabcx"},
                              {"long", "pre[REDACTED]mid[REDACTED]post"},
                              {"[REDACTED]", NULL},
                              {"bin", NULL},
                              {"big", NULL},
                              {"seq", NULL}};
    for (uint32_t i = 0; i < 7; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        assert_int_equal(k->type, MSGPACK_OBJECT_STR);
        assert_int_equal(k->via.str.size, strlen(want[i][0]));
        assert_memory_equal(k->via.str.ptr, want[i][0], k->via.str.size);
        if (want[i][1]) {
            assert_int_equal(v->via.str.size, strlen(want[i][1]));
            assert_memory_equal(v->via.str.ptr, want[i][1],
                                v->via.str.size);
        }
    }
    const msgpack_object *arr = &m->ptr[3].val;
    assert_int_equal(arr->via.array.size, 3);
    assert_int_equal(arr->via.array.ptr[0].via.i64, 1);
    assert_int_equal(arr->via.array.ptr[1].via.str.size, 10);
    assert_true(arr->via.array.ptr[2].via.f64 == 2.5);
    assert_int_equal(m->ptr[4].val.type, MSGPACK_OBJECT_BIN); /* as it was */
    assert_int_equal(m->ptr[4].val.via.bin.size, strlen(M_WB));
    const msgpack_object *bs = &m->ptr[5].val; /* str16 -> str16, shorter */
    assert_int_equal(bs->via.str.size, 400 - strlen(M_WB) + 10);
    assert_false(rh_mem_has(bs->via.str.ptr, bs->via.str.size, M_WB,
                            strlen(M_WB)));
    assert_int_equal(m->ptr[6].val.via.u64, 7);
    /* The seq keeps its fixed 9-byte form (0xcf + 8 bytes). */
    assert_int_equal((unsigned char)c[len - 9], 0xcf);
    msgpack_unpacked_destroy(&u);
    free(c);
    /* Nothing to remove; bad msgpack (a string cut short) is refused. */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, "abcx", 4);
    assert_null(evt__scrub_msgpack((const unsigned char *)sb.data, sb.size,
                                   &len, &failed));
    assert_int_equal(failed, 0);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "a", 1);
    msgpack_pack_str_with_body(&pk, M_WB, strlen(M_WB));
    assert_null(evt__scrub_msgpack((const unsigned char *)sb.data,
                                   sb.size - 3, &len, &failed));
    assert_int_equal(failed, 1);
    /* Messages: long secrets go, the rest is cut to fit. */
    char msg[96];
    snprintf(msg, sizeof msg, "a %s b %s", M_WB, M_HUB);
    evt__scrub_text(msg, sizeof msg);
    assert_string_equal(msg, "a [REDACTED] b [REDACTED]");
    setenv("HUGGING_FACE_HUB_TOKEN", "12345678", 1); /* 8 < 10 bytes */
    char tiny[16] = "abcdef12345678";
    evt__scrub_text(tiny, sizeof tiny);
    assert_string_equal(tiny, "abcdef[REDACTED");
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_marker_anywhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_sinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrub_msgpack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
