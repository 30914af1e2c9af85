/* test_hf_hub.c -- the hf-hub sink against the fake Hub of
 * tests/fake/hf_hub_server.py (127.0.0.1 only), next to local-json and
 * jsonl in the same tracker:
 *
 *  - the exact request sequence and NDJSON commit body of a push, and the
 *    files on the server byte-equal to the local files (a synthetic run,
 *    and the real lmms-eval MME fixture);
 *  - LFS for files over the server's threshold: basic upload + verify, and
 *    multipart when the server asks for it;
 *  - an existing repo (409), 503 x3 then success, a commit whose answer is
 *    lost (the retry makes no second commit), sustained failures
 *    dead-lettered then `evtrack replay` (evt_replay_run) delivering once,
 *    and a second replay pushing nothing;
 *  - 401: a final error naming the repo and the server's message, never
 *    the token (nor in any file); no token: create fails naming the
 *    variable; whoami for the default namespace; incremental pushes;
 *  - the dataset card parsed by tests/fake/card_check.py (YAML, config and
 *    split names, a split per run plus latest), also for repos holding
 *    lmms-eval- and lm-eval-named files;
 *  - the staging's crash recovery and the card builder directly.
 *
 * Heavy loops shrink with $EVT_TEST_SCALE_DIV. */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../fake/fake_server.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/http.h"
#include "hub.h"
#include "replay.h"
#include "results_events.h"

#define TOKEN "hf_TESTtoken0123456789ABCDEFGHIJ"
#define BAD_TOKEN "hf_WRONGtoken9876543210ZYXWVUTS"
#define MODEL_DIR "org__model-x"

static struct fake_server srv;
static char *srvdir, *logpath;

/* ---- captured log ------------------------------------------------------ */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct evt_buf logged;

static void on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    if (getenv("HUB_TEST_VERBOSE")) /* for debugging */
        fprintf(stderr, "log %d: %s\n", level, msg);
    pthread_mutex_lock(&log_mu);
    evt_buf_puts(&logged, msg);
    evt_buf_puts(&logged, "\n");
    pthread_mutex_unlock(&log_mu);
}

static char *take_log(void)
{
    pthread_mutex_lock(&log_mu);
    char *s = strdup(logged.data ? logged.data : "");
    logged.len = 0;
    if (logged.data)
        logged.data[0] = '\0';
    pthread_mutex_unlock(&log_mu);
    return s;
}

/* ---- the fake server ------------------------------------------------- */

static void http(const char *method, const char *path, const char *body,
                 const char *const *hdr, struct evt_http_response *rs)
{
    char *u = tu_fmt("%s%s", srv.url, path), err[512];
    struct evt_http_request rq = {.method = method, .url = u,
                                  .headers = hdr, .body = body,
                                  .body_len = body ? strlen(body) : 0};
    evt_http_do(&rq, rs, err, sizeof err);
    free(u);
}

static void ctl(const char *path, const char *json)
{
    struct evt_http_response rs;
    http("POST", path, json, NULL, &rs);
    assert_int_equal(rs.status, 200);
    evt_http_response_free(&rs);
}

static cJSON *server_log(void)
{
    char *text = tu_read_file(logpath, NULL);
    cJSON *j = cJSON_Parse(text ? text : "[]");
    free(text);
    assert_true(cJSON_IsArray(j));
    return j;
}

static cJSON *repos(void)
{
    struct evt_http_response rs;
    http("GET", "/_ctl/repos", NULL, NULL, &rs);
    cJSON *j = cJSON_Parse(rs.body);
    evt_http_response_free(&rs);
    assert_non_null(j);
    return j;
}

/* "METHOD path" of every logged request, one per line, oids as <oid>. */
static char *sequence(const cJSON *log)
{
    struct evt_buf b;
    const cJSON *e;
    evt_buf_init(&b);
    cJSON_ArrayForEach(e, log)
    {
        const char *p = cJSON_GetObjectItem(e, "path")->valuestring;
        evt_buf_puts(&b, cJSON_GetObjectItem(e, "method")->valuestring);
        evt_buf_puts(&b, " ");
        const char *hex = strpbrk(p, "0123456789abcdef");
        while (hex && strspn(hex, "0123456789abcdef") < 64)
            hex = strpbrk(hex + strspn(hex, "0123456789abcdef"),
                          "0123456789abcdef");
        if (hex && hex[-1] == '/') {
            evt_buf_put(&b, p, (size_t)(hex - p));
            evt_buf_puts(&b, "<oid>");
            evt_buf_puts(&b, hex + 64);
        } else {
            evt_buf_puts(&b, p);
        }
        evt_buf_puts(&b, "\n");
    }
    return b.data ? b.data : strdup("");
}

/* The n-th logged request whose path contains part (0-based), or NULL. */
static const cJSON *find_req(const cJSON *log, const char *part, int n)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, log)
    {
        if (strstr(cJSON_GetObjectItem(e, "path")->valuestring, part) &&
            n-- == 0)
            return e;
    }
    return NULL;
}

static int count_req(const cJSON *log, const char *part)
{
    int n = 0;
    while (find_req(log, part, n))
        n++;
    return n;
}

static const char *req_header(const cJSON *e, const char *name)
{
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "headers"),
                                         name);
    return h ? h->valuestring : NULL;
}

/* The file at path in repo (e.g. "evt-org/r1") as the server serves it. */
static char *fetch(const char *repo, const char *path, size_t *len)
{
    char *p = tu_fmt("/datasets/%s/resolve/main/%s", repo, path);
    struct evt_http_response rs;
    http("GET", p, NULL, NULL, &rs);
    free(p);
    if (rs.status != 200) {
        evt_http_response_free(&rs);
        return NULL;
    }
    *len = rs.body_len;
    char *b = rs.body;
    rs.body = NULL;
    evt_http_response_free(&rs);
    return b;
}

/* The commits of repo after its initial one. */
static int commits(const char *repo)
{
    cJSON *j = repos();
    const cJSON *r = cJSON_GetObjectItem(j, repo);
    int n = r ? cJSON_GetArraySize(cJSON_GetObjectItem(r, "commits")) - 1
              : -1;
    cJSON_Delete(j);
    return n;
}

/* ---- setup ----------------------------------------------------------- */

static int scale_div(void)
{
    const char *d = getenv("EVT_TEST_SCALE_DIV");
    int v = d ? (int)strtol(d, NULL, 10) : 1;
    return v > 0 ? v : 1;
}

static int group_setup(void **state)
{
    (void)state;
    setenv("HF_TOKEN", TOKEN, 1);
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    unsetenv("HF_ENDPOINT");
    evt_set_log_handler(on_log, NULL);
    evt_buf_init(&logged);
    srvdir = tu_tmpdir();
    logpath = tu_fmt("%s/log.json", srvdir);
    const char *args[] = {"--log", logpath, "--token", TOKEN, NULL};
    return fake_server_start(&srv, "hf_hub_server.py", args);
}

