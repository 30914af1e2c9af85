/* test_make_table.c -- evt_make_table() against the shared make_table
 * vectors and the real results/table pairs, purity, missing maps, and the
 * `evtrack table` command.
 *
 * The shared folder is $EVT_TEST_SOURCE_DIR/../shared (CI has it). */
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/make_table.h"

/* ---- helpers ---------------------------------------------------------- */

static cJSON *parse_shared(const char *rel)
{
    char *text = tu_read_shared(rel);
    cJSON *v = cJSON_Parse(text);
    if (!v)
        fail_msg("%s is not valid JSON", rel);
    free(text);
    return v;
}

/* One side of a mismatch, a line per line, with '$' at each line end. */
static void dump(const char *tag, const char *s)
{
    print_message("---- %s ----\n", tag);
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        print_message("%.*s%s\n", (int)n, s, nl ? "$" : "   (no newline)");
        s += n + (nl ? 1 : 0);
    }
}

/* 1 when byte-equal, else 0 after a diff-friendly report naming what. */
static int same_or_report(const char *what, const char *want, const char *got)
{
    if (got && strcmp(want, got) == 0)
        return 1;
    size_t i = 0, line = 1;
    while (got && want[i] && want[i] == got[i])
        line += want[i++] == '\n';
    print_message("MISMATCH in %s: first difference at byte %zu (line %zu)\n",
                  what, i, line);
    dump("expected", want);
    dump("got", got ? got : "(NULL)");
    return 0;
}

static void expect_same(const char *what, const char *want, const char *got)
{
    if (!same_or_report(what, want, got))
        fail_msg("%s: rendered table differs", what);
}

/* Render and check that the input is unchanged. */
static char *render_pure(const char *what, const cJSON *in,
                         enum evt_table_style style, const char *column)
{
    char err[256] = "";
    char *before = cJSON_PrintUnformatted(in);
    char *s = evt_make_table(in, style, column, err, sizeof err);
    char *after = cJSON_PrintUnformatted(in);
    if (!s)
        fail_msg("%s: evt_make_table failed: %s", what, err);
    if (strcmp(before, after) != 0)
        fail_msg("%s: the input was modified by rendering", what);
    cJSON_free(before);
    cJSON_free(after);
    return s;
}

