/* test_ingest.c -- `evtrack ingest`: every real results file of the shared
 * fixtures is replayed into local-json and its "results" come back with
 * the same keys, order and numbers (versions and n-shot too); the
 * lmms-eval MME samples come back byte for byte through jsonl; the
 * JSON-array ".jsonl" of the lm-eval 0.4.2 era is read; bad inputs exit 2
 * naming the file (and line), a failed sink exits 1.
 *
 * The shared folder is $EVT_TEST_SOURCE_DIR/../shared (CI has it). */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

/* ---- helpers ---------------------------------------------------------- */

static char *real_dir(void)
{
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    if (!src)
        fail_msg("EVT_TEST_SOURCE_DIR is not set (run the test with ctest)");
    char *dir = tu_fmt("%s/../shared/fixtures/real", src);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("the shared folder %s is missing: it holds the real "
                 "fixtures (CI has it next to the repository)", dir);
    closedir(d);
    return dir;
}

static char *read_real(const char *name)
{
    char *dir = real_dir();
    char *p = tu_fmt("%s/%s", dir, name);
    char *text = tu_read_file(p, NULL);
    if (!text)
        fail_msg("cannot read %s", p);
    free(p);
    free(dir);
    return text;
}

/* Copy a real fixture to dir/as. */
static void copy_real(const char *name, const char *dir, const char *as)
{
    char *text = read_real(name);
    char *p = tu_fmt("%s/%s", dir, as);
    tu_write_file(p, text);
    free(p);
    free(text);
}

/* Run evtrack ingest with config text cfg (written to dir/c.json). */
static struct tu_out ingest(const char *dir, const char *cfg, const char *paths)
{
    char *cpath = tu_fmt("%s/c.json", dir);
    tu_write_file(cpath, cfg);
    char *c = tu_fmt("%s/bin/evtrack ingest -c %s %s",
                     getenv("EVT_TEST_BUILD_DIR"), cpath, paths);
    struct tu_out o = tu_run(dir, c);
    free(c);
    free(cpath);
    return o;
}