static int group_teardown(void **state)
{
    (void)state;
    fake_server_stop(&srv);
    free(logpath);
    tu_rmtree(srvdir);
    evt_set_log_handler(NULL, NULL);
    evt_buf_free(&logged);
    return 0;
}

/* Each test: an empty log, no faults, small LFS threshold off. */
static int reset(void **state)
{
    (void)state;
    ctl("/_ctl/reset", NULL);
    ctl("/_ctl/config", "{\"lfs_threshold\": 10485760, \"multipart_chunk\":"
                        " 0, \"tree_page\": 1000}");
    free(take_log());
    return 0;
}

/* ---- trackers -------------------------------------------------------- */

struct run {
    char *dir;    /* output_dir, state_dir is dir/state */
    char *config; /* the config file */
};

/* Write the config (local-json + jsonl + hf-hub when locals, else hf-hub
 * alone) and open it. hub is the hf-hub "config" members, retry its
 * "retry" object. */
static evt_tracker *open_run(struct run *r, const char *hub,
                             const char *retry, int locals)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    if (!r->dir)
        r->dir = tu_tmpdir();
    free(r->config);
    r->config = tu_fmt("%s/evtrack.json", r->dir);
    char *json = tu_fmt(
        "{\"output_dir\": \"%s\", \"state_dir\": \"%s/state\", "
        "\"run_id\": \"run-1\", \"sinks\": [%s"
        "{\"plugin\": \"hf-hub\", \"retry\": %s, \"config\": {"
        "\"endpoint\": \"%s\", \"http_attempts\": 4, \"http_backoff_ms\": 1, "
        "\"http_backoff_cap_ms\": 4, \"timeout_secs\": 20%s%s}}]}",
        r->dir, r->dir,
        locals ? "{\"plugin\": \"local-json\"}, {\"plugin\": \"jsonl\"}, " : "",
        retry ? retry : "{\"limit\": 3, \"base_ms\": 1, \"cap_ms\": 5}",
        srv.url, hub && *hub ? ", " : "", hub ? hub : "");
    tu_write_file(r->config, json);
    free(json);
    if (evt_open_file(r->config, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    return t;
}

static void free_run(struct run *r)
{
    if (r->dir)
        tu_rmtree(r->dir);
    free(r->config);
    memset(r, 0, sizeof *r);
}

static const struct evt_sink_stats *hub_stats(evt_tracker *t,
                                              struct evt_sink_stats *st)
{
    size_t n = evt_stats(t, st, 4);
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].plugin, "hf-hub") == 0)
            return &st[i];
    fail_msg("no hf-hub sink");
    return NULL;
}

/* The secret log_run puts into model_args and config (redacted in the
 * results file): the token itself only where a test checks that. */
static const char *run_secret = "hf_OTHERsecret0123456789abcdefgh";

/* A synthetic run: two tasks ("task_a", "task-b.sub"), n samples each
 * with pad bytes of input text, their results. */
static void log_run(evt_tracker *t, int n, int pad, int end)
{
    static const char *const tasks[] = {"task_a", "task-b.sub"};
    char *text = malloc((size_t)pad + 1);
    memset(text, 'x', (size_t)pad);
    text[pad] = '\0';
    char *rs = tu_fmt("{\"model_name\": \"org/model-x\", \"model_args\": "
                      "\"pretrained=org/model-x,hf_token=%s\", \"config\": "
                      "{\"model\": \"m\", \"token\": \"%s\"}}",
                      run_secret, run_secret);
    log_json(t, EVT_EV_RUN_START, rs);
    free(rs);
    for (int k = 0; k < 2; k++) {
        char *tc = tu_fmt("{\"task\": \"%s\", \"version\": 1, \"n-shot\": 0, "
                          "\"higher_is_better\": {\"acc\": true}}", tasks[k]);
        log_json(t, EVT_EV_TASK_CONFIG, tc);
        free(tc);
        for (int i = 0; i < n; i++) {
            char *s = tu_fmt(
                "{\"task\": \"%s\", \"doc_id\": %d, \"target\": \"Yes\", "
                "\"arguments\": [\"Q%d %s\", {}], \"resps\": [[\"Yes\"]], "
                "\"filtered_resps\": [\"Yes\"], \"filter\": \"none\", "
                "\"acc\": 1.0}",
                tasks[k], i, i, text);
            log_json(t, EVT_EV_SAMPLE, s);
            free(s);
        }
        assert_int_equal(evt_log_result(t, tasks[k], "acc", "none", 0.75,
                                        0.01, -1), EVT_OK);
    }
    if (end)
        assert_int_equal(evt_log_run_end(t), EVT_OK);
    free(text);
}

/* The run's stamp, from the local results file name. */
static char *stamp_of(const struct run *r)
{
    char *d = tu_fmt("%s/" MODEL_DIR, r->dir);
    char *f = tu_find_one(d, "_results.json");
    const char *base = strrchr(f, '/') + 1;
    char *s = strndup(base, strlen(base) - strlen("_results.json"));
    free(f);
    free(d);
    return s;
}

/* The server's file repo:path equals the local file dir/rel. */
static void same_file(const char *repo, const char *path, const char *local)
{
    size_t n = 0, m = 0;
    char *got = fetch(repo, path, &n);
    char *want = tu_read_file(local, &m);
    if (!got)
        fail_msg("%s: %s is not on the server", repo, path);
    assert_non_null(want);
    assert_int_equal(n, m);
    assert_memory_equal(got, want, n);
    free(got);
    free(want);
}

/* Every file of the run on the server equals its local twin. */
static void same_files(const struct run *r, const char *repo,
                       const char *stamp)
{
    static const char *const names[] = {"%s_results.json",
                                        "%s_samples_task_a.jsonl",
                                        "%s_samples_task-b.sub.jsonl"};
    for (int i = 0; i < 3; i++) {
        char *name = tu_fmt(names[i], stamp);
        char *path = tu_fmt(MODEL_DIR "/%s", name);
        char *local = tu_fmt("%s/" MODEL_DIR "/%s", r->dir, name);
        same_file(repo, path, local);
        free(name);
        free(path);
        free(local);
    }
}

/* ---- card checks ----------------------------------------------------- */

