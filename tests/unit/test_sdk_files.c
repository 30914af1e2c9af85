/* test_sdk_files.c -- sdk file helpers and the event view. */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"

static void check_safe(const char *in, size_t len, size_t max,
                       const char *want)
{
    char *got = evt_safe_component(in, len, max);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_safe_component(void **state)
{
    (void)state;
    check_safe("mme", 3, 200, "mme");
    check_safe("../x", 4, 200, "_._x");
    check_safe("..", 2, 200, "_.");
    check_safe(".", 1, 200, "_");
    check_safe("a/b", 3, 200, "a_b");
    check_safe("a\\b:c*d?e\"f<g>h|i", 17, 200, "a_b_c_d_e_f_g_h_i");
    check_safe("tab\there\nnl", 11, 200, "tab_here_nl");
    check_safe("nul\0x", 5, 200, "nul_x");
    check_safe("", 0, 200, "_");
    check_safe("\xff\xfe", 2, 200, "__");
    check_safe("caf\xc3\xa9", 5, 200, "caf\xc3\xa9");
    check_safe("caf\xc3\xa9", 5, 4, "caf"); /* never cut inside a character */
    check_safe("mmlu:anatomy|5", 14, 200, "mmlu_anatomy_5");
    char big[1000];
    memset(big, 'x', sizeof big);
    char *got = evt_safe_component(big, sizeof big, 200);
    assert_int_equal(strlen(got), 200);
    free(got);
}

static void check_model(const char *in, const char *want)
{
    char *got = evt_lmms_model_name_sanitized(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_model_name_sanitized(void **state)
{
    (void)state;
    check_model("lmms-lab/llava-onevision-qwen2-0.5b-ov",
                "lmms-lab__llava-onevision-qwen2-0.5b-ov");
    check_model("/ckpt/run1/step100", "run1__step100");
    check_model("a//b", "__b");
    check_model("plain", "plain");
    check_model("org/a model:v1", "org__a model__v1"); /* spaces stay */
    check_model("x/[a]*?", "x__a__");
    check_model("q\"uote/x", "q__uote__x");
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *sub = tu_fmt("%s/a/b/c", dir);
    char err[256];
    assert_int_equal(evt_mkdirs(sub, err, sizeof err), 0);
    char *path = tu_fmt("%s/r.json", sub);
    assert_int_equal(evt_write_file_atomic(path, "one", 3, err, sizeof err), 0);
    assert_int_equal(evt_write_file_atomic(path, "second", 6, err, sizeof err),
                     0);
    char *txt = tu_read_file(path, NULL);
    assert_string_equal(txt, "second");
    free(txt);
    /* no temp file is left behind: r.json is the folder's only entry */
    char *ls = tu_fmt("ls -A '%s' | wc -l > '%s/count'", sub, dir);
    assert_int_equal(system(ls), 0);
    char *cpath = tu_fmt("%s/count", dir);
    char *count = tu_read_file(cpath, NULL);
    assert_int_equal(strtol(count, NULL, 10), 1);
    free(count), free(cpath), free(ls);
    /* create-new never replaces an existing file */
    assert_int_equal(evt_create_file_new(path, "third", 5, err, sizeof err),
                     1);
    char *newp = tu_fmt("%s/n.json", sub);
    assert_int_equal(evt_create_file_new(newp, "new", 3, err, sizeof err), 0);
    txt = tu_read_file(path, NULL);
    assert_string_equal(txt, "second");
    free(txt);
    txt = tu_read_file(newp, NULL);
    assert_string_equal(txt, "new");
    free(txt);
    free(newp);
    /* a folder in the way: the error names the file and the step */
    char *blocked = tu_fmt("%s/file", dir);
    tu_write_file(blocked, "x");
    char *bad = tu_fmt("%s/file/r.json", dir);
    assert_int_equal(evt_write_file_atomic(bad, "z", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "file/r.json: create temp file:"));
    assert_int_equal(evt_mkdirs(bad, err, sizeof err), -1);
    free(bad), free(blocked), free(path), free(sub);
    tu_rmtree(dir);
}

static void test_pread_full(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_fmt("%s/f", dir);
    tu_write_file(path, "0123456789");
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    char buf[16] = {0};
    assert_int_equal(evt_pread_full(fd, buf, 4, 3), 4);
    assert_memory_equal(buf, "3456", 4);
    /* past the end: the count read, short */
    assert_int_equal(evt_pread_full(fd, buf, 16, 7), 3);
    assert_memory_equal(buf, "789", 3);
    assert_int_equal(evt_pread_full(fd, buf, 4, 10), 0);
    assert_int_equal(evt_pread_full(fd, buf, 0, 0), 0);
    /* exactly n, or EIO when the file ends first */
    assert_int_equal(evt_pread_exact(fd, buf, 3, 7), 0);
    assert_memory_equal(buf, "789", 3);
    errno = 0;
    assert_int_equal(evt_pread_exact(fd, buf, 4, 7), -1);
    assert_int_equal(errno, EIO);
    close(fd);
    errno = 0;
    assert_int_equal(evt_pread_full(fd, buf, 4, 0), -1);
    assert_int_equal(errno, EBADF);
    errno = 0;
    assert_int_equal(evt_pread_exact(fd, buf, 4, 0), -1);
    assert_int_equal(errno, EBADF);
    free(path);
    tu_rmtree(dir);
}

static void test_event_view(void **state)
{
    (void)state;
    /* {"task": "mme", "doc_id": 7, "value": 0.5, "neg": -3} */
    static const unsigned char mp[] = {
        0x84, 0xa4, 't', 'a', 's', 'k', 0xa3, 'm', 'm', 'e', 0xa6, 'd',
        'o',  'c',  '_', 'i', 'd', 0x07, 0xa5, 'v', 'a', 'l', 'u', 'e',
        0xcb, 0x3f, 0xe0, 0,  0,   0,    0,    0,   0,   0xa3, 'n', 'e',
        'g',  0xfd};
    struct evt_view v;
    assert_int_equal(evt_view_open_bytes(&v, mp, sizeof mp), 0);
    assert_true(evt_mp_str_eq(evt_mp_get(&v.root, "task"), "mme"));
    assert_false(evt_mp_str_eq(evt_mp_get(&v.root, "task"), "mm"));
    int64_t i;
    double d;
    assert_int_equal(evt_mp_int64(evt_mp_get(&v.root, "doc_id"), &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(evt_mp_double(evt_mp_get(&v.root, "value"), &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(evt_mp_int64(evt_mp_get(&v.root, "neg"), &i), 0);
    assert_int_equal(i, -3);
    assert_null(evt_mp_get(&v.root, "missing"));
    assert_int_equal(evt_mp_int64(evt_mp_get(&v.root, "task"), &i), -1);
    char *s = evt_mp_strdup(evt_mp_get(&v.root, "task"));
    assert_string_equal(s, "mme");
    free(s);
    evt_view_close(&v);
    static const unsigned char arr[] = {0x91, 0x01};
    assert_int_equal(evt_view_open_bytes(&v, arr, sizeof arr), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_component),
        cmocka_unit_test(test_model_name_sanitized),
        cmocka_unit_test(test_write_file_atomic),
        cmocka_unit_test(test_pread_full),
        cmocka_unit_test(test_event_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
