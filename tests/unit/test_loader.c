/* test_loader.c -- the plugin loader's refusals and plugin discovery.
 *
 * Every broken fixture in tests/fixtures/ is opened through evt_open_json
 * and must be refused with EVT_EABI, *out == NULL and a message naming the
 * config source, the sink's JSON path, the .so file and the exact reason.
 * Then: good plugins, one plugin under two names, duplicate names, plugin
 * lookup by name through plugin_dirs and evt_list_plugins. Each test runs
 * in its own mkdtemp folder. */
#include "test_util.h"

#include <sys/stat.h>

#include "evtrack/evtrack.h"

#define assert_contains(hay, needle)                                        \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (!strstr(h_, n_))                                                \
            fail_msg("expected \"%s\" in \"%s\"", n_, h_);                  \
    } while (0)

struct fx {
    char *dir;
    char err[2 * EVT_ERRMSG_SIZE];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
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

/* A non-NULL pointer, so the tests see that a failed open clears *out. */
static char sentinel;
#define NOT_NULL ((evt_tracker *)(void *)&sentinel)

static char *fixture(const char *name)
{
    return tu_fmt("%s/%s.so", tu_fixture_dir(), name);
}

/* Open a tracker whose sinks array is sinks_json. */
static int open_sinks(struct fx *f, const char *sinks_json, evt_tracker **t)
{
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": %s}", f->dir,
                        sinks_json);
    f->err[0] = '\0';
    *t = NOT_NULL;
    int rc = evt_open_json(json, NULL, t, f->err, sizeof f->err);
    free(json);
    return rc;
}

/* Open a tracker with one sink loaded from the file so. */
static int open_path(struct fx *f, const char *so, evt_tracker **t)
{
    char *sinks = tu_fmt("[{\"path\": \"%s\"}]", so);
    int rc = open_sinks(f, sinks, t);
    free(sinks);
    return rc;
}

/* The plugin file so must be refused with reason (and EVT_EABI). */
static void expect_refused_path(struct fx *f, const char *so,
                                const char *reason)
{
    evt_tracker *t;
    int rc = open_path(f, so, &t);
    if (rc == EVT_OK)
        evt_close(t, 5000);
    assert_int_equal(rc, EVT_EABI);
    assert_null(t);
    assert_contains(f->err, "<config>: sinks[0]: ");
    assert_contains(f->err, so);
    assert_contains(f->err, reason);
}