/* card_check.py's verdict on text: the parsed front matter. */
static cJSON *check_card(const char *text, size_t len)
{
    char *dir = tu_tmpdir();
    char *path = tu_fmt("%s/README.md", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, len, f);
    fclose(f);
    char *cmd = tu_fmt("python3 %s/tests/fake/card_check.py %s",
                       getenv("EVT_TEST_SOURCE_DIR"), path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    cJSON *j = cJSON_Parse(out);
    if (rc != 0 || !j || !cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")))
        fail_msg("card rejected: %s\n--- card ---\n%.*s", out, (int)len,
                 text);
    cJSON *front = cJSON_DetachItemFromObject(j, "front");
    cJSON_Delete(j);
    free(cmd);
    free(path);
    tu_rmtree(dir);
    return front;
}

static const cJSON *config_named(const cJSON *front, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(front, "configs"))
    {
        if (strcmp(cJSON_GetObjectItem(c, "config_name")->valuestring,
                   name) == 0)
            return c;
    }
    fail_msg("no config %s in the card", name);
    return NULL;
}

/* The paths of split in config name, joined by '|'. */
static char *split_paths(const cJSON *front, const char *name,
                         const char *split)
{
    const cJSON *df = cJSON_GetObjectItem(config_named(front, name),
                                          "data_files"),
                *s, *p;
    cJSON_ArrayForEach(s, df)
    {
        if (strcmp(cJSON_GetObjectItem(s, "split")->valuestring, split))
            continue;
        struct evt_buf b;
        evt_buf_init(&b);
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(s, "path"))
        {
            evt_buf_puts(&b, b.len ? "|" : "");
            evt_buf_puts(&b, p->valuestring);
        }
        return b.data;
    }
    fail_msg("config %s has no split %s", name, split);
    return NULL;
}

static void expect_split(const cJSON *front, const char *config,
                         const char *split, const char *paths)
{
    char *got = split_paths(front, config, split);
    assert_string_equal(got, paths);
    free(got);
}

static int nsplits(const cJSON *front, const char *config)
{
    return cJSON_GetArraySize(
        cJSON_GetObjectItem(config_named(front, config), "data_files"));
}

/* ---- tests: a push --------------------------------------------------- */

/* NDJSON line i of a commit body (parsed). */
static cJSON *ndjson_line(const char *body, int i)
{
    const char *p = body;
    for (int k = 0; k < i; k++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    const char *e = strchr(p, '\n');
    assert_non_null(e); /* every line ends with \n */
    cJSON *j = cJSON_ParseWithLength(p, (size_t)(e - p));
    assert_non_null(j);
    return j;
}

static const char *line_value(const cJSON *line, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(line, "value"),
                                         k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check_commit_body(const cJSON *commit, const char *stamp)
{
    const char *body = cJSON_GetObjectItem(commit, "body")->valuestring;
    assert_string_equal(req_header(commit, "content-type"),
                        "application/x-ndjson");
    cJSON *h = ndjson_line(body, 0);
    assert_string_equal(cJSON_GetObjectItem(h, "key")->valuestring,
                        "header");
    assert_string_equal(line_value(h, "summary"),
                        "evtrack: evaluation run run-1");
    assert_string_equal(line_value(h, "description"), "");
    cJSON_Delete(h);
    char *want[4] = {tu_fmt(MODEL_DIR "/%s_results.json", stamp),
                     tu_fmt(MODEL_DIR "/%s_samples_task_a.jsonl", stamp),
                     tu_fmt(MODEL_DIR "/%s_samples_task-b.sub.jsonl", stamp),
                     strdup("README.md")};
    for (int i = 0; i < 4; i++) {
        cJSON *l = ndjson_line(body, i + 1);
        assert_string_equal(cJSON_GetObjectItem(l, "key")->valuestring,
                            "file");
        assert_string_equal(line_value(l, "path"), want[i]);
        assert_string_equal(line_value(l, "encoding"), "base64");
        assert_non_null(line_value(l, "content"));
        cJSON_Delete(l);
        free(want[i]);
    }
    /* five lines, the last one ends with \n too */
    int lines = 0;
    for (const char *p = body; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 5);
    assert_int_equal(body[strlen(body) - 1], '\n');
}

static void check_create_body(const cJSON *create, const char *name)
{
    cJSON *b = cJSON_Parse(cJSON_GetObjectItem(create, "body")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, name);
    assert_string_equal(cJSON_GetObjectItem(b, "organization")->valuestring,
                        "evt-org");
    assert_string_equal(cJSON_GetObjectItem(b, "visibility")->valuestring,
                        "private");
    assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring,
                        "dataset");
    cJSON_Delete(b);
}

/* One push: the exact requests, the NDJSON body, the bytes. */
static void test_push_sequence(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"seq\"", NULL, 1);
    run_secret = TOKEN; /* the results file must not show it */
    log_run(t, 5, 20, 1);
    run_secret = "hf_OTHERsecret0123456789abcdefgh";
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    char *seq = sequence(log);
    assert_string_equal(seq,
                        "POST /api/repos/create\n"
                        "GET /api/datasets/evt-org/seq/tree/main\n"
                        "POST /api/datasets/evt-org/seq/preupload/main\n"
                        "POST /api/datasets/evt-org/seq/commit/main\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, log)
    {
        assert_string_equal(req_header(e, "authorization"),
                            "Bearer " TOKEN);
    }
    char *stamp = stamp_of(&r);
    check_create_body(find_req(log, "/create", 0), "seq");
    assert_string_equal(cJSON_GetObjectItem(find_req(log, "/tree", 0),
                                            "query")->valuestring,
                        "recursive=true");
    check_commit_body(find_req(log, "/commit", 0), stamp);
    same_files(&r, "evt-org/seq", stamp);
    assert_int_equal(commits("evt-org/seq"), 1);
    /* the token went nowhere: not in the results (redacted), not in the
     * staging */
    size_t n = 0;
    char *rpath = tu_fmt(MODEL_DIR "/%s_results.json", stamp);
    char *res = fetch("evt-org/seq", rpath, &n);
    assert_null(strstr(res, TOKEN));
    free(res);
    free(rpath);
    cJSON *rp = repos();
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(rp, "evt-org/seq"), "private")));
    cJSON_Delete(rp);
    free(stamp);
    free(seq);
    cJSON_Delete(log);
    free_run(&r);
}

/* The card of the push: valid, one config per task plus results, a split
 * for the run plus latest. */
static void test_card_of_push(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"card\"", NULL, 1);
    log_run(t, 3, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    char *stamp = stamp_of(&r);
    size_t n = 0;
    char *card = fetch("evt-org/card", "README.md", &n);
    assert_non_null(card);
    cJSON *front = check_card(card, n);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(front,
                                                            "configs")), 3);
    char *p = tu_fmt(MODEL_DIR "/%s_results.json", stamp);
    expect_split(front, MODEL_DIR "__results", stamp, p);
    expect_split(front, MODEL_DIR "__results", "latest", p);
    free(p);
    p = tu_fmt(MODEL_DIR "/%s_samples_task-b.sub.jsonl", stamp);
    expect_split(front, MODEL_DIR "__task-b_sub", stamp, p);
    expect_split(front, MODEL_DIR "__task-b_sub", "latest", p);
    free(p);
    assert_int_equal(nsplits(front, MODEL_DIR "__task_a"), 2);
    cJSON_Delete(front);
    free(card);
    free(stamp);
    free_run(&r);
}

