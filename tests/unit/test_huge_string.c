/* test_huge_string.c -- a 100 MB string value through jsonl and local-json
 * (issue #7, hostile inputs): each sink writes it whole, byte for byte, or
 * the event is refused with a message; either way the files stay whole
 * JSON and the sink goes on with the next event. EVT_TEST_SCALE_DIV=N
 * divides the size (CI's valgrind stage: 5 MB). */
#define _GNU_SOURCE /* memmem */
#include "test_util.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"

#define BIG_BYTES (100u * 1024 * 1024)

struct fx {
    char *dir;
    char *big;     /* the value: 'x' with a '"', a '\n' and a 'é' */
    size_t n;
    char *escaped; /* its JSON text, quotes excluded */
    size_t en;
};

static size_t scale_div(void)
{
    const char *s = getenv("EVT_TEST_SCALE_DIV");
    long d = s ? strtol(s, NULL, 10) : 1;
    return d > 1 ? (size_t)d : 1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->n = BIG_BYTES / scale_div();
    f->big = malloc(f->n);
    f->escaped = malloc(f->n + 8);
    assert_non_null(f->big);
    assert_non_null(f->escaped);
    memset(f->big, 'x', f->n);
    f->big[10] = '"';
    f->big[20] = '\n';
    memcpy(f->big + 30, "\xc3\xa9", 2); /* é, written raw */
    memcpy(f->escaped, f->big, 10);
    memcpy(f->escaped + 10, "\\\"", 2);
    memcpy(f->escaped + 12, f->big + 11, 9);
    memcpy(f->escaped + 21, "\\n", 2);
    memcpy(f->escaped + 23, f->big + 21, f->n - 21);
    f->en = f->n + 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->dir);
    free(f->big);
    free(f->escaped);
    free(f);
    return 0;
}

static evt_tracker *open_sink(const char *dir, const char *sink)
{
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"run_id\": \"run-1\", "
                        "\"sinks\": [%s]}", dir, sink);
    if (evt_open_json(json, dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(json);
    return t;
}

/* ---- finding and reading the output ---------------------------------------*/

static const char *want_suffix;
static char *found;

static int find_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t n = strlen(path), m = strlen(want_suffix);
    if (flag == FTW_F && n >= m && strcmp(path + n - m, want_suffix) == 0 &&
        !strstr(path, ".tmp.") && !found)
        found = strdup(path);
    return 0;
}

/* The one file under dir whose name ends with suffix (heap path). */
static char *find_file(const char *dir, const char *suffix)
{
    want_suffix = suffix;
    found = NULL;
    nftw(dir, find_one, 16, FTW_PHYS);
    if (!found)
        fail_msg("no *%s file under %s", suffix, dir);
    return found;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size >= 0);
    rewind(fp);
    char *s = malloc((size_t)size + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    s[size] = '\0';
    *len = (size_t)size;
    return s;
}

/* The number of times the value occurs, as JSON text, in s[0..n). */
static int occurrences(const struct fx *f, const char *s, size_t n)
{
    int count = 0;
    for (const char *p = s; p < s + n;) {
        const char *q = memmem(p, (size_t)(s + n - p), f->escaped, f->en);
        if (!q)
            break;
        assert_true(q > s && q[-1] == '"' && q[f->en] == '"');
        count++;
        p = q + f->en;
    }
    return count;
}

/* ---- jsonl ---------------------------------------------------------------*/

static void test_jsonl(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_sink(f->dir, "{\"plugin\": \"jsonl\"}");
    assert_int_equal(evt_log_json(t, EVT_EV_RUN_START,
                                  "{\"model_name\": \"org/m\", "
                                  "\"date\": \"20250101_120000\"}"),
                     EVT_OK);
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "big");
    evt_int(e, "doc_id", 0);
    evt_strn(e, "target", f->big, f->n);
    int rc = evt_commit(e);
    char msg[EVT_ERRMSG_SIZE] = "";
    if (rc != EVT_OK)
        assert_true(evt_last_error(t, msg, sizeof msg) > 0);
    assert_int_equal(evt_log_json(t, EVT_EV_SAMPLE, "{\"task\": \"big\", "
                                  "\"doc_id\": 1, \"target\": \"small\"}"),
                     EVT_OK);
    assert_int_equal(evt_flush(t, 120000), EVT_OK);
    assert_int_equal(evt_close(t, 120000), EVT_OK);

    char *path = find_file(f->dir, "_samples_big.jsonl");
    size_t len;
    char *text = slurp(path, &len);
    /* Whole lines only, each one JSON object. */
    assert_true(len > 0 && text[len - 1] == '\n');
    size_t lines = 0;
    for (char *p = text; p < text + len; lines++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        assert_non_null(nl);
        cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
        assert_non_null(j);
        cJSON_Delete(j);
        p = nl + 1;
    }
    print_message("[ huge_string ] jsonl: %zu MB value %s%s, %zu lines\n",
                  f->n >> 20, rc == EVT_OK ? "written" : "refused: ", msg,
                  lines);
    assert_int_equal(lines, rc == EVT_OK ? 2 : 1);
    assert_int_equal(occurrences(f, text, len), rc == EVT_OK ? 1 : 0);
    assert_non_null(strstr(text, "\"small\""));
    free(text);
    free(path);
}

/* ---- local-json ----------------------------------------------------------*/

static void test_local_json(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_sink(f->dir, "{\"plugin\": \"local-json\"}");
    evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
    evt_str(e, "model_name", "org/m");
    evt_str(e, "date", "20250101_120000");
    evt_map_begin(e, "config");
    evt_strn(e, "note", f->big, f->n);
    evt_map_end(e);
    int rc = evt_commit(e);
    char msg[EVT_ERRMSG_SIZE] = "";
    if (rc != EVT_OK)
        assert_true(evt_last_error(t, msg, sizeof msg) > 0);
    assert_int_equal(evt_log_result(t, "big", "acc", NULL, 0.5, 0.1, -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_flush(t, 120000), EVT_OK);
    assert_int_equal(evt_close(t, 120000), EVT_OK);

    char *path = find_file(f->dir, "_results.json");
    size_t len;
    char *text = slurp(path, &len);
    cJSON *j = cJSON_ParseWithLength(text, len);
    assert_non_null(j); /* whole JSON */
    cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(j, "results"), "big"), "acc,none");
    assert_true(cJSON_IsNumber(acc) && acc->valuedouble == 0.5);
    cJSON *note = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"),
                                      "note");
    if (rc == EVT_OK) {
        assert_true(cJSON_IsString(note));
        assert_int_equal(strlen(note->valuestring), f->n);
        assert_memory_equal(note->valuestring, f->big, f->n);
    } else {
        assert_null(note);
    }
    print_message("[ huge_string ] local-json: %zu MB value %s%s, results "
                  "file %zu MB\n", f->n >> 20,
                  rc == EVT_OK ? "written" : "refused: ", msg, len >> 20);
    assert_int_equal(occurrences(f, text, len), rc == EVT_OK ? 1 : 0);
    cJSON_Delete(j);
    free(text);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jsonl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
