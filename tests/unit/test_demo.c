/* test_demo.c -- `evtrack demo`: the files it writes (results, samples,
 * table, TensorBoard event file, its config), what it prints, run stamps,
 * seed determinism, exit codes. Runs the built command
 * ($EVT_TEST_BUILD_DIR/bin/evtrack). */
#include "test_util.h"

#include <dirent.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/crc32c.h"

#define MODEL_DIR "evtrack__demo-model"
#define TB_PREFIX "events.out.tfevents."

struct out {
    int code;
    char *out; /* stdout */
    char *err; /* stderr */
};

/* Run "<evtrack> demo <args>" with stdout and stderr captured apart. */
static struct out run_demo(const char *dir, const char *args)
{
    char *o = tu_fmt("%s/demo.out", dir), *e = tu_fmt("%s/demo.err", dir);
    char *cmd = tu_fmt("%s/bin/evtrack demo %s >%s 2>%s </dev/null",
                       getenv("EVT_TEST_BUILD_DIR"), args, o, e);
    int st = system(cmd);
    struct out r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                    tu_read_file(o, NULL), tu_read_file(e, NULL)};
    assert_non_null(r.out);
    assert_non_null(r.err);
    free(cmd), free(o), free(e);
    return r;
}

static void out_free(struct out *r)
{
    free(r->out);
    free(r->err);
}

/* Stamped names in run order: "X_..." < "X_2_..." < "Y_..." (for X < Y,
 * stamps of one length). */
static int later(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la > lb : strcmp(a, b) > 0;
}