static void expect_refused(struct fx *f, const char *name, const char *reason)
{
    char *so = fixture(name);
    expect_refused_path(f, so, reason);
    free(so);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_no_entry_symbol(void **state)
{
    expect_refused(*state, "bad_no_entry",
                   "refused: not an evtrack sink (no evt_sink_entry_v1 "
                   "symbol)");
}

static void test_abi_major_2(void **state)
{
    expect_refused(*state, "bad_major",
                   "refused: built for ABI major 2, this host speaks "
                   "major 1");
}

static void test_newer_minor(void **state)
{
    expect_refused(*state, "bad_newer_minor",
                   "refused: built for ABI 1.7, newer than this host's 1.1");
}

static void test_vtable_too_small(void **state)
{
    char *reason = tu_fmt("refused: vtable struct_size %zu is smaller than",
                          offsetof(struct evt_sink_vtable, create));
    expect_refused(*state, "bad_too_small", reason);
    free(reason);
}

static void test_vtable_too_large(void **state)
{
    char *reason = tu_fmt("refused: vtable struct_size %zu is larger than "
                          "this host's %zu bytes for ABI 1.1",
                          sizeof(struct evt_sink_vtable) + 64,
                          sizeof(struct evt_sink_vtable));
    expect_refused(*state, "bad_too_large", reason);
    free(reason);
}

static void test_missing_write(void **state)
{
    expect_refused(*state, "bad_missing_write",
                   "refused: required callback 'write' is NULL");
}

static void test_null_vtable(void **state)
{
    expect_refused(*state, "bad_null_vtable",
                   "refused: evt_sink_entry_v1 returned no vtable");
}

static void test_undefined_symbol(void **state)
{
    struct fx *f = *state;
    expect_refused(f, "bad_undefined_symbol", "cannot load plugin: ");
    assert_contains(f->err, "evt_fixture_symbol_defined_nowhere");
}

static void test_no_name(void **state)
{
    expect_refused(*state, "bad_no_name", "refused: the sink has no name");
}

static void test_text_file(void **state)
{
    struct fx *f = *state;
    char *so = tu_fmt("%s/not_a_plugin.so", f->dir);
    tu_write_file(so, "this is not an ELF shared object\n");
    expect_refused_path(f, so, "cannot load plugin: ");
    free(so);
}

static void test_missing_file(void **state)
{
    struct fx *f = *state;
    char *so = tu_fmt("%s/no_such_plugin.so", f->dir);
    expect_refused_path(f, so, "cannot load plugin: No such file");
    free(so);
}

static void test_directory(void **state)
{
    struct fx *f = *state;
    char *so = tu_fmt("%s/dir.so", f->dir);
    assert_int_equal(mkdir(so, 0700), 0);
    expect_refused_path(f, so, "cannot load plugin: not a regular file");
    free(so);
}

/* ---- good plugins ---------------------------------------------------------- */

static void test_good_sink_loads(void **state)
{
    struct fx *f = *state;
    char *so = fixture("test_sink");
    evt_tracker *t;
    int rc = open_path(f, so, &t);
    free(so);
    assert_int_equal(rc, EVT_OK);
    assert_non_null(t);
    assert_ptr_not_equal(t, NOT_NULL);
    struct evt_sink_stats st[2];
    assert_int_equal(evt_stats(t, st, 2), 1);
    assert_string_equal(st[0].plugin, "test");
    assert_string_equal(st[0].name, "test_sink.so"); /* default: file name */
    assert_int_equal(st[0].enabled, 1);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
}

/* Two instances of one plugin file, each with its own config and output. */
static void test_same_plugin_twice_named(void **state)
{
    struct fx *f = *state;
    char *so = fixture("test_sink");
    char *sinks = tu_fmt(
        "[{\"path\": \"%s\", \"name\": \"a\", \"config\": "
        "{\"record\": \"%s/a.txt\"}},"
        " {\"path\": \"%s\", \"name\": \"b\", \"config\": "
        "{\"record\": \"%s/b.txt\"}}]",
        so, f->dir, so, f->dir);
    evt_tracker *t;
    int rc = open_sinks(f, sinks, &t);
    free(sinks);
    free(so);
    assert_int_equal(rc, EVT_OK);
    struct evt_sink_stats st[3];
    assert_int_equal(evt_stats(t, st, 3), 2);
    assert_string_equal(st[0].name, "a");
    assert_string_equal(st[1].name, "b");
    assert_string_equal(st[0].plugin, "test");
    assert_string_equal(st[1].plugin, "test");
    assert_int_equal(evt_log_scalar(t, "loss", 0.5, 7), EVT_OK);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    for (int i = 0; i < 2; i++) {
        char *p = tu_fmt("%s/%s.txt", f->dir, i ? "b" : "a");
        char *txt = tu_read_file(p, NULL);
        assert_non_null(txt);
        assert_int_equal(tu_count_lines(txt), 1);
        assert_contains(txt, " 16 7 "); /* kind scalar, step 7 */
        free(txt);
        free(p);
    }
}

static void test_same_plugin_twice_unnamed(void **state)
{
    struct fx *f = *state;
    char *so = fixture("test_sink");
    char *sinks = tu_fmt("[{\"path\": \"%s\"}, {\"path\": \"%s\"}]", so, so);
    evt_tracker *t;
    int rc = open_sinks(f, sinks, &t);
    free(sinks);
    free(so);
    if (rc == EVT_OK)
        evt_close(t, 5000);
    assert_int_equal(rc, EVT_ECONFIG);
    assert_null(t);
    assert_contains(f->err, "<config>: sinks[1].name: duplicate sink name "
                            "\"test_sink.so\" (also sinks[0])");
}

/* ---- plugin lookup by name ----------------------------------------------- */

/* dir/plugins with evtrack-sink-test.so (good) and evtrack-sink-bad.so
 * (major 2), both symlinks to the fixtures, plus files the scan skips. */
static char *make_plugin_dir(struct fx *f)
{
    char *pd = tu_fmt("%s/plugins", f->dir);
    assert_int_equal(mkdir(pd, 0700), 0);
    const char *links[2][2] = {{"test_sink", "evtrack-sink-test.so"},
                               {"bad_major", "evtrack-sink-bad.so"}};
    for (int i = 0; i < 2; i++) {
        char *target = fixture(links[i][0]);
        char *link = tu_fmt("%s/%s", pd, links[i][1]);
        assert_int_equal(symlink(target, link), 0);
        free(target);
        free(link);
    }
    char *skip1 = tu_fmt("%s/README.txt", pd);
    char *skip2 = tu_fmt("%s/evtrack-sink-.so", pd);
    tu_write_file(skip1, "not a plugin\n");
    tu_write_file(skip2, "no name between prefix and suffix\n");
    free(skip1);
    free(skip2);
    return pd;
}

static const struct evt_plugin_info *
find_info(const struct evt_plugin_info *info, int n, const char *path)
{
    for (int i = 0; i < n; i++)
        if (strcmp(info[i].path, path) == 0)
            return &info[i];
    return NULL;
}

static void test_list_plugins(void **state)
{
    struct fx *f = *state;
    char *pd = make_plugin_dir(f);
    char *cfg = tu_fmt("%s/evtrack.json", f->dir);
    /* relative: resolved against the config file's folder */
    tu_write_file(cfg, "{\"plugin_dirs\": [\"plugins\"], \"sinks\": []}\n");
    struct evt_plugin_info *info = calloc(64, sizeof *info);
    assert_non_null(info);
    int n = evt_list_plugins(cfg, info, 64, f->err, sizeof f->err);
    assert_in_range(n, 2, 64);

    char *good_path = tu_fmt("%s/evtrack-sink-test.so", pd);
    char *bad_path = tu_fmt("%s/evtrack-sink-bad.so", pd);
    int ours = 0;
    for (int i = 0; i < n; i++)
        ours += strncmp(info[i].path, pd, strlen(pd)) == 0;
    assert_int_equal(ours, 2); /* README.txt, evtrack-sink-.so skipped */
    const struct evt_plugin_info *good = find_info(info, n, good_path);
    assert_non_null(good);
    assert_string_equal(good->name, "test");
    assert_string_equal(good->version, "1.0");
    assert_int_equal(good->abi_version, 0x10001);
    assert_string_equal(good->error, "");
    const struct evt_plugin_info *bad = find_info(info, n, bad_path);
    assert_non_null(bad);
    assert_string_equal(bad->name, "");
    assert_contains(bad->error, "ABI major 2");
    assert_contains(bad->error, bad_path);
    free(good_path);
    free(bad_path);
    free(info);
    free(cfg);
    free(pd);
}

static void test_plugin_by_name(void **state)
{
    struct fx *f = *state;
    char *pd = make_plugin_dir(f);
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"plugin_dirs\": [\"%s\"], "
                        "\"sinks\": [{\"plugin\": \"test\"}]}",
                        f->dir, pd);
    evt_tracker *t = NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    free(json);
    free(pd);
    if (rc != EVT_OK)
        fail_msg("open failed: %s", f->err);
    struct evt_sink_stats st[2];
    assert_int_equal(evt_stats(t, st, 2), 1);
    assert_string_equal(st[0].name, "test"); /* default: the plugin name */
    assert_string_equal(st[0].plugin, "test");
    assert_int_equal(evt_close(t, 5000), EVT_OK);
}

