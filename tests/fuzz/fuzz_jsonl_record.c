/* fuzz_jsonl_record.c -- the jsonl sink's line writer (plugins/jsonl:
 * record.c, lighteval.c, jwrite.c, pyrepr.c, mpread.c, fields.c): a sample
 * event's msgpack bytes to one line in each layout (lmms-eval, lm-eval,
 * lighteval details), with and without the options that change a line
 * (filter key, a cap on string values, dropped keys); and the task name
 * made a file-name component (sdk evt_safe_component,
 * evt_lmms_model_name_sanitized).
 * Invariants: a written line is valid UTF-8, starts with '{', ends with
 * its only '\n'; a skipped one leaves the buffer as it was; a file-name
 * component is never empty, ".", ".." or longer than asked, and holds no
 * '/', '\\', NUL or control character. */
#include "fuzz_util.h"

#include "evtrack/sdk/files.h"
#include "record.h"
#include "utf8.h"

static char *drop_names[] = {"doc", "resps", "arguments", "metrics"};
static struct jl_opts opts[] = {
    {JL_LMMS, 0, 0, NULL, 0},      {JL_LMMS, 1, 8, drop_names, 2},
    {JL_LMEVAL, 0, 0, NULL, 0},    {JL_LMEVAL, 0, 5, drop_names + 2, 2},
    {JL_LIGHTEVAL, 0, 0, NULL, 0}, {JL_LIGHTEVAL, 0, 3, drop_names, 4}};
#define NOPTS (sizeof opts / sizeof opts[0])
static struct jl_rec *recs[NOPTS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < NOPTS; i++)
        FZ_CHECK((recs[i] = jl_rec_new(&opts[i])) != NULL);
    return 0;
}

static void check_component(const char *s, size_t max)
{
    FZ_CHECK(s != NULL);
    size_t n = strlen(s);
    FZ_CHECK(n >= 1 && n <= max);
    FZ_CHECK(s[0] != '.');
    FZ_CHECK(evt__utf8_check(s, n, NULL));
    for (size_t i = 0; i < n; i++)
        FZ_CHECK(s[i] != '/' && s[i] != '\\' &&
                 (unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void task_names(const struct jl_rec *r)
{
    const char *t;
    size_t n;
    if (!jl_rec_task(r, &t, &n))
        return;
    char *c = evt_safe_component(t, n, 200);
    check_component(c, 200);
    free(c);
    c = evt_safe_component(t, n, 3);
    check_component(c, 3);
    free(c);
    char *z = fz_cstr((const uint8_t *)t, n);
    char *m = evt_lmms_model_name_sanitized(z);
    FZ_CHECK(m != NULL);
    free(m);
    free(z);
}

static void check_line(const struct evt_buf *b, size_t start)
{
    const char *l = b->data + start;
    size_t n = b->len - start;
    FZ_CHECK(n >= 3 && l[0] == '{' && l[n - 1] == '\n');
    FZ_CHECK(memchr(l, '\n', n - 1) == NULL);
    FZ_CHECK(b->data[b->len] == '\0');
    FZ_CHECK(evt__utf8_check(l, n, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evt_buf line;
    evt_buf_init(&line);
    evt_buf_puts(&line, "prev\n"); /* lines are appended to pending ones */
    for (size_t i = 0; i < NOPTS; i++) {
        int oom = 0;
        if (jl_rec_scan(recs[i], data, size, &oom) != 0) {
            FZ_CHECK(!oom);
            break; /* the same for every layout */
        }
        if (i == 0)
            task_names(recs[i]);
        char err[512], warn[256];
        size_t start = line.len;
        int rc = jl_rec_line(recs[i], &line, err, sizeof err, warn,
                             sizeof warn);
        FZ_CHECK(rc == JL_REC_OK || rc == JL_REC_SKIP);
        if (rc == JL_REC_OK) {
            check_line(&line, start);
        } else {
            FZ_CHECK(line.len == start && err[0] != '\0');
        }
    }
    FZ_CHECK(!line.oom && memcmp(line.data, "prev\n", 5) == 0);
    evt_buf_free(&line);
    return 0;
}
