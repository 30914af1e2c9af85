/* test_cli.c -- the evtrack command: help, exit codes, check-config, and
 * plugin discovery from an installed, relocated prefix with no environment
 * variable. */
#include "test_util.h"

#include <sys/stat.h>

static void test_help_and_usage_exit_codes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *bin = tu_evtrack_bin();
    const char *ok[] = {"--help", "plugins --help", "check-config --help",
                        "--version"};
    for (size_t i = 0; i < 4; i++) {
        char *c = tu_fmt("%s %s", bin, ok[i]);
        struct tu_out o = tu_run(dir, c);
        assert_int_equal(o.code, 0);
        assert_non_null(strstr(o.text, i == 3 ? "evtrack 0." : "usage: evtrack"));
        free(o.text), free(c);
    }
    const char *bad[] = {"", "frobnicate", "check-config", "plugins extra"};
    for (size_t i = 0; i < 4; i++) {
        char *c = tu_fmt("%s %s", bin, bad[i]);
        struct tu_out o = tu_run(dir, c);
        assert_int_equal(o.code, 2);
        assert_non_null(strstr(o.text, "usage: evtrack"));
        free(o.text), free(c);
    }
    free(bin);
    tu_rmtree(dir);
}

static void test_check_config(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *bin = tu_evtrack_bin();
    char *good = tu_fmt("%s/good.json", dir), *badf = tu_fmt("%s/bad.json", dir);
    char *text = tu_fmt("{\"output_dir\": \"out\", \"sinks\": [{\"path\": "
                        "\"%s/test_sink.so\", \"config\": {}}]}",
                        tu_fixture_dir());
    tu_write_file(good, text);
    free(text);
    text = tu_fmt("{\"sinks\": [{\"path\": \"%s/test_sink.so\", "
                  "\"queue\": {\"overflow\": \"sometimes\"}}]}",
                  tu_fixture_dir());
    tu_write_file(badf, text);
    char *c = tu_fmt("%s check-config %s", bin, good);
    struct tu_out o = tu_run(dir, c);
    assert_int_equal(o.code, 0);
    assert_string_equal(o.text, "ok\n");
    free(o.text), free(c);
    c = tu_fmt("%s check-config %s", bin, badf);
    o = tu_run(dir, c);
    assert_int_equal(o.code, 2);
    char *want = tu_fmt("evtrack: %s: sinks[0].queue.overflow: expected one "
                        "of", badf);
    assert_non_null(strstr(o.text, want));
    free(want), free(o.text), free(c), free(text);
    c = tu_fmt("%s check-config %s/missing.json", bin, dir);
    o = tu_run(dir, c);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.text, "missing.json: cannot open"));
    free(o.text), free(c);
    free(good), free(badf), free(bin);
    tu_rmtree(dir);
}

/* cmake --install into a fresh prefix, drop a plugin into its plugin
 * folder, and the installed command lists it: found relative to its own
 * library, whatever the prefix. */
static void test_installed_command_finds_its_plugins(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *c = tu_fmt("%s --install %s --prefix %s/prefix",
                     getenv("EVT_TEST_CMAKE"), getenv("EVT_TEST_BUILD_DIR"),
                     dir);
    struct tu_out o = tu_run(dir, c);
    assert_int_equal(o.code, 0);
    free(o.text), free(c);
    char *plugdir = tu_fmt("%s/prefix/lib/evtrack/plugins", dir);
    c = tu_fmt("mkdir -p %s && cp %s/test_sink.so %s/evtrack-sink-test.so && "
               "cp %s/bad_major.so %s/evtrack-sink-old.so",
               plugdir, tu_fixture_dir(), plugdir, tu_fixture_dir(), plugdir);
    o = tu_run(dir, c);
    assert_int_equal(o.code, 0);
    free(o.text), free(c);
    c = tu_fmt("env -u EVTRACK_PLUGIN_PATH -u LD_LIBRARY_PATH "
               "%s/prefix/bin/evtrack plugins", dir);
    o = tu_run(dir, c);
    assert_int_equal(o.code, 1); /* one plugin was refused */
    char *line = tu_fmt("test                 1.0        1.1    %s/"
                        "evtrack-sink-test.so", plugdir);
    assert_non_null(strstr(o.text, "NAME"));
    assert_non_null(strstr(o.text, line));
    assert_non_null(strstr(o.text, "refused:"));
    assert_non_null(strstr(o.text, "ABI major 2"));
    free(line), free(o.text), free(c), free(plugdir);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage_exit_codes),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_installed_command_finds_its_plugins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