static enum evt_table_style style_of(const char *name)
{
    enum evt_table_style st;
    if (evt_table_style_from_name(name, &st) != 0)
        fail_msg("unknown style \"%s\"", name);
    return st;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of vectors/make_table, sorted (heap; free each). */
static char **vector_files(size_t *n)
{
    char *dir = tu_shared_path("vectors/make_table");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    char **names = NULL;
    size_t cnt = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        names = realloc(names, (cnt + 1) * sizeof *names);
        assert_non_null(names);
        names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    free(dir);
    qsort(names, cnt, sizeof *names, cmp_names);
    *n = cnt;
    return names;
}

/* ---- the vectors ------------------------------------------------------ */

/* 1 when the vector renders byte-equal (else reported). */
static int check_vector(const char *name)
{
    char *rel = tu_fmt("vectors/make_table/%s", name);
    cJSON *v = parse_shared(rel);
    cJSON *style = cJSON_GetObjectItemCaseSensitive(v, "style");
    cJSON *column = cJSON_GetObjectItemCaseSensitive(v, "column");
    cJSON *input = cJSON_GetObjectItemCaseSensitive(v, "input");
    cJSON *want = cJSON_GetObjectItemCaseSensitive(v, "expected");
    if (!cJSON_IsString(style) || !cJSON_IsString(column) ||
        !cJSON_IsObject(input) || !cJSON_IsString(want))
        fail_msg("%s: not a make_table vector", name);
    char *got = render_pure(name, input, style_of(style->valuestring),
                            column->valuestring);
    int ok = same_or_report(name, want->valuestring, got);
    free(got);
    cJSON_Delete(v);
    free(rel);
    return ok;
}

static void test_every_vector(void **state)
{
    (void)state;
    size_t n, bad = 0;
    char **names = vector_files(&n);
    assert_true(n >= 22); /* the README lists 22 */
    for (size_t i = 0; i < n; i++) {
        bad += !check_vector(names[i]);
        free(names[i]);
    }
    free(names);
    if (bad)
        fail_msg("%zu of %zu make_table vectors differ (see above)", bad, n);
    print_message("%zu make_table vectors byte-equal\n", n);
}

/* ---- real results/table pairs (fixtures/real/MANIFEST.md) --------------- */

/* The table part of a console excerpt: from the first line that starts
 * with '|' to the end, less the one "\n" that print() added. */
static char *table_part(const char *rel)
{
    char *log = tu_read_shared(rel);
    const char *start = log[0] == '|' ? log : strstr(log, "\n|");
    if (!start)
        fail_msg("%s: no table line", rel);
    start += start[0] == '\n';
    size_t n = strlen(start);
    if (n < 2 || start[n - 1] != '\n' || start[n - 2] != '\n')
        fail_msg("%s: the excerpt does not end with print()'s blank line",
                 rel);
    char *part = tu_fmt("%.*s", (int)(n - 1), start);
    free(log);
    return part;
}

static void check_pair(const char *results, const char *table,
                       const char *style, const char *column)
{
    cJSON *in = parse_shared(results);
    char *want = table_part(table);
    char *got = render_pure(results, in, style_of(style), column);
    expect_same(table, want, got);
    free(got);
    free(want);
    cJSON_Delete(in);
}

/* P1 (lm-eval, PR 1991 console log) and P5 (lmms-eval v0.6 run.log, with
 * its Throughput Summary): the whole results files as they were saved. */
static void test_real_pairs(void **state)
{
    (void)state;
    check_pair("fixtures/real/lmeval_pr1991_gemma7b_halftruth_results.json",
               "fixtures/real/lmeval_pr1991_gemma7b_halftruth_table.txt",
               "lm-eval", "results");
    check_pair("fixtures/real/lmmseval_v0.6_mme_limit8_results.json",
               "fixtures/real/lmmseval_v0.6_mme_limit8_table.txt",
               "lmms-eval", "results");
}

/* lm-eval's golden files (tests/testdata/...txt) are make_table() output
 * stored without the final "\n"; the golden_* vectors hold inputs that
 * reproduce them. */
static void test_lmeval_golden_files(void **state)
{
    (void)state;
    static const char *const tasks[] = {"ai2_arc", "lambada", "mmlu_stem"};
    static const char *const files[] = {"ai2_arc", "lambada_openai",
                                        "mmlu_stem"};
    for (size_t i = 0; i < 3; i++) {
        char *vrel = tu_fmt("vectors/make_table/golden_%s.json", tasks[i]);
        char *trel = tu_fmt("fixtures/real/lmeval_testdata_%s_10_pythia14m_"
                            "table.txt", files[i]);
        cJSON *v = parse_shared(vrel);
        char *golden = tu_read_shared(trel);
        char *want = tu_fmt("%s\n", golden);
        char *got = render_pure(trel, cJSON_GetObjectItem(v, "input"),
                                EVT_TABLE_LM_EVAL, "results");
        expect_same(trel, want, got);
        free(got), free(want), free(golden), free(vrel), free(trel);
        cJSON_Delete(v);
    }
}

/* The real lighteval 0.13.0 file keeps '|' in its task keys; the table
 * is made after generate_final_dict() turns them into ':'. */
static void test_lighteval_raw_file(void **state)
{
    (void)state;
    cJSON *in =
        parse_shared("fixtures/real/lighteval_0.13.0_dummy_smoke_results.json");
    cJSON *v = parse_shared("vectors/make_table/lighteval_smoke.json");
    char *got = render_pure("lighteval raw file", in, EVT_TABLE_LIGHTEVAL,
                            "results");
    expect_same("lighteval_0.13.0_dummy_smoke_results.json",
                cJSON_GetObjectItem(v, "expected")->valuestring, got);
    free(got);
    cJSON_Delete(v);
    cJSON_Delete(in);
}

/* ---- P2/P3: an older lm-eval layout; the cells must still agree ------- */

#define MAX_FIELDS 5

/* The cells of one "|a|b|...|" line, trimmed, into f (at most n). */
static size_t split_line(const char *line, char f[][160], size_t n)
{
    size_t k = 0;
    const char *p = line + 1;
    while (*p && *p != '\n' && k < n) {
        const char *bar = p;
        while (*bar && *bar != '|' && *bar != '\n')
            bar++;
        const char *a = p, *b = bar;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        snprintf(f[k++], 160, "%.*s", (int)(b - a), a);
        p = *bar == '|' ? bar + 1 : bar;
        if (*p == '\n' || !*p)
            break;
    }
    return k;
}

/* "Filter|n-shot|Metric|Value|Stderr" of every data row of the table
 * whose header starts at *s, sorted; *s moves past the table. */
static char **table_rows(const char **s, size_t *n)
{
    static const char *const want[MAX_FIELDS] = {"Filter", "n-shot",
                                                 "Metric", "Value", "Stderr"};
    char f[24][160];
    size_t idx[MAX_FIELDS], nf = split_line(*s, f, 24), cnt = 0;
    for (size_t w = 0; w < MAX_FIELDS; w++) {
        idx[w] = 99;
        for (size_t j = 0; j < nf; j++)
            if (strcmp(f[j], want[w]) == 0)
                idx[w] = j;
        assert_true(idx[w] < nf);
    }
    char **rows = NULL;
    const char *line = strchr(*s, '\n') + 1;
    line = strchr(line, '\n') + 1; /* past the separator */
    for (; line[0] == '|'; line = strchr(line, '\n') + 1) {
        size_t k = split_line(line, f, 24);
        rows = realloc(rows, (cnt + 1) * sizeof *rows);
        assert_non_null(rows);
        rows[cnt++] = tu_fmt("%s|%s|%s|%s|%s", f[idx[0]], f[idx[1]],
                             f[idx[2]], f[idx[3]], f[idx[4]]);
        assert_true(k == nf);
    }
    qsort(rows, cnt, sizeof *rows, cmp_names);
    *s = line;
    *n = cnt;
    return rows;
}

static void same_rows(const char *what, const char **want_at, const char *got)
{
    size_t nw, ng;
    char **w = table_rows(want_at, &nw), **g = table_rows(&got, &ng);
    if (nw != ng)
        fail_msg("%s: %zu rows printed, %zu rendered", what, nw, ng);
    for (size_t i = 0; i < nw; i++) {
        if (strcmp(w[i], g[i]) != 0)
            fail_msg("%s: printed \"%s\", rendered \"%s\"", what, w[i], g[i]);
        free(w[i]), free(g[i]);
    }
    free(w), free(g);
}

/* MagicPiG's tables come from a 0.4.2-era lm-eval (no arrow column,
 * results order, "N/A" versions), so they cannot be byte-equal to the
 * current make_table; every printed Filter/n-shot/Metric/Value/Stderr
 * cell must still be rendered the same. */
static void test_older_lmeval_pairs_same_cells(void **state)
{
    (void)state;
    static const char *const base[] = {"magicpig_lmeval_gsm8k_cot_coqa",
                                       "magicpig_lmeval_mmlu_flan_cot_groups"};
    for (size_t i = 0; i < 2; i++) {
        char *jrel = tu_fmt("fixtures/real/%s_results.json", base[i]);
        char *trel = tu_fmt("fixtures/real/%s_table.txt", base[i]);
        cJSON *in = parse_shared(jrel);
        char *want = table_part(trel);
        const char *at = want;
        char *got = render_pure(jrel, in, EVT_TABLE_LM_EVAL, "results");
        same_rows(trel, &at, got);
        free(got);
        if (cJSON_GetObjectItem(in, "groups")) {
            at = strstr(at, "\n|") + 1; /* the Groups table */
            got = render_pure(jrel, in, EVT_TABLE_LM_EVAL, "groups");
            same_rows(trel, &at, got);
            free(got);
        }
        free(want), free(jrel), free(trel);
        cJSON_Delete(in);
    }
}

/* ---- missing maps, edge cells, errors ------------------------------------ */

static void expect_table(const char *what, const char *json,
                         enum evt_table_style style, const char *column,
                         const char *want)
{
    cJSON *in = cJSON_Parse(json);
    assert_non_null(in);
    char *got = render_pure(what, in, style, column);
    expect_same(what, want, got);
    free(got);
    cJSON_Delete(in);
}

/* No n-shot, higher_is_better or versions map (upstream crashes on the
 * first): blank n-shot, no arrow, "    N/A" / blank versions. No groups:
 * the header and separator only. */
static void test_missing_maps(void **state)
{
    (void)state;
    const char *in = "{\"results\": {\"t\": {\"acc,none\": 0.5, "
                     "\"acc_stderr,none\": 0.01}}}";
    expect_table("lmms no maps", in, EVT_TABLE_LMMS_EVAL, "results",
                 "|Tasks|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|-----|------|------|------|---|----:|---|-----:|\n"
                 "|t    |none  |      |acc   |   |  0.5|\xc2\xb1  |  0.01|\n");
    expect_table("lmms no groups", in, EVT_TABLE_LMMS_EVAL, "groups",
                 "|Groups|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|------|------|------|------|---|-----|---|------|\n");
    expect_table("lm-eval no maps", in, EVT_TABLE_LM_EVAL, "results",
                 "|Tasks|Version|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|-----|-------|------|------|------|---|----:|---|-----:|\n"
                 "|t    |    N/A|none  |      |acc   |   |  0.5|\xc2\xb1  |"
                 "  0.01|\n");
    expect_table("lm-eval no groups", in, EVT_TABLE_LM_EVAL, "groups",
                 "|Groups|Version|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|------|-------|------|------|------|---|-----|---|------|\n");
    expect_table("lighteval no versions",
                 "{\"results\": {\"a|0\": {\"acc\": 0.5, "
                 "\"acc_stderr\": 0.01}}}",
                 EVT_TABLE_LIGHTEVAL, "results",
                 "|Task|Version|Metric|Value|   |Stderr|\n"
                 "|----|-------|------|----:|---|-----:|\n"
                 "|a:0 |       |acc   |  0.5|\xc2\xb1  |  0.01|\n");
    expect_table("no results at all", "{}", EVT_TABLE_LMMS_EVAL, NULL,
                 "|Tasks|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|-----|------|------|------|---|-----|---|------|\n");
}

/* A NaN metric (formatted "nan", typed NAN) makes the Value column REAL. */
static void test_nan_value(void **state)
{
    (void)state;
    cJSON *in = cJSON_Parse("{\"results\": {\"t\": {\"a,none\": 0.5}}, "
                            "\"n-shot\": {\"t\": 0}}");
    assert_non_null(in);
    cJSON_AddItemToObject(cJSON_GetObjectItem(in, "results")->child,
                          "b,none", cJSON_CreateNumber(NAN));
    char *got = render_pure("nan", in, EVT_TABLE_LMMS_EVAL, "results");
    expect_same("nan value",
                "|Tasks|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                "|-----|------|-----:|------|---|----:|---|------|\n"
                "|t    |none  |     0|a     |   |  0.5|\xc2\xb1  |N/A   |\n"
                "|t    |none  |     0|b     |   |  NaN|\xc2\xb1  |N/A   |\n",
                got);
    free(got);
    cJSON_Delete(in);
}

/* Tabs become two spaces; '|' is escaped after padding (the line grows). */
static void test_pipe_and_tab(void **state)
{
    (void)state;
    expect_table("pipe and tab",
                 "{\"results\": {\"t\": {\"alias\": \"a|b\\tc\", "
                 "\"acc,none\": 0.25}}, \"n-shot\": {\"t\": 0}}",
                 EVT_TABLE_LMMS_EVAL, "results",
                 "|Tasks |Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|------|------|-----:|------|---|----:|---|------|\n"
                 "|a\\|b  c|none  |     0|acc   |   | 0.25|\xc2\xb1  |N/A   |\n");
}

/* Raw float and int versions share the column's places; 0 is False. */
static void test_lmeval_versions_and_arrows(void **state)
{
    (void)state;
    expect_table("versions",
                 "{\"results\": {\"a\": {\"acc,none\": 0.5}, "
                 "\"b\": {\"acc,none\": 0.25}}, "
                 "\"versions\": {\"a\": 1.5, \"b\": 2}, "
                 "\"n-shot\": {\"a\": 0, \"b\": 0}, "
                 "\"higher_is_better\": {\"a\": {\"acc\": true}, "
                 "\"b\": {\"acc\": 0}}}",
                 EVT_TABLE_LM_EVAL, "results",
                 "|Tasks|Version|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|-----|------:|------|-----:|------|---|----:|---|------|\n"
                 "|a    |    1.5|none  |     0|acc   |\xe2\x86\x91  | 0.50|"
                 "   |      |\n"
                 "|b    |    2.0|none  |     0|acc   |\xe2\x86\x93  | 0.25|"
                 "   |      |\n");
}

/* A group_subtasks cycle has no root: its tasks come out sorted. */
static void test_group_cycle(void **state)
{
    (void)state;
    expect_table("cycle",
                 "{\"results\": {\"b\": {\"x,none\": 1}, \"a\": "
                 "{\"x,none\": 2}}, \"group_subtasks\": {\"a\": [\"b\"], "
                 "\"b\": [\"a\", \"a\"]}, \"n-shot\": {\"a\": 1, \"b\": 1}}",
                 EVT_TABLE_LM_EVAL, "results",
                 "|Tasks|Version|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                 "|-----|-------|------|-----:|------|---|----:|---|------|\n"
                 "|a    |    N/A|none  |     1|x     |   |    2|   |      |\n"
                 "|b    |    N/A|none  |     1|x     |   |    1|   |      |\n");
}

static void test_errors_and_names(void **state)
{
    (void)state;
    char err[128] = "";
    cJSON *arr = cJSON_CreateArray(), *obj = cJSON_CreateObject();
    assert_null(evt_make_table(arr, EVT_TABLE_LM_EVAL, "results", err,
                               sizeof err));
    assert_true(err[0] != '\0');
    err[0] = '\0';
    assert_null(evt_make_table(obj, EVT_TABLE_LM_EVAL, "tasks", err,
                               sizeof err));
    assert_non_null(strstr(err, "tasks"));
    assert_null(evt_make_table(obj, EVT_TABLE_LIGHTEVAL, "groups", err,
                               sizeof err));
    assert_null(evt_make_table(NULL, EVT_TABLE_LIGHTEVAL, "results", NULL, 0));
    enum evt_table_style st = EVT_TABLE_LIGHTEVAL;
    assert_int_equal(evt_table_style_from_name("lmms-eval", &st), 0);
    assert_int_equal(st, EVT_TABLE_LMMS_EVAL);
    assert_int_equal(evt_table_style_from_name("lm-eval", &st), 0);
    assert_int_equal(st, EVT_TABLE_LM_EVAL);
    assert_int_equal(evt_table_style_from_name("lighteval", &st), 0);
    assert_int_equal(st, EVT_TABLE_LIGHTEVAL);
    assert_int_equal(evt_table_style_from_name("lm_eval", &st), -1);
    assert_int_equal(evt_table_style_from_name(NULL, &st), -1);
    cJSON_Delete(arr);
    cJSON_Delete(obj);
}

/* ---- the evtrack table command ------------------------------------------ */

struct run_out {
    int code;
    char *out, *err;
};

static struct run_out run_cli(const char *dir, const char *args)
{
    char *o = tu_fmt("%s/stdout", dir), *e = tu_fmt("%s/stderr", dir);
    char *cmd = tu_fmt("%s/bin/evtrack %s >%s 2>%s",
                       getenv("EVT_TEST_BUILD_DIR"), args, o, e);
    int st = system(cmd);
    struct run_out r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                        tu_read_file(o, NULL), tu_read_file(e, NULL)};
    assert_non_null(r.out);
    assert_non_null(r.err);
    free(cmd), free(o), free(e);
    return r;
}