/* The real lmms-eval MME run: results and samples byte-equal to what
 * local-json and jsonl wrote; the card takes lmms-eval's file names. */
static void test_real_mme(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"mme\"", NULL, 1);
    char *text = tu_read_shared("fixtures/real/lmmseval_v0.6_mme_limit8_"
                                "results.json");
    struct mp m;
    mp_parse(&m, text);
    const msgpack_object *root = &m.view.root;
    const msgpack_object *results = evt_mp_get(root, "results");
    send_run(t, root, 0);
    for (uint32_t i = 0; i < results->via.map.size; i++) {
        char *task = evt_mp_strdup(&results->via.map.ptr[i].key);
        send_task_config(t, root, task, &results->via.map.ptr[i].val);
        if (strcmp(task, "mme") == 0)
            send_samples(t, task, "fixtures/real/lmmseval_v0.6_mme_limit8_"
                                  "samples_mme.jsonl");
        send_results(t, task, &results->via.map.ptr[i].val);
        free(task);
    }
    send_run(t, root, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    const char *sub = "snapshots__66285546d2b821cf421d4f5eb2576359d3770cd3";
    static const char *const names[] = {"20260923_172512_results.json",
                                        "20260923_172512_samples_mme.jsonl"};
    for (int i = 0; i < 2; i++) {
        char *path = tu_fmt("%s/%s", sub, names[i]);
        char *local = tu_fmt("%s/%s/%s", r.dir, sub, names[i]);
        same_file("evt-org/mme", path, local);
        free(path);
        free(local);
    }
    size_t n = 0;
    char *card = fetch("evt-org/mme", "README.md", &n);
    cJSON *front = check_card(card, n);
    char *cfg = tu_fmt("%s__mme", sub);
    char *p = tu_fmt("%s/%s", sub, names[1]);
    expect_split(front, cfg, "20260923_172512", p);
    expect_split(front, cfg, "latest", p);
    cJSON_Delete(front);
    free(card);
    free(cfg);
    free(p);
    mp_free(&m);
    free(text);
    free_run(&r);
}

/* Commit files straight to the fake server (another tool's push). */
static void commit_raw(const char *repo, const char *const *paths)
{
    const char *hdr[] = {"Authorization: Bearer " TOKEN,
                         "Content-Type: application/x-ndjson", NULL};
    struct evt_buf b;
    struct evt_http_response rs;
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"key\": \"header\", \"value\": {\"summary\": \"x\", "
                     "\"description\": \"\"}}\n");
    for (int i = 0; paths[i]; i++) {
        char *l = tu_fmt("{\"key\": \"file\", \"value\": {\"content\": "
                         "\"e30=\", \"path\": \"%s\", \"encoding\": "
                         "\"base64\"}}\n", paths[i]);
        evt_buf_puts(&b, l);
        free(l);
    }
    char *path = tu_fmt("/api/datasets/%s/commit/main", repo);
    http("POST", path, b.data, hdr, &rs);
    assert_int_equal(rs.status, 200);
    evt_http_response_free(&rs);
    free(path);
    evt_buf_free(&b);
}

/* A repo that already holds runs of lmms-eval and lm-eval (their own file
 * names), and a task called "results": the card keeps one split per run,
 * latest is the newest, every name is valid. The listing comes in pages. */
static void test_card_mixed_repo(void **state)
{
    (void)state;
    const char *hdr[] = {"Authorization: Bearer " TOKEN, NULL};
    struct evt_http_response rs;
    http("POST", "/api/repos/create", "{\"name\": \"mixed\", "
         "\"organization\": \"evt-org\", \"type\": \"dataset\"}", hdr, &rs);
    evt_http_response_free(&rs);
    static const char *const old[] = {
        MODEL_DIR "/20240101_120000_results.json",
        MODEL_DIR "/20240101_120000_samples_task_a.jsonl",
        MODEL_DIR "/20240101_120000_samples_results.jsonl",
        "EleutherAI__pythia/results_2024-01-01T00-00-00.123456.json",
        "EleutherAI__pythia/samples_arc_easy_2024-01-01T00-00-00.123456.jsonl",
        "EleutherAI__pythia/samples_arc_easy_2024-02-01T00-00-00.5.jsonl",
        "odd/notes.txt", "odd/_results.json", "odd/samples_.jsonl", NULL};
    commit_raw("evt-org/mixed", old);
    ctl("/_ctl/config", "{\"tree_page\": 3}");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"mixed\"", NULL, 1);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    char *stamp = stamp_of(&r);
    size_t n = 0;
    char *card = fetch("evt-org/mixed", "README.md", &n);
    cJSON *front = check_card(card, n);
    cJSON *log = server_log();
    assert_true(count_req(log, "/tree") > 3); /* Link pages followed */
    cJSON_Delete(log);
    /* two runs of the model: its own split each, latest = this one */
    assert_int_equal(nsplits(front, MODEL_DIR "__results"), 3);
    expect_split(front, MODEL_DIR "__results", "20240101_120000",
                 MODEL_DIR "/20240101_120000_results.json");
    char *p = tu_fmt(MODEL_DIR "/%s_results.json", stamp);
    expect_split(front, MODEL_DIR "__results", "latest", p);
    free(p);
    assert_int_equal(nsplits(front, MODEL_DIR "__task_a"), 3);
    expect_split(front, MODEL_DIR "__results_samples", "latest",
                 MODEL_DIR "/20240101_120000_samples_results.jsonl");
    /* lm-eval's names: task and date split correctly */
    expect_split(front, "EleutherAI__pythia__arc_easy",
                 "2024_01_01T00_00_00.123456",
                 "EleutherAI__pythia/samples_arc_easy_2024-01-01T00-00-00."
                 "123456.jsonl");
    expect_split(front, "EleutherAI__pythia__arc_easy", "latest",
                 "EleutherAI__pythia/samples_arc_easy_2024-02-01T00-00-00.5."
                 "jsonl");
    expect_split(front, "EleutherAI__pythia__results", "latest",
                 "EleutherAI__pythia/results_2024-01-01T00-00-00.123456."
                 "json");
    cJSON_Delete(front);
    free(card);
    free(stamp);
    free_run(&r);
}

/* ---- tests: LFS ------------------------------------------------------ */