/* The only file under dir (recursively) whose name matches glob. */
static char *find_one(const char *dir, const char *glob)
{
    char *c = tu_fmt("find %s/out -type f -name '%s' ! -name '*.tmp.*'", dir,
                     glob);
    struct tu_out o = tu_run(dir, c);
    free(c);
    assert_int_equal(o.code, 0);
    char *nl = strchr(o.text, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("expected one file %s under %s/out, found:\n%s", glob, dir,
                 o.text);
    *nl = '\0';
    return o.text;
}

/* ---- results of every real results file ------------------------------ */

static int skipped_key(const char *k)
{
    static const char *const names[] = {"alias", "name", "sample_len",
                                        "sample_count", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* The next member of the written entry that answers a source key:
 * evtrack's "N/A" placeholders for stderrs the source lacks are passed. */
static const cJSON *next_written(const cJSON *y, const cJSON *src_entry,
                                 int flat)
{
    for (; y; y = y->next) {
        if (skipped_key(y->string))
            continue;
        char *k = tu_fmt("%s", y->string);
        char *comma = strchr(k, ',');
        if (flat && comma)
            *comma = '\0';
        int in_src = cJSON_GetObjectItemCaseSensitive(src_entry, k) != NULL;
        free(k);
        if (in_src || !cJSON_IsString(y) || strcmp(y->valuestring, "N/A"))
            return y;
    }
    return NULL;
}

/* One task's entry: the source's metric keys, in order, with equal values.
 * Flat (v0.3, lighteval) keys "m" are written as "m,none". */
static void same_entry(const char *file, const cJSON *a, const cJSON *b)
{
    int flat = 1;
    for (const cJSON *x = a->child; x; x = x->next)
        flat &= strchr(x->string, ',') == NULL;
    const cJSON *y = next_written(b->child, a, flat);
    for (const cJSON *x = a->child; x; x = x->next) {
        if (skipped_key(x->string))
            continue;
        if (!y)
            fail_msg("%s: results.%s: %s missing", file, a->string, x->string);
        char *want = flat ? tu_fmt("%s,none", x->string)
                          : tu_fmt("%s", x->string);
        if (strcmp(want, y->string) != 0)
            fail_msg("%s: results.%s: key %s, want %s", file, a->string,
                     y->string, want);
        if (!cJSON_Compare(x, y, 1))
            fail_msg("%s: results.%s['%s'] differs", file, a->string, want);
        free(want);
        y = next_written(y->next, a, flat);
    }
    if (y)
        fail_msg("%s: results.%s: extra key %s", file, a->string, y->string);
}

static void same_results(const char *file, const cJSON *want,
                         const cJSON *got)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(want, "results");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(got, "results");
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    for (a = a->child, b = b->child; a; a = a->next, b = b->next) {
        assert_string_equal(a->string, b->string);
        same_entry(file, a, b);
    }
    static const char *const sections[] = {"versions", "n-shot", NULL};
    for (int i = 0; sections[i]; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(want, sections[i]);
        if (cJSON_GetArraySize(s) == 0)
            continue;
        if (!cJSON_Compare(s, cJSON_GetObjectItemCaseSensitive(got,
                                                               sections[i]),
                           1))
            fail_msg("%s: %s differs", file, sections[i]);
    }
}

static void roundtrip_one(const char *name)
{
    char *dir = tu_tmpdir(), *rd = real_dir();
    const char *layout = strncmp(name, "lmmseval", 8) == 0 ? "lmms-eval"
                                                            : "lm-eval";
    char *cfg = tu_fmt("{\"output_dir\": \"%s/out\", \"sinks\": [{\"plugin\":"
                       " \"local-json\", \"config\": {\"layout\": \"%s\"}}]}",
                       dir, layout);
    char *path = tu_fmt("%s/%s", rd, name);
    struct tu_out o = ingest(dir, cfg, path);
    if (o.code != 0)
        fail_msg("%s: exit %d:\n%s", name, o.code, o.text);
    char *got_path = find_one(dir, "*.json");
    char *want = read_real(name), *got = tu_read_file(got_path, NULL);
    cJSON *a = cJSON_Parse(want), *b = cJSON_Parse(got);
    assert_non_null(a);
    if (!b)
        fail_msg("%s: the written file does not parse:\n%s", name, got);
    same_results(name, a, b);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(want), free(got), free(got_path), free(o.text);
    free(path), free(cfg), free(rd);
    tu_rmtree(dir);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every *_results.json, and the v0.3 files of MANIFEST.md. */
static void test_every_real_results_file(void **state)
{
    (void)state;
    char *rd = real_dir(), *manifest = read_real("MANIFEST.md");
    DIR *d = opendir(rd);
    struct dirent *de;
    int count = 0, legacy = 0;
    while ((de = readdir(d))) {
        int v03 = strncmp(de->d_name, "lmeval_v0.3_", 12) == 0 &&
                  ends_with(de->d_name, ".json");
        if (!v03 && !ends_with(de->d_name, "_results.json"))
            continue;
        if (!strstr(manifest, de->d_name))
            fail_msg("%s is not in MANIFEST.md", de->d_name);
        roundtrip_one(de->d_name);
        count++;
        legacy += v03;
    }
    closedir(d);
    assert_true(count >= 16);
    assert_int_equal(legacy, 2);
    free(manifest);
    free(rd);
}

/* ---- samples ------------------------------------------------------------*/

/* A folder with lmms-eval's names: results + samples of one run; the
 * samples (and the results file) come back byte for byte. */
static void test_lmms_folder_samples_bytes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *in = tu_fmt("%s/in", dir);
    assert_int_equal(mkdir(in, 0700), 0);
    copy_real("lmmseval_v0.6_mme_limit8_results.json", in,
              "20260923_172512_results.json");
    copy_real("lmmseval_v0.6_mme_limit8_samples_mme.jsonl", in,
              "20260923_172512_samples_mme.jsonl");
    char *cfg = tu_fmt("{\"output_dir\": \"%s/out\", \"sinks\": ["
                       "{\"plugin\": \"local-json\"}, {\"plugin\": \"jsonl\","
                       " \"config\": {\"filter_key\": false}}]}", dir);
    struct tu_out o = ingest(dir, cfg, in);
    if (o.code != 0)
        fail_msg("exit %d:\n%s", o.code, o.text);
    assert_non_null(strstr(o.text, "lmms-eval, 1 tasks, 1 results, "
                                   "8 samples"));
    char *p = find_one(dir, "20260923_172512_samples_mme.jsonl");
    char *got = tu_read_file(p, NULL);
    char *want = read_real("lmmseval_v0.6_mme_limit8_samples_mme.jsonl");
    assert_string_equal(got, want);
    free(got), free(want), free(p);
    p = find_one(dir, "20260923_172512_results.json");
    got = tu_read_file(p, NULL);
    want = read_real("lmmseval_v0.6_mme_limit8_results.json");
    assert_string_equal(got, want);
    free(got), free(want), free(p), free(o.text), free(cfg), free(in);
    tu_rmtree(dir);
}

/* lm-eval 0.4.2 era: the samples ".jsonl" is one JSON array. */
static void test_json_array_samples(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *in = tu_fmt("%s/in", dir);
    assert_int_equal(mkdir(in, 0700), 0);
    const char *date = "2024-04-03T23-04-35.137071";
    char *rn = tu_fmt("results_%s.json", date);
    char *sn = tu_fmt("samples_wmdp_bio_%s.jsonl", date);
    copy_real("lmeval_0.4.2era_wmdp_group_no_nsamples_results.json", in, rn);
    copy_real("lmeval_0.4.2era_samples_wmdp_bio_JSONARRAY.jsonl", in, sn);
    char *cfg = tu_fmt("{\"output_dir\": \"%s/out\", \"sinks\": [{\"plugin\":"
                       " \"jsonl\", \"config\": {\"layout\": \"lm-eval\"}}]}",
                       dir);
    struct tu_out o = ingest(dir, cfg, in);
    if (o.code != 0)
        fail_msg("exit %d:\n%s", o.code, o.text);
    char *arr_text = read_real("lmeval_0.4.2era_samples_wmdp_bio_JSONARRAY.jsonl");
    cJSON *arr = cJSON_Parse(arr_text);
    assert_true(cJSON_IsArray(arr));
    int n = cJSON_GetArraySize(arr);
    assert_int_equal(n, 100);
    char *p = find_one(dir, sn);
    char *got = tu_read_file(p, NULL);
    assert_int_equal(tu_count_lines(got), (size_t)n);
    char *want = tu_fmt("%d samples", n);
    assert_non_null(strstr(o.text, want));
    cJSON_Delete(arr);
    free(want), free(got), free(p), free(arr_text), free(o.text), free(cfg);
    free(rn), free(sn), free(in);
    tu_rmtree(dir);
}

/* ---- errors and exit codes ---------------------------------------------*/

static void test_bad_inputs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *cfg = tu_fmt("{\"output_dir\": \"%s/out\", \"sinks\": [{\"plugin\":"
                       " \"local-json\"}]}", dir);
    char *paths = tu_fmt("%s/missing.json", dir);
    struct tu_out o = ingest(dir, cfg, paths);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "missing.json: cannot open"));
    free(o.text), free(paths);
    paths = tu_fmt("%s/notjson.json", dir);
    tu_write_file(paths, "hello, world\n");
    o = ingest(dir, cfg, paths);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "notjson.json:1: invalid JSON"));
    free(o.text), free(paths);
    paths = tu_fmt("%s/other.json", dir);
    tu_write_file(paths, "{\"a\": 1}");
    o = ingest(dir, cfg, paths);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "other.json: not a recognised results"));
    free(o.text), free(paths);
    /* a bad samples line: the file and line named, the rest still sent */
    char *in = tu_fmt("%s/in", dir);
    assert_int_equal(mkdir(in, 0700), 0);
    copy_real("lmmseval_v0.6_mme_limit8_results.json", in,
              "20260923_172512_results.json");
    paths = tu_fmt("%s/20260923_172512_samples_mme.jsonl", in);
    tu_write_file(paths, "{\"doc_id\": 0}\n{\"doc_id\": 1,,}\n\n"
                         "{\"target\": 2}\n");
    o = ingest(dir, cfg, in);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "samples_mme.jsonl:2: invalid JSON"));
    assert_non_null(strstr(o.text, "samples_mme.jsonl:4: sample event: "
                                   "missing required field \"doc_id\""));
    assert_non_null(strstr(o.text, "1 samples"));
    free(o.text), free(paths), free(in), free(cfg);
    tu_rmtree(dir);
}