/* "plugin": "bad" finds the file, and the loader still refuses it. */
static void test_plugin_by_name_refused(void **state)
{
    struct fx *f = *state;
    char *pd = make_plugin_dir(f);
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"plugin_dirs\": [\"%s\"], "
                        "\"sinks\": [{\"plugin\": \"bad\"}]}",
                        f->dir, pd);
    evt_tracker *t = NOT_NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    free(json);
    assert_int_equal(rc, EVT_EABI);
    assert_null(t);
    char *path = tu_fmt("%s/evtrack-sink-bad.so", pd);
    assert_contains(f->err, path);
    assert_contains(f->err, "ABI major 2");
    free(path);
    free(pd);
}

static void test_plugin_not_found(void **state)
{
    struct fx *f = *state;
    char *pd = make_plugin_dir(f);
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"plugin_dirs\": [\"%s\"], "
                        "\"sinks\": [{\"plugin\": \"nope\"}]}",
                        f->dir, pd);
    evt_tracker *t = NOT_NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    free(json);
    assert_int_equal(rc, EVT_ECONFIG);
    assert_null(t);
    assert_contains(f->err, "<config>: sinks[0].plugin: no plugin named "
                            "\"nope\" (looked for evtrack-sink-nope.so in: ");
    char *first = tu_fmt("in: %s", pd); /* the config's folder comes first */
    assert_contains(f->err, first);
    free(first);
    free(pd);
}

static void test_plugin_name_invalid(void **state)
{
    struct fx *f = *state;
    evt_tracker *t;
    int rc = open_sinks(f, "[{\"plugin\": \"../x\"}]", &t);
    assert_int_equal(rc, EVT_ECONFIG);
    assert_null(t);
    assert_contains(f->err, "<config>: sinks[0].plugin: invalid plugin name");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_entry_symbol),
        T(test_abi_major_2),
        T(test_newer_minor),
        T(test_vtable_too_small),
        T(test_vtable_too_large),
        T(test_missing_write),
        T(test_null_vtable),
        T(test_undefined_symbol),
        T(test_no_name),
        T(test_text_file),
        T(test_missing_file),
        T(test_directory),
        T(test_good_sink_loads),
        T(test_same_plugin_twice_named),
        T(test_same_plugin_twice_unnamed),
        T(test_list_plugins),
        T(test_plugin_by_name),
        T(test_plugin_by_name_refused),
        T(test_plugin_not_found),
        T(test_plugin_name_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