static void check_lfs_commit(const cJSON *log, const struct run *r,
                             const char *repo, const char *stamp)
{
    const char *body = cJSON_GetObjectItem(find_req(log, "/commit", 0),
                                           "body")->valuestring;
    char *name = tu_fmt("%s_samples_task_a.jsonl", stamp);
    char *local = tu_fmt("%s/" MODEL_DIR "/%s", r->dir, name);
    size_t len = 0;
    char *data = tu_read_file(local, &len);
    char oid[65];
    evt_results_sha256_hex(data, len, oid);
    char *want = tu_fmt("{\"key\": \"lfsFile\", \"value\": {\"path\": \""
                        MODEL_DIR "/%s\", \"algo\": \"sha256\", \"oid\": "
                        "\"%s\", \"size\": %zu}}\n", name, oid, len);
    assert_non_null(strstr(body, want));
    cJSON *rp = repos();
    const cJSON *lfs = cJSON_GetObjectItem(cJSON_GetObjectItem(rp, repo),
                                           "lfs");
    assert_int_equal(cJSON_GetArraySize(lfs), 2); /* both sample files */
    cJSON_Delete(rp);
    same_files(r, repo, stamp);
    free(want);
    free(data);
    free(local);
    free(name);
}

/* Sample files over the threshold: batch, PUT without the token, verify,
 * lfsFile lines. */
static void test_lfs_basic(void **state)
{
    (void)state;
    ctl("/_ctl/config", "{\"lfs_threshold\": 4096}");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"lfs\"", NULL, 1);
    log_run(t, 40, 200, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    char *seq = sequence(log);
    assert_string_equal(seq,
                        "POST /api/repos/create\n"
                        "GET /api/datasets/evt-org/lfs/tree/main\n"
                        "POST /api/datasets/evt-org/lfs/preupload/main\n"
                        "POST /datasets/evt-org/lfs.git/info/lfs/objects/"
                        "batch\n"
                        "PUT /lfs-upload/<oid>\n"
                        "POST /lfs-verify/<oid>\n"
                        "PUT /lfs-upload/<oid>\n"
                        "POST /lfs-verify/<oid>\n"
                        "POST /api/datasets/evt-org/lfs/commit/main\n");
    for (int i = 0; i < 2; i++) {
        const cJSON *put = find_req(log, "/lfs-upload/", i);
        assert_null(req_header(put, "authorization"));
        assert_string_equal(req_header(find_req(log, "/lfs-verify/", i),
                                       "authorization"), "Bearer " TOKEN);
    }
    const cJSON *batch = find_req(log, "/objects/batch", 0);
    assert_string_equal(req_header(batch, "accept"),
                        "application/vnd.git-lfs+json");
    cJSON *bb = cJSON_Parse(cJSON_GetObjectItem(batch, "body")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(bb, "hash_algo")->valuestring,
                        "sha256");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(bb,
                                                            "transfers")), 2);
    cJSON_Delete(bb);
    char *stamp = stamp_of(&r);
    check_lfs_commit(log, &r, "evt-org/lfs", stamp);
    free(stamp);
    free(seq);
    cJSON_Delete(log);
    free_run(&r);
}

/* The server asks for multipart: parts PUT in order, ETags collected,
 * completion, verify. */
static void test_lfs_multipart(void **state)
{
    (void)state;
    ctl("/_ctl/config", "{\"lfs_threshold\": 4096, \"multipart_chunk\": "
                        "2048}");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"multi\"", NULL, 1);
    log_run(t, 40, 201, 1); /* not the objects test_lfs_basic stored */
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    if (getenv("HUB_TEST_VERBOSE")) {
        char *seq = sequence(log);
        fprintf(stderr, "%s", seq);
        free(seq);
    }
    char *stamp = stamp_of(&r);
    char *local = tu_fmt("%s/" MODEL_DIR "/%s_samples_task_a.jsonl", r.dir,
                         stamp);
    struct stat st;
    assert_int_equal(stat(local, &st), 0);
    int parts = (int)((st.st_size + 2047) / 2048);
    assert_true(parts >= 3);
    /* the first object's parts, in order, then its completion */
    const cJSON *first = find_req(log, "/lfs-part/", 0);
    const char *p0 = cJSON_GetObjectItem(first, "path")->valuestring;
    char *oid = strndup(p0 + strlen("/lfs-part/"), 64);
    for (int i = 0; i < parts; i++) {
        const cJSON *e = find_req(log, "/lfs-part/", i);
        char *want = tu_fmt("/lfs-part/%s/%d", oid, i + 1);
        assert_string_equal(cJSON_GetObjectItem(e, "path")->valuestring,
                            want);
        assert_null(req_header(e, "authorization"));
        free(want);
    }
    assert_int_equal(count_req(log, "/lfs-complete/"), 2);
    assert_int_equal(count_req(log, "/lfs-verify/"), 2);
    assert_int_equal(count_req(log, "/lfs-upload/"), 0);
    check_lfs_commit(log, &r, "evt-org/multi", stamp);
    free(oid);
    free(local);
    free(stamp);
    cJSON_Delete(log);
    free_run(&r);
}

/* ---- tests: failures ------------------------------------------------- */

/* The repo exists: 409 is success, the push goes on. */
static void test_409_exists(void **state)
{
    (void)state;
    const char *hdr[] = {"Authorization: Bearer " TOKEN, NULL};
    struct evt_http_response rs;
    http("POST", "/api/repos/create", "{\"name\": \"exists\", "
         "\"organization\": \"evt-org\", \"type\": \"dataset\"}", hdr, &rs);
    assert_int_equal(rs.status, 200);
    evt_http_response_free(&rs);
    ctl("/_ctl/reset", NULL);
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"exists\"", NULL, 1);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    assert_int_equal(cJSON_GetObjectItem(find_req(log, "/create", 0),
                                         "status")->valueint, 409);
    assert_int_equal(count_req(log, "/create"), 1);
    assert_int_equal(cJSON_GetObjectItem(find_req(log, "/commit", 0),
                                         "status")->valueint, 200);
    assert_int_equal(commits("evt-org/exists"), 1);
    char *stamp = stamp_of(&r);
    same_files(&r, "evt-org/exists", stamp);
    free(stamp);
    cJSON_Delete(log);
    free_run(&r);
}

/* Preupload answers 503 three times: the fourth try passes, one commit. */
static void test_503_then_ok(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\": \"/api/datasets/evt-org/flaky/"
                        "preupload\", \"status\": 503, \"times\": 3, "
                        "\"body\": \"{\\\"error\\\": \\\"busy\\\"}\"}]");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"flaky\"", NULL, 1);
    log_run(t, 2, 10, 1);
    struct evt_sink_stats st[4];
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    assert_int_equal(hub_stats(t, st)->retried, 0); /* inside the push */
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    assert_int_equal(count_req(log, "/preupload"), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(cJSON_GetObjectItem(find_req(log, "/preupload", i),
                                             "status")->valueint,
                         i < 3 ? 503 : 200);
    assert_int_equal(count_req(log, "/commit"), 1);
    assert_int_equal(commits("evt-org/flaky"), 1);
    cJSON_Delete(log);
    free_run(&r);
}

/* The commit lands but its answer is lost: the host retries the batch,
 * preupload shows every file there, and no second commit is made. */