static void free_run(struct run_out *r)
{
    free(r->out);
    free(r->err);
}

/* The vector's input as a file in dir; its expected text in *want. */
static char *vector_input_file(const char *dir, const char *name,
                               char **want)
{
    char *rel = tu_fmt("vectors/make_table/%s", name);
    cJSON *v = parse_shared(rel);
    char *text = cJSON_Print(cJSON_GetObjectItem(v, "input"));
    char *path = tu_fmt("%s/%s", dir, name);
    tu_write_file(path, text);
    *want = strdup(cJSON_GetObjectItem(v, "expected")->valuestring);
    cJSON_free(text);
    cJSON_Delete(v);
    free(rel);
    return path;
}

static void expect_cli_table(const char *dir, const char *args,
                             const char *want)
{
    struct run_out r = run_cli(dir, args);
    if (r.code != 0)
        fail_msg("evtrack %s: exit %d: %s", args, r.code, r.err);
    expect_same(args, want, r.out);
    assert_string_equal(r.err, "");
    free_run(&r);
}

static void test_cli_prints_the_table(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *want_e, *want_g, *want_l;
    char *e = vector_input_file(dir, "lmms_E.json", &want_e);
    char *g = vector_input_file(dir, "lmms_C_groups.json", &want_g);
    char *l = vector_input_file(dir, "lmeval_B.json", &want_l);
    char *args = tu_fmt("table %s", e);
    expect_cli_table(dir, args, want_e); /* default: lmms-eval results */
    free(args);
    args = tu_fmt("table --style lmms-eval --column results %s", e);
    expect_cli_table(dir, args, want_e);
    free(args);
    args = tu_fmt("table --column groups %s --style lmms-eval", g);
    expect_cli_table(dir, args, want_g);
    free(args);
    args = tu_fmt("table --style lm-eval %s", l);
    expect_cli_table(dir, args, want_l);
    free(args);
    free(e), free(g), free(l), free(want_e), free(want_g), free(want_l);
    tu_rmtree(dir);
}