static void test_usage_and_sink_failure(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *c = tu_fmt("%s/bin/evtrack ingest --help",
                     getenv("EVT_TEST_BUILD_DIR"));
    struct tu_out o = tu_run(dir, c);
    assert_int_equal(o.code, 0);
    assert_non_null(strstr(o.text, "usage: evtrack ingest -c CONFIG PATH"));
    free(o.text), free(c);
    c = tu_fmt("%s/bin/evtrack ingest x.json", getenv("EVT_TEST_BUILD_DIR"));
    o = tu_run(dir, c);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "usage: evtrack ingest"));
    free(o.text), free(c);
    c = tu_fmt("%s/bin/evtrack --help", getenv("EVT_TEST_BUILD_DIR"));
    o = tu_run(dir, c);
    assert_non_null(strstr(o.text, "  ingest -c CONFIG PATH..."));
    free(o.text), free(c);
    /* a sink that cannot start: its events are dead-lettered, exit 1 */
    char *cfg = tu_fmt("{\"output_dir\": \"%s/out\", \"state_dir\": "
                       "\"%s/state\", \"sinks\": [{\"plugin\": \"local-json\","
                       " \"config\": {\"layout\": \"bogus\"}}]}", dir, dir);
    char *rd = real_dir();
    char *path = tu_fmt("%s/lmeval_v0.3_bloom7b1_gsm8k_8-shot.json", rd);
    o = ingest(dir, cfg, path);
    assert_int_equal(o.code, 1);
    assert_non_null(strstr(o.text, "DISABLED"));
    free(o.text), free(path), free(rd), free(cfg);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_real_results_file),
        cmocka_unit_test(test_lmms_folder_samples_bytes),
        cmocka_unit_test(test_json_array_samples),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_usage_and_sink_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