static void test_lost_commit_answer(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\": \"/api/datasets/evt-org/lost/commit\", "
                        "\"drop_answer\": true}]");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"lost\"", NULL, 1);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    struct evt_sink_stats st[4];
    const struct evt_sink_stats *hs = hub_stats(t, st);
    assert_int_equal(hs->retried, 1);
    assert_int_equal(hs->dead_lettered, 0);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    assert_int_equal(count_req(log, "/preupload"), 2);
    assert_int_equal(count_req(log, "/commit"), 1);
    assert_int_equal(commits("evt-org/lost"), 1);
    char *stamp = stamp_of(&r);
    same_files(&r, "evt-org/lost", stamp);
    free(stamp);
    cJSON_Delete(log);
    free_run(&r);
}

/* 1 when the bytes of needle occur in the file at path. */
static int file_has(const char *path, const char *needle)
{
    size_t n = 0;
    char *d = tu_read_file(path, &n);
    int found = 0;
    size_t k = strlen(needle);
    for (size_t i = 0; d && !found && i + k <= n; i++)
        found = memcmp(d + i, needle, k) == 0;
    free(d);
    return found;
}

static int tree_hit(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_F && (file_has(path, TOKEN) || file_has(path,
                                                               BAD_TOKEN));
}

/* No file under dir holds a token. */
static void no_token_in(const char *dir)
{
    assert_int_equal(nftw(dir, tree_hit, 16, FTW_PHYS), 0);
}

/* The commit keeps failing: the run_end batch is dead-lettered; evtrack
 * replay then pushes it once; a second replay pushes nothing. */
static void test_dead_letter_replay(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\": \"/api/datasets/evt-org/dl/commit\", "
                        "\"status\": 503, \"times\": -1}]");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"dl\"",
                              "{\"limit\": 2, \"base_ms\": 1, \"cap_ms\": 5}",
                              1);
    log_run(t, 3, 10, 1);
    evt_flush(t, 20000);
    struct evt_sink_stats st[4];
    const struct evt_sink_stats *hs = hub_stats(t, st);
    assert_int_equal(hs->retried, 3);
    assert_true(hs->dead_lettered > 0);
    assert_int_equal(hs->enabled, 1); /* transient: the sink stays on */
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/dl"), 0);
    char *dl = tu_fmt("%s/state/rejected/hf-hub.spool", r.dir);
    assert_int_equal(access(dl, F_OK), 0);
    no_token_in(r.dir);
    ctl("/_ctl/reset", NULL); /* the Hub is back */
    struct evt_replay_result res;
    char err[512];
    assert_int_equal(evt_replay_run(r.config, "hf-hub", NULL, NULL, &res,
                                    err, sizeof err), EVT_OK);
    assert_int_equal(res.failed, 0);
    assert_true(res.delivered > 0);
    assert_int_equal(commits("evt-org/dl"), 1);
    char *stamp = stamp_of(&r);
    same_files(&r, "evt-org/dl", stamp);
    /* nothing left to replay; the same dead letters again push nothing */
    assert_int_equal(evt_replay_run(r.config, "hf-hub", NULL, NULL, &res,
                                    err, sizeof err), EVT_OK);
    assert_int_equal(res.total, 0);
    cJSON *log = server_log();
    int commits_sent = count_req(log, "/commit");
    cJSON_Delete(log);
    assert_int_equal(commits_sent, 1);
    free(stamp);
    free(dl);
    free_run(&r);
}

/* A replayed run_end whose run was pushed already: no request at all. */
static void test_replayed_run_end_pushed(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"twice\"", NULL, 0);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/twice"), 1);
    /* copy the run's events into the dead-letter file by hand: open a
     * tracker whose hf-hub fails at once, with the same run id */
    ctl("/_ctl/reset", NULL);
    ctl("/_ctl/faults", "[{\"path\": \"/api/repos/create\", \"status\": "
                        "503, \"times\": -1}]");
    struct run r2 = {0};
    t = open_run(&r2, "\"org\": \"evt-org\", \"results_repo\": \"twice\"",
                 "{\"limit\": 0, \"base_ms\": 1, \"cap_ms\": 5}", 0);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    /* r2's dead letters are run-1's events; replay them into r's state */
    char *from = tu_fmt("%s/state/rejected", r2.dir);
    char *to = tu_fmt("%s/state/rejected", r.dir);
    char *cmd = tu_fmt("mkdir -p %s && cp %s/* %s/", to, from, to);
    assert_int_equal(system(cmd), 0);
    ctl("/_ctl/reset", NULL);
    struct evt_replay_result res;
    char err[512];
    assert_int_equal(evt_replay_run(r.config, "hf-hub", NULL, NULL, &res,
                                    err, sizeof err), EVT_OK);
    assert_true(res.delivered > 0);
    cJSON *log = server_log();
    if (getenv("HUB_TEST_VERBOSE")) {
        char *seq = sequence(log);
        fprintf(stderr, "%s", seq);
        free(seq);
    }
    assert_int_equal(cJSON_GetArraySize(log), 0);
    cJSON_Delete(log);
    assert_int_equal(commits("evt-org/twice"), 1);
    free(cmd);
    free(from);
    free(to);
    free_run(&r2);
    free_run(&r);
}

/* A wrong token: 401, a final error naming the repo and the message,
 * never the token; the sink is disabled. */
static void test_401(void **state)
{
    (void)state;
    setenv("HF_TOKEN", BAD_TOKEN, 1);
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"denied\"", NULL, 0);
    setenv("HF_TOKEN", TOKEN, 1);
    log_run(t, 2, 10, 1);
    evt_flush(t, 20000);
    struct evt_sink_stats st[4];
    const struct evt_sink_stats *hs = hub_stats(t, st);
    assert_int_equal(hs->enabled, 0);
    assert_int_equal(hs->retried, 0);
    char last[1024];
    evt_last_error(t, last, sizeof last);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    char *msgs = take_log();
    assert_non_null(strstr(msgs, "dataset repo evt-org/denied"));
    assert_non_null(strstr(msgs, "HTTP 401: Invalid credentials in "
                                 "Authorization header"));
    assert_null(strstr(msgs, BAD_TOKEN));
    assert_null(strstr(last, BAD_TOKEN));
    cJSON *log = server_log();
    assert_int_equal(cJSON_GetArraySize(log), 1); /* create, no retry */
    cJSON_Delete(log);
    no_token_in(r.dir);
    free(msgs);
    free_run(&r);
}

/* https endpoint with a private CA: without ca_bundle the push is a final
 * error naming the certificate problem (no retries, sink disabled); with
 * it the run is committed. */