static void expect_cli_fails(const char *dir, const char *args, int code,
                             const char *needle)
{
    struct run_out r = run_cli(dir, args);
    if (r.code != code || !strstr(r.err, needle))
        fail_msg("evtrack %s: exit %d (want %d), stderr \"%s\" (want \"%s\")",
                 args, r.code, code, r.err, needle);
    assert_string_equal(r.out, "");
    free_run(&r);
}

static void test_cli_exit_codes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *want;
    char *file = vector_input_file(dir, "lmms_A.json", &want);
    char *bad = tu_fmt("%s/bad.json", dir);
    tu_write_file(bad, "{\"results\": ");
    char *args = tu_fmt("table --style nope %s", file);
    expect_cli_fails(dir, args, 2, "usage: evtrack table");
    free(args);
    args = tu_fmt("table --style lighteval --column groups %s", file);
    expect_cli_fails(dir, args, 2, "usage: evtrack table");
    free(args);
    args = tu_fmt("table %s/missing.json", dir);
    expect_cli_fails(dir, args, 2, "missing.json");
    free(args);
    args = tu_fmt("table %s", bad);
    expect_cli_fails(dir, args, 2, "bad.json: invalid JSON");
    free(args);
    expect_cli_fails(dir, "table", 2, "usage: evtrack table");
    expect_cli_fails(dir, "table --style", 2, "usage: evtrack table");
    args = tu_fmt("table %s %s", file, file);
    expect_cli_fails(dir, args, 2, "usage: evtrack table");
    free(args);
    struct run_out r = run_cli(dir, "table --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: evtrack table"));
    free_run(&r);
    r = run_cli(dir, "--help");
    assert_non_null(strstr(r.out, "table [--style S]"));
    free_run(&r);
    free(file), free(bad), free(want);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector),
        cmocka_unit_test(test_real_pairs),
        cmocka_unit_test(test_lmeval_golden_files),
        cmocka_unit_test(test_lighteval_raw_file),
        cmocka_unit_test(test_older_lmeval_pairs_same_cells),
        cmocka_unit_test(test_missing_maps),
        cmocka_unit_test(test_nan_value),
        cmocka_unit_test(test_pipe_and_tab),
        cmocka_unit_test(test_lmeval_versions_and_arrows),
        cmocka_unit_test(test_group_cycle),
        cmocka_unit_test(test_errors_and_names),
        cmocka_unit_test(test_cli_prints_the_table),
        cmocka_unit_test(test_cli_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
