/* test_config.c -- config errors name the source, the JSON path and the
 * reason, and never echo a value; ${ENV} expansion; evt_check_config;
 * disabled sinks. Each test runs in its own mkdtemp folder, with the
 * configurable fixture sink (tests/fixtures/test_sink.c, plugin "test"). */
#include "test_util.h"

#include <sys/stat.h>

#include "evtrack/evtrack.h"

#define assert_contains(hay, needle)                                        \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (!strstr(h_, n_))                                                \
            fail_msg("expected \"%s\" in \"%s\"", n_, h_);                  \
    } while (0)

#define assert_not_contains(hay, needle)                                    \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        if (strstr(h_, n_))                                                 \
            fail_msg("did not expect \"%s\" in \"%s\"", n_, h_);            \
    } while (0)

struct fx {
    char *dir;
    char *so; /* the test sink */
    char err[2 * EVT_ERRMSG_SIZE];
    char *owned[8]; /* freed by teardown, even after a failed assertion */
    size_t nowned;
};

/* Hand p to the fixture, so a failing test does not leak it. */
static char *own(struct fx *f, char *p)
{
    assert_true(f->nowned < sizeof f->owned / sizeof f->owned[0]);
    f->owned[f->nowned++] = p;
    return p;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->so = tu_fmt("%s/test_sink.so", tu_fixture_dir());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->dir);
    free(f->so);
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
    free(f);
    return 0;
}

static char sentinel;
#define NOT_NULL ((evt_tracker *)(void *)&sentinel)

/* Config text with output_dir in the tmp folder and one test sink whose
 * object gets the extra members sink_extra (e.g. ", \"name\": \"a\""). */