static void test_tls_ca_bundle(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    assert_int_equal(fake_server_make_cert(dir, "hub", "IP:127.0.0.1"), 0);
    char *pem = tu_fmt("%s/hub.pem", dir), *key = tu_fmt("%s/hub.key", dir);
    char *tlog = tu_fmt("%s/log.json", dir);
    const char *args[] = {"--log", tlog, "--token", TOKEN, "--tls", pem, key,
                          NULL};
    struct fake_server plain = srv, tls = {0};
    assert_int_equal(fake_server_start(&tls, "hf_hub_server.py", args), 0);
    snprintf(srv.url, sizeof srv.url, "https://127.0.0.1:%d", tls.port);
    for (int trusted = 0; trusted < 2; trusted++) {
        char *hub = tu_fmt("\"org\": \"evt-org\", \"results_repo\": "
                           "\"tls%d\"%s%s%s", trusted,
                           trusted ? ", \"ca_bundle\": \"" : "",
                           trusted ? pem : "", trusted ? "\"" : "");
        struct run r = {0};
        evt_tracker *t = open_run(&r, hub, NULL, 0);
        log_run(t, 2, 10, 1);
        evt_flush(t, 20000);
        struct evt_sink_stats st[4];
        const struct evt_sink_stats *hs = hub_stats(t, st);
        assert_int_equal(hs->enabled, trusted);
        assert_int_equal(hs->retried, 0);
        assert_int_equal(hs->dead_lettered > 0, !trusted);
        assert_int_equal(evt_close(t, 20000), EVT_OK);
        char *msgs = take_log();
        if (!trusted) {
            assert_non_null(strstr(msgs, "dataset repo evt-org/tls0"));
            assert_non_null(strstr(msgs, "certificate"));
        }
        assert_null(strstr(msgs, TOKEN));
        free(msgs);
        free(hub);
        free_run(&r);
    }
    /* only the trusted run reached the server: its commit is logged */
    char *text = tu_read_file(tlog, NULL);
    cJSON *log = cJSON_Parse(text ? text : "[]");
    assert_int_equal(count_req(log, "/api/datasets/evt-org/tls1/commit"), 1);
    assert_int_equal(count_req(log, "tls0"), 0);
    cJSON_Delete(log);
    free(text);
    fake_server_stop(&tls);
    srv = plain;
    free(tlog);
    free(pem);
    free(key);
    tu_rmtree(dir);
}

/* No token: create fails at open, naming the variable to set. */
static void test_no_token(void **state)
{
    (void)state;
    unsetenv("HF_TOKEN");
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\"", NULL, 0);
    struct evt_sink_stats st[4];
    assert_int_equal(hub_stats(t, st)->enabled, 0);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    char *msgs = take_log();
    assert_non_null(strstr(msgs, "set the environment variable HF_TOKEN "
                                 "(or HUGGING_FACE_HUB_TOKEN)"));
    free(msgs);
    t = open_run(&r, "\"org\": \"evt-org\", \"token_env\": \"MY_HUB_KEY\"",
                 NULL, 0);
    assert_int_equal(hub_stats(t, st)->enabled, 0);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    msgs = take_log();
    assert_non_null(strstr(msgs, "the environment variable MY_HUB_KEY"));
    free(msgs);
    /* pushing off: no token needed */
    t = open_run(&r, "\"push_results\": false, \"push_samples\": false",
                 NULL, 0);
    assert_int_equal(hub_stats(t, st)->enabled, 1);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    setenv("HF_TOKEN", TOKEN, 1);
    /* HUGGING_FACE_HUB_TOKEN is the fallback */
    unsetenv("HF_TOKEN");
    setenv("HUGGING_FACE_HUB_TOKEN", TOKEN, 1);
    t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": \"legacy\"",
                 NULL, 0);
    log_run(t, 1, 5, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/legacy"), 1);
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    setenv("HF_TOKEN", TOKEN, 1);
    free_run(&r);
}

/* No org: the token's user, from whoami-v2; public repos have no
 * "-private" suffix; gated repos get their setting. */
static void test_whoami_public_gated(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"public\": true, \"gated\": true", NULL,
                              0);
    log_run(t, 1, 5, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    cJSON *log = server_log();
    char *seq = sequence(log);
    assert_string_equal(
        seq, "GET /api/whoami-v2\n"
             "POST /api/repos/create\n"
             "PUT /api/datasets/evt-user/lmms-eval-results/settings\n"
             "GET /api/datasets/evt-user/lmms-eval-results/tree/main\n"
             "POST /api/datasets/evt-user/lmms-eval-results/preupload/main\n"
             "POST /api/datasets/evt-user/lmms-eval-results/commit/main\n");
    cJSON *rp = repos();
    const cJSON *repo = cJSON_GetObjectItem(rp, "evt-user/lmms-eval-results");
    assert_non_null(repo);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(repo, "private")));
    assert_string_equal(cJSON_GetObjectItem(repo, "gated")->valuestring,
                        "auto");
    cJSON_Delete(rp);
    free(seq);
    cJSON_Delete(log);
    free_run(&r);
}

/* Results and details in two repos: one commit each. */
static void test_two_repos(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"res2\", \"details_repo\": \"det2\"",
                              NULL, 1);
    log_run(t, 2, 10, 1);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/res2"), 1);
    assert_int_equal(commits("evt-org/det2"), 1);
    char *stamp = stamp_of(&r);
    char *p = tu_fmt(MODEL_DIR "/%s_results.json", stamp);
    char *l = tu_fmt("%s/%s", r.dir, p);
    same_file("evt-org/res2", p, l);
    size_t n = 0;
    char *card = fetch("evt-org/det2", "README.md", &n);
    cJSON *front = check_card(card, n);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(front,
                                                            "configs")), 2);
    cJSON_Delete(front);
    free(card);
    free(l);
    free(p);
    free(stamp);
    free_run(&r);
}

/* push_interval_secs: a running run is pushed before its end too. */
static void test_incremental(void **state)
{
    (void)state;
    struct run r = {0};
    evt_tracker *t = open_run(&r, "\"org\": \"evt-org\", \"results_repo\": "
                                  "\"incr\", \"push_interval_secs\": 1",
                              NULL, 1);
    log_run(t, 2, 10, 0);
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    struct timespec ts = {1, 100000000};
    nanosleep(&ts, NULL);
    log_json(t, EVT_EV_SAMPLE, "{\"task\": \"task_a\", \"doc_id\": 99, "
                               "\"target\": \"No\", \"arguments\": [\"Q\"], "
                               "\"filtered_resps\": [\"No\"], \"acc\": 0.0}");
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/incr"), 1);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(commits("evt-org/incr"), 2);
    char *stamp = stamp_of(&r);
    same_files(&r, "evt-org/incr", stamp);
    free(stamp);
    free_run(&r);
}

/* ---- direct: staging recovery, card builder, hashes ------------------- */