/* Names in dir ending with suffix, in run order; count in *n. */
static char **names_ending(const char *dir, const char *suffix, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t m = strlen(suffix);
    *n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t k = strlen(de->d_name);
        if (k < m || strcmp(de->d_name + k - m, suffix) != 0 ||
            strstr(de->d_name, ".tmp."))
            continue;
        v = realloc(v, (*n + 1) * sizeof *v);
        assert_non_null(v);
        v[(*n)++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    for (size_t i = 1; i < *n; i++) /* insertion sort: a handful */
        for (size_t j = i; j > 0 && later(v[j - 1], v[j]); j--) {
            char *x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return v;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Entries of dir (not "." and ".."); the count. */
static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("no folder %s", dir);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* The only entry of dir (fails when there are none or several). Heap. */
static char *only_entry(const char *dir)
{
    if (count_entries(dir) != 1)
        fail_msg("%zu entries in %s, want 1", count_entries(dir), dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *name = NULL;
    struct dirent *de;
    while (!name && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            name = strdup(de->d_name);
    closedir(d);
    assert_non_null(name);
    return name;
}

/* How many times needle (not empty) occurs in s. */
static size_t occurrences(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Whether data[0..n) holds the bytes of what[0..m). */
static int holds(const unsigned char *data, size_t n, const char *what,
                 size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(data + i, what, m) == 0)
            return 1;
    return 0;
}

/* An event file: TFRecord frames with valid masked CRC-32Cs up to its
 * end, the first one the file_version event ("brain.Event:2" as field 3,
 * after the wall_time double), and the results' scalars among the rest.
 * Returns the number of records. */
static size_t check_events_file(const char *path)
{
    size_t n = 0, off = 0, records = 0;
    unsigned char *b = (unsigned char *)tu_read_file(path, &n);
    if (!b)
        fail_msg("missing %s", path);
    while (off < n) {
        if (n - off < 12)
            fail_msg("%s: torn header at byte %zu", path, off);
        uint64_t len = le64(b + off);
        assert_int_equal(le32(b + off + 8), evt_crc32c_mask(evt_crc32c(
                                                0, b + off, 8)));
        if (len > n - off - 16)
            fail_msg("%s: torn record at byte %zu", path, off);
        const unsigned char *data = b + off + 12;
        assert_int_equal(le32(data + len),
                         evt_crc32c_mask(evt_crc32c(0, data, (size_t)len)));
        if (records == 0) {
            static const char version[] = "\x1a\x0d" "brain.Event:2";
            assert_true(len >= 24 && len < 128);
            assert_int_equal(data[0], 0x09); /* wall_time, a double */
            assert_true(holds(data, (size_t)len, version,
                              sizeof version - 1));
        }
        off += 16 + (size_t)len;
        records++;
    }
    static const char tag[] = "eval/demo_math/exact_match,strict-match";
    assert_true(holds(b, n, tag, sizeof tag - 1));
    free(b);
    return records;
}

/* <out>/tb/<run>/<the one event file>: its path, checked (a name of
 * TensorBoard's pattern, the first of this process: ".0"). Heap. */
static char *only_events_file(const char *out)
{
    char *tb = tu_fmt("%s/tb", out), *run = only_entry(tb);
    char *dir = tu_fmt("%s/%s", tb, run), *name = only_entry(dir);
    const char *secs = name + strlen(TB_PREFIX);
    assert_int_equal(strncmp(name, TB_PREFIX, strlen(TB_PREFIX)), 0);
    assert_int_equal(strspn(secs, "0123456789"), 10);
    assert_int_equal(secs[10], '.');
    assert_string_equal(name + strlen(name) - 2, ".0");
    char *path = tu_fmt("%s/%s", dir, name);
    /* file_version, then value and stderr of 5 results at least */
    assert_true(check_events_file(path) >= 11);
    free(name), free(dir), free(run), free(tb);
    return path;
}

/* The Sinks table of the output: the header and every row have their
 * columns at the same places (PLUGIN starts, WRITTEN ends, STATUS
 * starts), whatever the names' lengths. Returns the number of rows. */
static size_t check_sinks_table(const char *out)
{
    const char *t = strstr(out, "\nSinks\n");
    assert_non_null(t);
    t += strlen("\nSinks\n");
    const char *end = strstr(t, "\n\n"); /* or the end of the output */
    const char *hdr_end = strchr(t, '\n');
    end = end ? end + 1 : t + strlen(t);
    assert_non_null(hdr_end);
    size_t plugin = (size_t)(strstr(t, "PLUGIN") - t);
    size_t written = (size_t)(strstr(t, "WRITTEN") - t) + strlen("WRITTEN");
    size_t status = (size_t)(strstr(t, "STATUS") - t);
    assert_true(t + status < hdr_end);
    size_t rows = 0;
    for (const char *l = hdr_end + 1; l < end; rows++) {
        const char *nl = strchr(l, '\n');
        size_t len = (size_t)(nl - l);
        if (strstr(l, "dead letters:") && strstr(l, "dead letters:") < nl) {
            l = nl + 1; /* the dead-letter path under a failed sink */
            rows--;
            continue;
        }
        if (len <= status || l[plugin - 1] != ' ' || l[plugin] == ' ' ||
            l[written] != ' ' || l[written - 1] < '0' ||
            l[written - 1] > '9' || l[status - 1] != ' ' ||
            l[status] == ' ')
            fail_msg("misaligned row in the Sinks table:\n%.*s\n%.*s",
                     (int)(hdr_end - t), t, (int)len, l);
        l = nl + 1;
    }
    return rows;
}

/* The stamp of the only results file in <dir>/<model>. Heap. */
static char *only_stamp(const char *dir)
{
    char *sub = tu_fmt("%s/" MODEL_DIR, dir);
    size_t n;
    char **v = names_ending(sub, "_results.json", &n);
    if (n != 1)
        fail_msg("%zu results files in %s, want 1", n, sub);
    char *stamp = strdup(v[0]);
    stamp[strlen(stamp) - strlen("_results.json")] = '\0';
    names_free(v, n);
    free(sub);
    return stamp;
}

static cJSON *read_json(const char *path)
{
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("missing %s", path);
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s does not parse", path);
    free(text);
    return j;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("no member \"%s\"", key);
    return v;
}

static void expect_number(const cJSON *entry, const char *key)
{
    assert_true(cJSON_IsNumber(get(entry, key)));
}

/* Lines of a samples file, each parsed; returns the count. Lines of
 * demo_math carry both filters, the others "none". */
static size_t check_samples(const char *path, const char *metric)
{
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("missing %s", path);
    size_t n = 0, strict = 0;
    for (char *l = text; *l;) {
        char *nl = strchr(l, '\n');
        assert_non_null(nl); /* every line is complete */
        *nl = '\0';
        cJSON *j = cJSON_Parse(l);
        if (!j)
            fail_msg("%s line %zu does not parse", path, n + 1);
        assert_true(cJSON_IsNumber(get(j, "doc_id")));
        assert_true(cJSON_IsString(get(j, "target")));
        assert_true(cJSON_IsString(get(j, "input")));
        assert_true(cJSON_IsNumber(get(j, metric)));
        strict += strcmp(get(j, "filter")->valuestring, "strict-match") == 0;
        cJSON_Delete(j);
        n++;
        l = nl + 1;
    }
    if (strcmp(metric, "exact_match") == 0)
        assert_int_equal(strict * 2, n);
    free(text);
    return n;
}

static void check_results(const cJSON *root)
{
    const cJSON *res = get(root, "results");
    const cJSON *g = get(res, "demo_group");
    expect_number(g, "acc,none");
    expect_number(g, "acc_stderr,none");
    expect_number(get(res, "demo_mcq"), "acc,none");
    expect_number(get(res, "demo_yesno"), "acc,none");
    const cJSON *m = get(res, "demo_math");
    expect_number(m, "exact_match,strict-match");
    expect_number(m, "exact_match_stderr,strict-match");
    expect_number(m, "exact_match,flexible-extract");
    expect_number(m, "exact_match_stderr,flexible-extract");
    assert_string_equal(get(g, "alias")->valuestring, "demo_group");
    assert_string_equal(get(get(res, "demo_mcq"), "alias")->valuestring,
                        " - demo_mcq");
    expect_number(get(get(root, "groups"), "demo_group"), "acc,none");
    const char *tasks[] = {"demo_group", "demo_mcq", "demo_yesno",
                           "demo_math"};
    for (int i = 0; i < 4; i++) {
        expect_number(get(root, "versions"), tasks[i]);
        expect_number(get(root, "n-shot"), tasks[i]);
        get(get(root, "higher_is_better"), tasks[i]);
    }
    const cJSON *subs = get(get(root, "group_subtasks"), "demo_group");
    assert_int_equal(cJSON_GetArraySize(subs), 2);
    assert_string_equal(get(root, "model_name")->valuestring,
                        "evtrack/demo-model");
    assert_string_equal(get(root, "model_source")->valuestring, "demo");
}

/* n-samples of task (effective) */
static int n_samples(const cJSON *root, const char *task)
{
    const cJSON *ns = get(get(root, "n-samples"), task);
    assert_int_equal(get(ns, "original")->valueint,
                     get(ns, "effective")->valueint);
    return get(ns, "effective")->valueint;
}

/* The three samples files of stamp in <dir>/<model>: lines add up to
 * total and match n-samples (demo_math: one line per doc and filter). */
static void check_all_samples(const char *dir, const char *stamp,
                              const cJSON *root, size_t total)
{
    static const char *const tasks[][2] = {{"demo_mcq", "acc"},
                                           {"demo_yesno", "acc"},
                                           {"demo_math", "exact_match"}};
    size_t sum = 0;
    for (int i = 0; i < 3; i++) {
        char *p = tu_fmt("%s/" MODEL_DIR "/%s_samples_%s.jsonl", dir, stamp,
                         tasks[i][0]);
        size_t lines = check_samples(p, tasks[i][1]);
        assert_int_equal(lines, (size_t)n_samples(root, tasks[i][0]) *
                                    (i == 2 ? 2 : 1));
        sum += lines;
        free(p);
    }
    assert_int_equal(sum, total);
}

/* The default run: exit 0, results, samples, table, config copy, and the
 * report naming them; nothing on stderr when it is not a terminal. */
static void test_default_run(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *args = tu_fmt("-o %s/out", dir), *out = tu_fmt("%s/out", dir);
    struct out r = run_demo(dir, args);
    if (r.code != 0)
        fail_msg("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err);
    assert_string_equal(r.err, "");
    char *stamp = only_stamp(out);
    char *results = tu_fmt("%s/" MODEL_DIR "/%s_results.json", out, stamp);
    cJSON *root = read_json(results);
    check_results(root);
    check_all_samples(out, stamp, root, 1000);
    assert_string_equal(get(root, "date")->valuestring, stamp);
    const char *rows[] = {"|demo_group", "| - demo_mcq", "| - demo_yesno",
                          "|demo_math", "|strict-match", "|flexible-extract",
                          "|  Groups  |"};
    for (int i = 0; i < 7; i++)
        if (!strstr(r.out, rows[i]))
            fail_msg("no \"%s\" in the output:\n%s", rows[i], r.out);
    char *line = tu_fmt("  results     %s\n", results);
    assert_non_null(strstr(r.out, line));
    assert_true(strstr(r.out, line) > strstr(r.out, "|demo_math"));
    char *table = tu_fmt("%s/" MODEL_DIR "/%s_results_table.md", out, stamp);
    char *md = tu_read_file(table, NULL);
    assert_non_null(md);
    assert_non_null(strstr(md, "| - demo_yesno"));
    assert_non_null(strstr(r.out, table));
    assert_non_null(strstr(r.out, "_samples_demo_math.jsonl (300 lines)"));
    assert_non_null(strstr(r.out, "local-json"));
    assert_non_null(strstr(r.out, "DEAD-LETTERED"));
    char *cfg = tu_fmt("%s/evtrack-demo.json", out);
    cJSON_Delete(read_json(cfg));
    /* the event file: <out>/tb/<run id>/, listed after the table, with
     * the command that shows it */
    char *events = only_events_file(out);
    char *tb_line = tu_fmt("\n  tensorboard %s\n"
                           "              view it: tensorboard --logdir "
                           "%s/tb\n", events, out);
    if (!strstr(r.out, tb_line))
        fail_msg("no \"%s\" in the output:\n%s", tb_line, r.out);
    assert_true(strstr(r.out, tb_line) > strstr(r.out, table));
    /* its counters: run_start, 4 task_config, 5 result, run_end */
    assert_int_equal(check_sinks_table(r.out), 4);
    char *row = strstr(r.out, "\n  tensorboard-events tensorboard-events ");
    assert_non_null(row);
    unsigned long long written = 0, others[4] = {1, 1, 1, 1};
    char status[16] = "";
    assert_int_equal(sscanf(row, " %*s %*s %llu %llu %llu %llu %llu %15s",
                            &written, &others[0], &others[1], &others[2],
                            &others[3], status), 6);
    assert_int_equal(written, 11);
    for (int i = 0; i < 4; i++)
        assert_int_equal(others[i], 0);
    assert_string_equal(status, "ok");
    free(tb_line), free(events);
    free(md), free(table), free(line), free(cfg);
    cJSON_Delete(root);
    free(results), free(stamp), free(args), free(out);
    out_free(&r);
    tu_rmtree(dir);
}

/* Two runs into one folder, back to back: two results files and two
 * sets of samples files (never appended to). When both runs fell in the
 * same second the second one's stamp has "_2". */
static void test_two_runs_one_folder(void **state)
{
    (void)state;
    int same_second = 0;
    for (int attempt = 0; attempt < 5 && !same_second; attempt++) {
        char *dir = tu_tmpdir(), *out = tu_fmt("%s/out", dir);
        char *args = tu_fmt("-o %s --samples 100", out);
        struct out a = run_demo(dir, args), b = run_demo(dir, args);
        assert_int_equal(a.code, 0);
        assert_int_equal(b.code, 0);
        char *sub = tu_fmt("%s/" MODEL_DIR, out);
        size_t n;
        char **v = names_ending(sub, "_results.json", &n);
        assert_int_equal(n, 2);
        char *second = tu_fmt("%.*s_2_results.json",
                              (int)(strlen(v[0]) - strlen("_results.json")),
                              v[0]);
        same_second = strcmp(v[1], second) == 0;
        for (size_t i = 0; i < 2; i++) {
            char *p = tu_fmt("%s/%s", sub, v[i]);
            cJSON *root = read_json(p);
            v[i][strlen(v[i]) - strlen("_results.json")] = '\0';
            check_all_samples(out, v[i], root, 100);
            char *listed = tu_fmt("%s_samples_demo_mcq.jsonl (40 lines)",
                                  v[i]);
            assert_non_null(strstr(i ? b.out : a.out, listed));
            free(listed);
            cJSON_Delete(root);
            free(p);
        }
        names_free(v, n);
        char *tb = tu_fmt("%s/tb", out), *listed = tu_fmt("  tensorboard %s/",
                                                         tb);
        assert_int_equal(count_entries(tb), 2); /* one folder per run id */
        assert_int_equal(occurrences(a.out, listed), 1);
        assert_int_equal(occurrences(b.out, listed), 1);
        free(listed), free(tb);
        free(second), free(sub), free(args), free(out);
        out_free(&a);
        out_free(&b);
        tu_rmtree(dir);
    }
    if (!same_second)
        print_message("note: the two runs never fell in the same second\n");
}

static cJSON *results_of(const char *dir, const char *args)
{
    struct out r = run_demo(dir, args);
    assert_int_equal(r.code, 0);
    out_free(&r);
    char *out = tu_fmt("%s/out", dir), *stamp = only_stamp(out);
    char *p = tu_fmt("%s/" MODEL_DIR "/%s_results.json", out, stamp);
    cJSON *root = read_json(p);
    cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(root, "results");
    cJSON_Delete(root);
    free(p), free(stamp), free(out);
    return res;
}

/* The same seed gives the same results section (and samples); another
 * seed gives other values. */
static void test_seed_determinism(void **state)
{
    (void)state;
    char *d1 = tu_tmpdir(), *d2 = tu_tmpdir(), *d3 = tu_tmpdir();
    char *a1 = tu_fmt("-o %s/out --seed 42 --samples 300", d1);
    char *a2 = tu_fmt("-o %s/out --samples 300 --seed 42", d2);
    char *a3 = tu_fmt("-o %s/out --seed 43 --samples 300", d3);
    cJSON *r1 = results_of(d1, a1), *r2 = results_of(d2, a2),
          *r3 = results_of(d3, a3);
    char *t1 = cJSON_Print(r1), *t2 = cJSON_Print(r2), *t3 = cJSON_Print(r3);
    assert_string_equal(t1, t2);
    assert_string_not_equal(t1, t3);
    free(t1), free(t2), free(t3);
    cJSON_Delete(r1), cJSON_Delete(r2), cJSON_Delete(r3);
    free(a1), free(a2), free(a3);
    tu_rmtree(d1), tu_rmtree(d2), tu_rmtree(d3);
}

static void test_usage(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *bad[] = {"--bogus", "--samples", "--samples 9",
                         "--samples 10x", "--samples -5", "--seed -1",
                         "--seed abc", "-o", "-c", "extra", "-o ''"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct out r = run_demo(dir, bad[i]);
        if (r.code != 2 || !strstr(r.err, "usage: evtrack demo"))
            fail_msg("\"%s\": exit %d, stderr:\n%s", bad[i], r.code, r.err);
        out_free(&r);
    }
    struct out r = run_demo(dir, "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: evtrack demo [-c CONFIG] [-o DIR]"));
    assert_non_null(strstr(r.out, "tensorboard-events"));
    out_free(&r);
    r = run_demo(dir, "-c /nonexistent/evtrack.json");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "cannot open"));
    out_free(&r);
    tu_rmtree(dir);
}

/* -c: the config's output_dir (relative to the config's folder); -o
 * overrides it. A sink that fails makes the exit code 1 and is reported
 * with its dead letters. */
static void test_user_config(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *cfg = tu_fmt("%s/c.json", dir);
    char *text = tu_fmt("{\"output_dir\": \"from-config\", \"sinks\": ["
                        "{\"plugin\": \"local-json\"}, {\"name\": \"broken\", "
                        "\"path\": \"%s/test_sink.so\", \"config\": "
                        "{\"fail\": \"write\"}}]}", tu_fixture_dir());
    tu_write_file(cfg, text);
    char *args = tu_fmt("-c %s --samples 50", cfg);
    struct out r = run_demo(dir, args);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "DISABLED"));
    assert_non_null(strstr(r.out, "rejected/broken.spool"));
    assert_int_equal(check_sinks_table(r.out), 2);
    char *sub = tu_fmt("%s/from-config/" MODEL_DIR, dir);
    size_t n;
    char **v = names_ending(sub, "_results.json", &n);
    assert_int_equal(n, 1);
    names_free(v, n);
    out_free(&r);
    free(args);
    args = tu_fmt("-c %s --samples 50 -o %s/override", cfg, dir);
    r = run_demo(dir, args);
    assert_int_equal(r.code, 1);
    char *sub2 = tu_fmt("%s/override/" MODEL_DIR, dir);
    v = names_ending(sub2, "_results.json", &n);
    assert_int_equal(n, 1);
    names_free(v, n);
    out_free(&r);
    free(sub2), free(sub), free(args), free(text), free(cfg);
    tu_rmtree(dir);
}

/* -c with a fixed run_id and a logdir of its own: both runs write into
 * one run folder, and each lists only the event file it wrote (a sink
 * name longer than the default columns keeps the table aligned). */
static void test_tb_fixed_run_id(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *cfg = tu_fmt("%s/c.json", dir);
    tu_write_file(cfg, "{\"output_dir\": \"o\", \"run_id\": \"fixed-run\", "
                       "\"sinks\": [{\"name\": \"a-tensorboard-sink-24chars\", "
                       "\"plugin\": \"tensorboard-events\", \"config\": "
                       "{\"logdir\": \"runs\"}}]}");
    char *args = tu_fmt("-c %s --samples 10", cfg);
    struct out a = run_demo(dir, args), b = run_demo(dir, args);
    assert_int_equal(a.code, 0);
    assert_int_equal(b.code, 0);
    char *run = tu_fmt("%s/o/runs/fixed-run", dir);
    assert_int_equal(count_entries(run), 2);
    char *listed = tu_fmt("  tensorboard %s/", run);
    const struct out *outs[] = {&a, &b};
    char *first = NULL;
    for (int i = 0; i < 2; i++) {
        const char *o = outs[i]->out;
        assert_int_equal(occurrences(o, listed), 1);
        const char *p = strstr(o, listed) + strlen(listed);
        char *name = strndup(p, strcspn(p, "\n"));
        char *path = tu_fmt("%s/%s", run, name);
        check_events_file(path);
        if (first)
            assert_string_not_equal(first, name);
        free(path);
        if (first)
            free(name);
        else
            first = name;
        char *hint = tu_fmt("view it: tensorboard --logdir %s/o/runs\n",
                            dir);
        assert_non_null(strstr(o, hint));
        free(hint);
        assert_int_equal(check_sinks_table(o), 1);
        assert_non_null(strstr(o, "\n  a-tensorboard-sink-24chars "
                                  "tensorboard-events       11 "));
    }
    free(first), free(listed), free(run), free(args), free(cfg);
    out_free(&a);
    out_free(&b);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_run),
        cmocka_unit_test(test_two_runs_one_folder),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_user_config),
        cmocka_unit_test(test_tb_fixed_run_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
