/* fuzz_results.c -- the results writers: events (a run's run_start,
 * task_config, result, sample, run_end maps, as msgpack objects one after
 * the other in the input) aggregated by sdk/src/results.c, rendered as
 * the results JSON of each layout (sdk json_write.c), as msgpack, as a
 * cJSON tree, and as the Markdown table of each tool (sdk make_table.c,
 * what local-json and markdown-table write); plus the file names.
 * Invariants: strict JSON is JSON (cJSON parses it); a secret never
 * appears in any rendering; the file name and the folders under the
 * output folder are single safe components (never empty, ".", ".." or
 * holding a NUL). */
#include "fuzz_util.h"

#include <cjson/cJSON.h>
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/make_table.h"
#include "evtrack/sdk/results.h"
#include "mpcheck.h"

#define SECRET "hf_FuzzSecret4242"
#define MAX_EVENTS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void no_secret(const char *s, size_t n)
{
    if (s)
        FZ_CHECK(memmem(s, n, SECRET, strlen(SECRET)) == NULL);
}

/* The strings of a msgpack rendering (its raw bytes may spell the secret
 * across values, e.g. with fixints, without any string holding it). */
static void no_secret_mp(const struct evt_view *v)
{
    struct evt_buf t;
    struct evt_json_style st = {0, EVT_NAN_NULL, 0};
    evt_buf_init(&t);
    char err[256];
    int rc = evt_json_write(&t, &v->root, &st, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "msgpack rendering: %s\n", err);
    FZ_CHECK(rc == 0);
    no_secret(t.data, t.len);
    evt_buf_free(&t);
}

/* Each '/'-part of path is a safe component; path may be "" (none). */
static void check_path(const char *path, int may_be_empty)
{
    FZ_CHECK(path != NULL);
    if (!path[0]) {
        FZ_CHECK(may_be_empty);
        return;
    }
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        FZ_CHECK(n > 0);
        FZ_CHECK(!(n == 1 && p[0] == '.'));
        FZ_CHECK(!(n == 2 && p[0] == '.' && p[1] == '.'));
        if (!slash)
            break;
        p = slash + 1;
    }
}

/* The table of the tool whose layout o has (markdown-table's pairing). */
static void tables(const struct evt_results *r,
                   const struct evt_results_opts *o)
{
    char err[512];
    cJSON *dict = evt_results_to_cjson(r, o, err, sizeof err);
    FZ_CHECK(dict != NULL);
    enum evt_table_style s = o->layout == EVT_RESULTS_LM_EVAL
                                 ? EVT_TABLE_LM_EVAL
                             : o->layout == EVT_RESULTS_LIGHTEVAL
                                 ? EVT_TABLE_LIGHTEVAL
                                 : EVT_TABLE_LMMS_EVAL;
    static const char *const cols[] = {"results", "groups"};
    for (int c = 0; c < (s == EVT_TABLE_LIGHTEVAL ? 1 : 2); c++) {
        char *t = evt_make_table(dict, s, cols[c], err, sizeof err);
        if (t)
            no_secret(t, strlen(t));
        free(t);
    }
    cJSON_Delete(dict);
}

static void render(const struct evt_results *r, int layout, int nan,
                   int stamp)
{
    struct evt_results_opts o;
    memset(&o, 0, sizeof o);
    o.layout = (enum evt_results_layout)layout;
    o.nan = (enum evt_results_nan)nan;
    o.redact = layout == EVT_RESULTS_LMMS_EVAL;
    o.secrets[0] = SECRET;
    o.run_stamp = stamp ? "20240101_000000" : NULL;
    char err[512];
    struct evt_buf b;
    evt_buf_init(&b);
    /* Whatever events came in, the results file can be written. */
    int rc = evt_results_render_json(r, &o, &b, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "render_json: %s\n", err);
    FZ_CHECK(rc == 0);
    no_secret(b.data, b.len);
    if (nan == EVT_RESULTS_NAN_STRICT) {
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        FZ_CHECK(j != NULL);
        cJSON_Delete(j);
    }
    evt_buf_free(&b);
    evt_buf_init(&b);
    FZ_CHECK(evt_results_render_msgpack(r, &o, &b, err, sizeof err) == 0);
    struct evt_view v;
    FZ_CHECK(evt_view_open_bytes(&v, b.data, b.len) == 0);
    no_secret_mp(&v);
    evt_view_close(&v);
    evt_buf_free(&b);
    if (nan == EVT_RESULTS_NAN_STRICT)
        tables(r, &o);
    char *sub = NULL, *name = NULL;
    if (evt_results_file_path(r, &o, &sub, &name) == 0) {
        check_path(sub, 1);
        check_path(name, 0);
        FZ_CHECK(strchr(name, '/') == NULL);
        free(sub);
        free(name);
    }
}

static void run_start_subdir(const msgpack_object *ev)
{
    if (!evt_mp_str_eq(evt_mp_get(ev, "kind"), "run_start"))
        return;
    for (int layout = 0; layout < 3; layout++) {
        struct evt_results_opts o;
        memset(&o, 0, sizeof o);
        o.layout = (enum evt_results_layout)layout;
        char *sub = evt_run_model_subdir(ev, &o);
        FZ_CHECK(sub != NULL);
        check_path(sub, 1);
        free(sub);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evt_results *r = evt_results_new();
    FZ_CHECK(r != NULL);
    char err[512];
    size_t off = 0, used;
    /* Events one after the other; mpcheck finds where each ends (and
     * keeps msgpack-c from allocating for counts the bytes cannot hold). */
    for (int i = 0; i < MAX_EVENTS && off < size &&
                    evt__mp_check_from(data, size, off, &used, err,
                                       sizeof err) == 0;
         i++, off += used) {
        struct evt_view v;
        if (evt_view_open_bytes(&v, data + off, used) != 0)
            continue; /* not a map: no event can be one */
        int rc = evt_results_add(r, &v.root, err, sizeof err);
        FZ_CHECK(rc >= -1);
        run_start_subdir(&v.root);
        /* The bytes form must agree with the decoded one. */
        struct evt_results *a = evt_results_new(), *b = evt_results_new();
        FZ_CHECK(a != NULL && b != NULL);
        int ra = evt_results_add(a, &v.root, err, sizeof err);
        int rb = evt_results_add_bytes(b, data + off, used, err, sizeof err);
        FZ_CHECK(ra == rb);
        evt_results_free(a);
        evt_results_free(b);
        evt_view_close(&v);
    }
    for (int layout = 0; layout < 3; layout++)
        for (int nan = 0; nan < 2; nan++)
            render(r, layout, nan, layout == 1);
    evt_results_free(r);
    return 0;
}