static char *one_sink(struct fx *f, const char *sink_extra)
{
    return tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [{\"path\": \"%s\"%s}]}",
                  f->dir, f->so, sink_extra);
}

/* json must be refused with EVT_ECONFIG and
 * "<config>: <path>: <reason...>". */
static void expect_refused(struct fx *f, const char *json)
{
    evt_tracker *t = NOT_NULL;
    f->err[0] = '\0';
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    if (rc == EVT_OK)
        evt_close(t, 5000);
    assert_int_equal(rc, EVT_ECONFIG);
    assert_null(t);
}

static void expect_error(struct fx *f, const char *json, const char *path,
                         const char *reason)
{
    expect_refused(f, json);
    char where[256];
    snprintf(where, sizeof where, "<config>: %s: ", path);
    assert_contains(f->err, where);
    assert_contains(f->err, reason);
}

/* The same with the sink members sink_extra. */
static void expect_sink_error(struct fx *f, const char *sink_extra,
                              const char *path, const char *reason)
{
    char *json = one_sink(f, sink_extra);
    expect_error(f, json, path, reason);
    free(json);
}

/* ---- syntax and top level ------------------------------------------------- */

static void test_invalid_json_line(void **state)
{
    struct fx *f = *state;
    char *cfg = tu_fmt("%s/bad.json", f->dir);
    tu_write_file(cfg, "{\n  \"output_dir\": \"out\",\n  \"sinks\": [,]\n}\n");
    evt_tracker *t = NOT_NULL;
    int rc = evt_open_file(cfg, &t, f->err, sizeof f->err);
    assert_int_equal(rc, EVT_ECONFIG);
    assert_null(t);
    char *where = tu_fmt("%s:3:", cfg); /* the file, line 3, a column */
    assert_contains(f->err, where);
    assert_contains(f->err, "invalid JSON");
    free(where);
    free(cfg);
}

static void test_top_not_object(void **state)
{
    expect_error(*state, "[{\"path\": \"x.so\"}]", "(top level)",
                 "expected an object, got an array");
}

static void test_unknown_top_key(void **state)
{
    expect_error(*state, "{\"sinks\": [], \"ouptut_dir\": \"x\"}", "ouptut_dir",
                 "unknown key (expected one of: output_dir, state_dir, "
                 "plugin_dirs, run_id, sinks, version)");
}

static void test_sinks_missing(void **state)
{
    expect_error(*state, "{\"output_dir\": \"x\"}", "sinks", "missing");
}

static void test_sinks_not_array(void **state)
{
    expect_error(*state, "{\"sinks\": {\"path\": \"x.so\"}}", "sinks",
                 "expected an array, got an object");
}

static void test_sink_not_object(void **state)
{
    struct fx *f = *state;
    char *json = tu_fmt("{\"sinks\": [{\"path\": \"%s\"}, 42]}", f->so);
    expect_error(f, json, "sinks[1]", "expected an object, got a number");
    free(json);
}

/* ---- sink members ---------------------------------------------------------- */

static void test_plugin_and_path(void **state)
{
    expect_sink_error(*state, ", \"plugin\": \"test\"", "sinks[0]",
                      "expected exactly one of \"plugin\" (a name) or "
                      "\"path\" (a .so file)");
}

static void test_neither_plugin_nor_path(void **state)
{
    expect_error(*state, "{\"sinks\": [{\"name\": \"a\"}]}", "sinks[0]",
                 "expected exactly one of \"plugin\"");
}

static void test_unknown_sink_key(void **state)
{
    expect_sink_error(*state, ", \"qeueu\": {}", "sinks[0].qeueu",
                      "unknown key (expected one of: plugin, path, name, "
                      "enabled, events, queue, retry, config)");
}

static void test_bad_overflow(void **state)
{
    struct fx *f = *state;
    expect_sink_error(f, ", \"queue\": {\"overflow\": \"explode\"}",
                      "sinks[0].queue.overflow",
                      "expected one of \"block\", \"spill\", "
                      "\"drop_newest\", \"drop_oldest\"");
    assert_not_contains(f->err, "explode"); /* values are never echoed */
}

static void test_max_events_zero(void **state)
{
    expect_sink_error(*state, ", \"queue\": {\"max_events\": 0}",
                      "sinks[0].queue.max_events",
                      "expected an integer from 1 to 100000000");
}

static void test_max_events_fraction(void **state)
{
    expect_sink_error(*state, ", \"queue\": {\"max_events\": 10.5}",
                      "sinks[0].queue.max_events",
                      "expected an integer, got a fraction");
}

static void test_retry_cap_below_base(void **state)
{
    expect_sink_error(*state,
                      ", \"retry\": {\"base_ms\": 500, \"cap_ms\": 100}",
                      "sinks[0].retry",
                      "cap_ms must not be smaller than base_ms");
}

static void test_unknown_event_kind(void **state)
{
    expect_sink_error(*state, ", \"events\": [\"sample\", \"samples\"]",
                      "sinks[0].events[1]",
                      "expected one of \"run_start\", \"task_config\", "
                      "\"sample\", \"result\", \"scalar\", \"run_end\"");
}

static void test_enabled_not_bool(void **state)
{
    expect_sink_error(*state, ", \"enabled\": \"yes\"", "sinks[0].enabled",
                      "expected true or false, got a string");
}

/* ---- the sink's own config, checked against the plugin's keys ------------- */

static void test_unknown_plugin_key(void **state)
{
    expect_sink_error(*state, ", \"config\": {\"bogus\": 1}",
                      "sinks[0].config.bogus",
                      "unknown key for plugin \"test\" (known: record, "
                      "sleep_ms, retry_first, retry_forever, fail, "
                      "record_msgpack, flush_sleep_ms, record_run_id, "
                      "sleep_after_ms, handle_one)");
}

static void test_plugin_key_wrong_type(void **state)
{
    expect_sink_error(*state, ", \"config\": {\"sleep_ms\": \"10\"}",
                      "sinks[0].config.sleep_ms",
                      "expected an integer, got a string");
}

/* ---- ${ENV} expansion ------------------------------------------------------ */

static void test_env_expansion(void **state)
{
    struct fx *f = *state;
    assert_int_equal(setenv("EVT_TEST_DIR", f->dir, 1), 0);
    char *json = tu_fmt("{\"output_dir\": \"${EVT_TEST_DIR}/out\", "
                        "\"sinks\": [{\"path\": \"%s\", \"config\": "
                        "{\"record\": \"${EVT_TEST_DIR}/rec.txt\"}}]}",
                        f->so);
    evt_tracker *t = NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    free(json);
    unsetenv("EVT_TEST_DIR");
    if (rc != EVT_OK)
        fail_msg("open failed: %s", f->err);
    assert_int_equal(evt_log_scalar(t, "loss", 0.25, 3), EVT_OK);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    char *rec = tu_fmt("%s/rec.txt", f->dir);
    char *txt = tu_read_file(rec, NULL);
    assert_non_null(txt); /* written where ${EVT_TEST_DIR} pointed */
    assert_int_equal(tu_count_lines(txt), 1);
    free(txt);
    free(rec);
}

/* The unset variable is named; no value of the config is echoed. */
static void test_env_unset(void **state)
{
    struct fx *f = *state;
    unsetenv("UNSET_VAR_XYZ");
    char *json = tu_fmt("{\"output_dir\": \"%s/${UNSET_VAR_XYZ}\", "
                        "\"run_id\": \"visible-run-7\", "
                        "\"sinks\": [{\"path\": \"%s\"}]}",
                        f->dir, f->so);
    expect_refused(f, json);
    assert_contains(f->err, "<config>: ");
    assert_contains(f->err, "output_dir: environment variable UNSET_VAR_XYZ "
                            "is not set");
    assert_not_contains(f->err, f->dir); /* neither its own value */
    assert_not_contains(f->err, "visible-run-7"); /* nor any other */
    assert_not_contains(f->err, f->so);
    free(json);
}

/* A secret-looking value around an unset variable never reaches the
 * message, and neither do the values visited before it. */
static char *secret_config(struct fx *f)
{
    return tu_fmt("{\"output_dir\": \"%s/hf_OUTDIRSECRET\", "
                  "\"sinks\": [{\"path\": \"%s\", \"config\": "
                  "{\"record\": \"hf_SECRETVALUE123/${UNSET_VAR_XYZ}\"}}]}",
                  f->dir, f->so);
}

static void test_env_unset_keeps_secret(void **state)
{
    struct fx *f = *state;
    unsetenv("UNSET_VAR_XYZ");
    char *json = secret_config(f);
    expect_refused(f, json);
    assert_contains(f->err, "sinks[0].config.record: environment variable "
                            "UNSET_VAR_XYZ is not set");
    assert_not_contains(f->err, "SECRETVALUE");
    assert_not_contains(f->err, "hf_");
    assert_not_contains(f->err, "OUTDIRSECRET");
    free(json);
}

/* Regression: ${ENV} errors once named ".sinks[0].config.record" (a
 * leading dot from the empty root path). */
static void test_env_error_path(void **state)
{
    struct fx *f = *state;
    unsetenv("UNSET_VAR_XYZ");
    char *json = own(f, secret_config(f));
    expect_error(f, json, "sinks[0].config.record",
                 "environment variable UNSET_VAR_XYZ is not set");
}

/* ---- evt_check_config --------------------------------------------------------- */

static void test_check_config_good(void **state)
{
    struct fx *f = *state;
    char *cfg = tu_fmt("%s/good.json", f->dir);
    char *rec = tu_fmt("%s/rec.txt", f->dir);
    char *extra = tu_fmt(", \"config\": {\"record\": \"%s\"}", rec);
    char *json = one_sink(f, extra);
    tu_write_file(cfg, json);
    f->err[0] = '\0';
    assert_int_equal(evt_check_config(cfg, f->err, sizeof f->err), EVT_OK);
    assert_string_equal(f->err, "");
    /* validated only: the sink was never created, so nothing recorded */
    struct stat st;
    assert_int_not_equal(stat(rec, &st), 0);
    free(rec);
    free(extra);
    free(json);
    free(cfg);
}

/* An error only the plugin's declared keys can reveal: the plugin is
 * loaded, and the message names the file and the path. */
static void test_check_config_bad(void **state)
{
    struct fx *f = *state;
    char *cfg = tu_fmt("%s/bad.json", f->dir);
    char *json = one_sink(f, ", \"config\": {\"sleep_ms\": true}");
    tu_write_file(cfg, json);
    assert_int_equal(evt_check_config(cfg, f->err, sizeof f->err),
                     EVT_ECONFIG);
    char *where = tu_fmt("%s: sinks[0].config.sleep_ms: expected an integer, "
                         "got a boolean", cfg);
    assert_contains(f->err, where);
    free(where);
    free(json);
    free(cfg);
}

/* ---- "enabled": false ---------------------------------------------------------- */

static char *two_sinks(struct fx *f, const char *second_extra)
{
    return tu_fmt("{\"output_dir\": \"%s\", \"sinks\": ["
                  "{\"path\": \"%s\", \"name\": \"on\", \"config\": "
                  "{\"record\": \"%s/on.txt\"}},"
                  "{\"path\": \"%s\", \"name\": \"off\", \"enabled\": false, "
                  "\"config\": {\"record\": \"%s/off.txt\"%s}}]}",
                  f->dir, f->so, f->dir, f->so, f->dir, second_extra);
}

static void test_disabled_not_started(void **state)
{
    struct fx *f = *state;
    char *json = two_sinks(f, "");
    evt_tracker *t = NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    free(json);
    if (rc != EVT_OK)
        fail_msg("open failed: %s", f->err);
    struct evt_sink_stats st[3];
    assert_int_equal(evt_stats(t, st, 3), 1);
    assert_string_equal(st[0].name, "on");
    assert_int_equal(evt_log_scalar(t, "loss", 1.0, 1), EVT_OK);
    assert_int_equal(evt_close(t, 5000), EVT_OK);
    char *on = tu_fmt("%s/on.txt", f->dir), *off = tu_fmt("%s/off.txt", f->dir);
    char *txt = tu_read_file(on, NULL);
    assert_non_null(txt);
    assert_int_equal(tu_count_lines(txt), 1);
    free(txt);
    struct stat st_off;
    assert_int_not_equal(stat(off, &st_off), 0); /* never created */
    free(on);
    free(off);
}

static void test_disabled_still_validated(void **state)
{
    struct fx *f = *state;
    char *json = two_sinks(f, ", \"bogus\": 1");
    expect_error(f, json, "sinks[1].config.bogus",
                 "unknown key for plugin \"test\"");
    free(json);
}

/* Regression: a spool error once named the wrong sink (the index skipped
 * disabled sinks) and lacked the source prefix. */
static void test_spool_error_names_its_sink(void **state)
{
    struct fx *f = *state;
    /* state_dir works, but its spool/ folder is a file */
    char *st = own(f, tu_fmt("%s/st", f->dir));
    assert_int_equal(mkdir(st, 0755), 0);
    char *file = own(f, tu_fmt("%s/spool", st));
    tu_write_file(file, "x\n");
    char *json = own(f, tu_fmt(
        "{\"output_dir\": \"%s\", \"state_dir\": \"%s\", \"sinks\": ["
        "{\"path\": \"%s\", \"name\": \"off\", \"enabled\": false}, "
        "{\"path\": \"%s\", \"name\": \"on\", \"queue\": "
        "{\"overflow\": \"spill\"}}]}",
        f->dir, st, f->so, f->so));
    evt_tracker *t = NOT_NULL;
    int rc = evt_open_json(json, NULL, &t, f->err, sizeof f->err);
    if (rc == EVT_OK)
        evt_close(t, 5000);
    assert_true(rc < 0);
    assert_null(t);
    assert_contains(f->err, "st/spool");
    assert_contains(f->err, "<config>: sinks[1]: ");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_invalid_json_line),
        T(test_top_not_object),
        T(test_unknown_top_key),
        T(test_sinks_missing),
        T(test_sinks_not_array),
        T(test_sink_not_object),
        T(test_plugin_and_path),
        T(test_neither_plugin_nor_path),
        T(test_unknown_sink_key),
        T(test_bad_overflow),
        T(test_max_events_zero),
        T(test_max_events_fraction),
        T(test_retry_cap_below_base),
        T(test_unknown_event_kind),
        T(test_enabled_not_bool),
        T(test_unknown_plugin_key),
        T(test_plugin_key_wrong_type),
        T(test_env_expansion),
        T(test_env_unset),
        T(test_env_unset_keeps_secret),
        T(test_env_error_path),
        T(test_check_config_good),
        T(test_check_config_bad),
        T(test_disabled_not_started),
        T(test_disabled_still_validated),
        T(test_spool_error_names_its_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