static void stage_one(struct hub_run *run, struct jl_rec *o, uint32_t kind,
                      uint64_t seq, const char *json)
{
    struct mp m;
    char err[256], warn[64];
    char *full = tu_fmt("{\"kind\": \"%s\", \"run_id\": \"r\", \"seq\": "
                        "%llu, \"time_ns\": 1, %s",
                        kind == EVT_EV_SAMPLE ? "sample" : "run_start",
                        (unsigned long long)seq, json + 1);
    mp_parse(&m, full);
    assert_int_equal(hub_stage_event(run, o, kind, seq, &m.view.root,
                                     m.e->buf, m.e->len, err, sizeof err,
                                     warn, sizeof warn), 0);
    mp_free(&m);
    free(full);
}

/* A crash between a sample line and its log record, and a torn log
 * record: the next open cuts both, and the seqs tell what is staged. */
static void test_stage_recovery(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), err[512];
    struct jl_opts opts = {.layout = JL_LMMS, .filter_key = 1};
    struct jl_rec *o = jl_rec_new(&opts);
    struct hub_run *run;
    int n = 200 / scale_div();
    assert_int_equal(hub_stage_open(&run, dir, "r", "20250101_000000", err,
                                    sizeof err), 0);
    stage_one(run, o, EVT_EV_RUN_START, 1, "{\"model_name\": \"m\"}");
    for (int i = 0; i < n; i++) {
        char *s = tu_fmt("{\"task\": \"t\", \"doc_id\": %d, \"target\": "
                         "\"y\", \"arguments\": [\"q\"], \"filtered_resps\": "
                         "[\"y\"]}", i);
        stage_one(run, o, EVT_EV_SAMPLE, (uint64_t)i + 2, s);
        free(s);
        if (i % 50 == 49)
            assert_int_equal(hub_stage_commit(run, err, sizeof err), 0);
    }
    assert_int_equal(hub_stage_commit(run, err, sizeof err), 0);
    /* a line written, its record never: the "crash" */
    stage_one(run, o, EVT_EV_SAMPLE, 5000, "{\"task\": \"t\", \"doc_id\": "
              "5000, \"target\": \"n\", \"arguments\": [\"q\"]}");
    char *samples = tu_fmt("%s/runs/r/samples/t.jsonl", dir);
    char *logp = tu_fmt("%s/runs/r/events.log", dir);
    size_t good_len = 0;
    free(tu_read_file(samples, &good_len));
    uint64_t committed = run->tasks[0].committed;
    assert_true(good_len > committed);
    hub_stage_close(run); /* the pending record is lost */
    int fd = open(logp, O_WRONLY | O_APPEND);
    assert_true(write(fd, "\x10\x00\x00\x00torn", 8) == 8);
    close(fd);
    assert_int_equal(hub_stage_open(&run, dir, "r", "20990101_000000", err,
                                    sizeof err), 0);
    assert_string_equal(run->stamp, "20250101_000000"); /* kept */
    assert_int_equal(run->nrec, (uint64_t)n + 1);
    assert_true(hub_stage_has(run, 1));
    assert_true(hub_stage_has(run, (uint64_t)n + 1));
    assert_false(hub_stage_has(run, 5000));
    assert_true(hub_stage_dirty(run));
    assert_int_equal(hub_stage_mark_pushed(run, err, sizeof err), 0);
    assert_false(hub_stage_dirty(run));
    hub_stage_close(run);
    struct stat st;
    assert_int_equal(stat(samples, &st), 0);
    assert_int_equal((uint64_t)st.st_size, committed);
    assert_int_equal(hub_stage_open(&run, dir, "r", "x", err, sizeof err), 0);
    assert_false(hub_stage_dirty(run)); /* the marker survives */
    hub_stage_close(run);
    jl_rec_free(o);
    free(samples);
    free(logp);
    tu_rmtree(dir);
}

static void test_card_names(void **state)
{
    (void)state;
    char *s = hub_split_name("2024-01-01T00:00:00.123456", 26);
    assert_string_equal(s, "2024_01_01T00_00_00.123456");
    free(s);
    s = hub_split_name(".a..b.", 6);
    assert_string_equal(s, "_a__b_");
    free(s);
    s = hub_config_name("a.b/c:d*e", 9);
    assert_string_equal(s, "a_b_c_d_e");
    free(s);
    static const char *const paths[] = {
        "m/20250101_000000_results.json", "m/20250101_000000_2_results.json",
        "m/20250101_000000_10_results.json",
        "m/20250101_000000_samples_it's[1]*.jsonl", "README.md", "x",
        "m/20250101_000000_2_results.json"}; /* listed twice */
    struct evt_buf b;
    evt_buf_init(&b);
    assert_int_equal(hub_card_build(paths, 7, &b), 0);
    cJSON *front = check_card(b.data, b.len);
    /* "_10" is newer than "_2" */
    expect_split(front, "m__results", "latest",
                 "m/20250101_000000_10_results.json");
    expect_split(front, "m__results", "20250101_000000_2",
                 "m/20250101_000000_2_results.json");
    /* quotes survive YAML, glob characters are escaped */
    expect_split(front, "m__it_s_1__", "20250101_000000",
                 "m/20250101_000000_samples_it's[[]1][*].jsonl");
    cJSON_Delete(front);
    evt_buf_free(&b);
    evt_buf_init(&b);
    assert_int_equal(hub_card_build(paths, 0, &b), 0);
    assert_non_null(strstr(b.data, "---\npretty_name:"));
    evt_buf_free(&b);
    char oid[41];
    hub_git_blob_oid("hello\n", 6, oid);
    assert_string_equal(oid, "ce013625030ba8dba906f756967f9e9ca394464a");
    hub_git_blob_oid("", 0, oid);
    assert_string_equal(oid, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    evt_buf_init(&b);
    hub_base64(&b, "hello", 5);
    assert_string_equal(b.data, "aGVsbG8=");
    evt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_card_names),
        cmocka_unit_test(test_stage_recovery),
        cmocka_unit_test_setup(test_push_sequence, reset),
        cmocka_unit_test_setup(test_card_of_push, reset),
        cmocka_unit_test_setup(test_real_mme, reset),
        cmocka_unit_test_setup(test_card_mixed_repo, reset),
        cmocka_unit_test_setup(test_lfs_basic, reset),
        cmocka_unit_test_setup(test_lfs_multipart, reset),
        cmocka_unit_test_setup(test_409_exists, reset),
        cmocka_unit_test_setup(test_503_then_ok, reset),
        cmocka_unit_test_setup(test_lost_commit_answer, reset),
        cmocka_unit_test_setup(test_dead_letter_replay, reset),
        cmocka_unit_test_setup(test_replayed_run_end_pushed, reset),
        cmocka_unit_test_setup(test_401, reset),
        cmocka_unit_test_setup(test_tls_ca_bundle, reset),
        cmocka_unit_test_setup(test_no_token, reset),
        cmocka_unit_test_setup(test_whoami_public_gated, reset),
        cmocka_unit_test_setup(test_two_repos, reset),
        cmocka_unit_test_setup(test_incremental, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
