/* test_wandb_offline.c -- the wandb sink's offline .wandb file.
 *
 * Spec: shared/reference/protocols.md section 2.8, docs/sinks/wandb.md
 * section 5. The file is read back by the test's own reader
 * (tests/unit/wandb_reader.h: header, 32 KiB block framing, CRC-32 per
 * chunk, protobuf), which is first checked against the verified bytes of
 * protocols.md. Then:
 *  - the writer's framing (plugins/wandb/wb_offline.c, compiled in):
 *    CRC-32 check value, the verified header record byte for byte, a
 *    record over three blocks, a 6-byte zero trailer, a zero-length FIRST
 *    chunk when exactly 7 bytes are left, corruption detected;
 *  - a whole offline run through the real plugin (WANDB_MODE=offline):
 *    the run directory, record types in order, the run record's fields and
 *    config, a config record once the task configs arrive, every history
 *    row with its step, the files record and the files on disk, summary,
 *    exit and final records. */
#define _GNU_SOURCE /* setenv */
#include "test_util.h"
#include "tracker_util.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../../plugins/wandb/wb_offline.h"
#include "../../plugins/wandb/wb_proto.h"
#include "evtrack/evtrack.h"
#include "wandb_reader.h"
#include "../fake/fake_wandb.h"

/* The verified start of a file (protocols.md 2.8). */
static const unsigned char VERIFIED[] = {
    0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00, 0xfb, 0xc2, 0xd0, 0x62, 0x1d,
    0x00, 0x01, 0x08, 0x00, 0xaa, 0x01, 0x18, 0x0a, 0x16, 0x0a, 0x0c, 'c',
    '-',  'l',  'o',  'g',  'g',  'e',  'r',  ' ',  '0',  '.',  '1',  0x12,
    0x06, '0',  '.',  '4',  '0',  '.',  '0'};

/* ---- the reader against the reference bytes ---------------------------- */

static void test_crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(wbr_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(wb_crc32(0, "123456789", 9), 0xCBF43926u);
    /* chaining, as the chunk checksum uses it */
    assert_int_equal(wb_crc32(wb_crc32(0, "1234", 4), "56789", 5),
                     0xCBF43926u);
    unsigned char t = 1;
    assert_int_equal(wb_crc32(wb_crc32(0, &t, 1), VERIFIED + 14, 29),
                     0x62d0c2fbu);
}

static void test_reader_verified_bytes(void **state)
{
    (void)state;
    struct wbr_file f;
    struct wbr_msg m, hdr, vi;
    char err[128];
    assert_int_equal(wbr_read(VERIFIED, sizeof VERIFIED, &f, err, sizeof err),
                     0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.rec[0].chunks, 1);
    assert_int_equal(wbr_decode(f.rec[0].data, f.rec[0].len, &m), 0);
    const struct wbr_field *num = wbr_get(&m, 1), *body = NULL;
    assert_non_null(num);
    assert_int_equal(num->u, 0);
    assert_int_equal(wbr_record_type(&m, &body), 21);
    assert_int_equal(wbr_decode(body->p, body->n, &hdr), 0);
    const struct wbr_field *v = wbr_get(&hdr, 1);
    assert_non_null(v);
    assert_int_equal(wbr_decode(v->p, v->n, &vi), 0);
    char *prod = wbr_str(wbr_get(&vi, 1)), *minc = wbr_str(wbr_get(&vi, 2));
    assert_string_equal(prod, "c-logger 0.1");
    assert_string_equal(minc, "0.40.0");
    free(prod);
    free(minc);
    wbr_free(&f);

    /* a flipped payload byte, a wrong header, a torn chunk */
    unsigned char bad[sizeof VERIFIED];
    memcpy(bad, VERIFIED, sizeof bad);
    bad[30] ^= 1;
    assert_int_equal(wbr_read(bad, sizeof bad, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "CRC"));
    wbr_free(&f);
    memcpy(bad, VERIFIED, sizeof bad);
    bad[4] = 0xbf;
    assert_int_equal(wbr_read(bad, sizeof bad, &f, err, sizeof err), -1);
    wbr_free(&f);
    assert_int_equal(wbr_read(VERIFIED, sizeof VERIFIED - 3, &f, err,
                              sizeof err),
                     -1);
    assert_non_null(strstr(err, "torn"));
    wbr_free(&f);
}

/* ---- the writer's framing ---------------------------------------------- */

static void test_writer_header_record_bytes(void **state)
{
    (void)state;
    struct evt_buf rec, out;
    evt_buf_init(&rec);
    evt_buf_init(&out);
    wb_rec_header(&rec, 0, "c-logger 0.1", "0.40.0");
    evt_buf_put(&out, wb_log_file_header, WB_LOG_FILE_HEADER);
    uint64_t end = wb_log_frame(&out, 7, rec.data, rec.len);
    assert_false(out.oom);
    assert_int_equal(end, sizeof VERIFIED);
    assert_int_equal(out.len, sizeof VERIFIED);
    assert_memory_equal(out.data, VERIFIED, sizeof VERIFIED);
    evt_buf_free(&rec);
    evt_buf_free(&out);
}

/* A file of the header and records of the given sizes (content: bytes
 * derived from the record index), read back. */
static void frame_and_read(const size_t *sizes, size_t n, struct wbr_file *f,
                           struct evt_buf *out)
{
    evt_buf_init(out);
    evt_buf_put(out, wb_log_file_header, 7);
    uint64_t off = 7;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; k++)
            p[k] = (unsigned char)(k * 7 + i);
        off = wb_log_frame(out, off, p, sizes[i]);
        free(p);
        assert_int_equal(off, out->len);
    }
    char err[128];
    if (wbr_read((unsigned char *)out->data, out->len, f, err, sizeof err))
        fail_msg("reader: %s", err);
    assert_int_equal(f->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f->rec[i].len, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            if (f->rec[i].data[k] != (unsigned char)(k * 7 + i))
                fail_msg("record %zu byte %zu differs", i, k);
    }
}

static void test_writer_record_over_three_blocks(void **state)
{
    (void)state;
    size_t sizes[] = {70000, 10};
    struct wbr_file f;
    struct evt_buf out;
    frame_and_read(sizes, 2, &f, &out);
    assert_int_equal(f.rec[0].chunks, 3); /* FIRST, MIDDLE, LAST */
    assert_int_equal(f.rec[1].chunks, 1);
    /* the first chunk fills block 0 exactly: 7 + 7 + 32754 */
    unsigned char *c0 = (unsigned char *)out.data + 7;
    assert_int_equal(c0[4] | c0[5] << 8, 32754);
    assert_int_equal(c0[6], WB_CHUNK_FIRST);
    unsigned char *c1 = (unsigned char *)out.data + 32768;
    assert_int_equal(c1[4] | c1[5] << 8, 32761);
    assert_int_equal(c1[6], WB_CHUNK_MIDDLE);
    unsigned char *c2 = (unsigned char *)out.data + 65536;
    assert_int_equal(c2[6], WB_CHUNK_LAST);
    assert_int_equal(c2[4] | c2[5] << 8, 70000 - 32754 - 32761);
    wbr_free(&f);
    evt_buf_free(&out);
}

static void test_writer_block_trailer(void **state)
{
    (void)state;
    /* after the first record 6 bytes are left: zero-filled */
    size_t six[] = {32768 - 6 - 14, 5};
    struct wbr_file f;
    struct evt_buf out;
    frame_and_read(six, 2, &f, &out);
    assert_int_equal(f.trailers, 1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(out.data[32762 + i], 0);
    assert_int_equal((unsigned char)out.data[32768 + 6], WB_CHUNK_FULL);
    wbr_free(&f);
    evt_buf_free(&out);
    /* exactly 7 left: a zero-length FIRST chunk, then LAST in block 1 */
    size_t seven[] = {32768 - 7 - 14, 5};
    frame_and_read(seven, 2, &f, &out);
    assert_int_equal(f.trailers, 0);
    unsigned char *c = (unsigned char *)out.data + 32761;
    assert_int_equal(c[4] | c[5] << 8, 0);
    assert_int_equal(c[6], WB_CHUNK_FIRST);
    assert_int_equal((unsigned char)out.data[32768 + 6], WB_CHUNK_LAST);
    assert_int_equal(f.rec[1].chunks, 2);
    wbr_free(&f);
    evt_buf_free(&out);
}

/* ---- a whole offline run through the plugin ---------------------------- */

static char *find_offline_run(const char *root)
{
    DIR *d = opendir(root);
    if (!d)
        fail_msg("no folder %s", root);
    char *found = NULL;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "offline-run-", 12) == 0) {
            assert_null(found);
            found = tu_fmt("%s/%s", root, de->d_name);
        }
    closedir(d);
    assert_non_null(found);
    return found;
}

static evt_tracker *open_offline(const char *dir)
{
    char err[512];
    char *cfg = tu_fmt(
        "{\"version\": 1, \"output_dir\": \"%s/out\", \"state_dir\": "
        "\"%s/state\", \"run_id\": \"off-run-1\", \"sinks\": [{\"plugin\": "
        "\"wandb\", \"config\": {\"project\": \"offproj\", \"entity\": "
        "\"me\", \"tags\": [\"x\", \"y\"], \"name\": \"nice name\"}}]}",
        dir, dir);
    evt_tracker *t = NULL;
    if (evt_open_json(cfg, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(cfg);
    return t;
}

#define NSTEPS 400

static void log_offline_run(evt_tracker *t)
{
    log_json(t, EVT_EV_RUN_START,
             "{\"model_source\": \"hf\", \"model_name\": \"org/m\","
             " \"config\": {\"model\": \"hf\", \"batch_size\": 2}}");
    /* written alone: the run record has no task yet, a config record
     * follows */
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"arc_easy\", \"version\": 1, \"n-shot\": 0,"
             " \"config\": {\"output_type\": \"multiple_choice\"}}");
    for (int i = 0; i < NSTEPS; i++) {
        char tag[200];
        /* long tags make the file span several 32 KiB blocks */
        snprintf(tag, sizeof tag, "train/loss_with_a_rather_long_name_to_"
                                  "fill_blocks_%d",
                 i % 3);
        assert_int_equal(evt_log_scalar(t, tag, 1.0 / (i + 1), i), EVT_OK);
    }
    for (int i = 0; i < 3; i++) {
        char *s = tu_fmt("{\"task\": \"arc_easy\", \"doc_id\": %d, \"filter\":"
                         " \"none\", \"target\": \"%d\", \"input\": \"Q%d?\","
                         " \"resps\": [[\"%d\"]], \"filtered_resps\":"
                         " [\"%d\"], \"metrics\": {\"acc\": 1.0}}",
                         i, i, i, i, i);
        log_json(t, EVT_EV_SAMPLE, s);
        free(s);
    }
    assert_int_equal(evt_log_result(t, "arc_easy", "acc", "none", 0.75, 0.01,
                                    -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
}

static void expect_item(const struct wbr_field *it, const char *key,
                        const char *json)
{
    struct wbr_msg m;
    assert_int_equal(wbr_decode(it->p, it->n, &m), 0);
    char *k = wbr_str(wbr_get(&m, 1)), *v = wbr_str(wbr_get(&m, 16));
    if (strcmp(k, key) != 0 || (json && strcmp(v, json) != 0))
        fail_msg("item %s = %s, expected %s = %s", k, v, key,
                 json ? json : "(any)");
    free(k);
    free(v);
}

/* 1 when the config items (ConfigItem{key, value_json}) of msg include
 * task_configs with arc_easy's. */
static int config_has_tasks(const struct wbr_msg *cfg, uint32_t field)
{
    int found = 0;
    for (size_t i = 0; i < wbr_count(cfg, field); i++) {
        struct wbr_msg it;
        const struct wbr_field *f = wbr_nth(cfg, field, i);
        assert_int_equal(wbr_decode(f->p, f->n, &it), 0);
        char *k = wbr_str(wbr_get(&it, 1)), *v = wbr_str(wbr_get(&it, 16));
        if (strcmp(k, "task_configs") == 0) {
            cJSON *o = cJSON_Parse(v); /* the value itself, no "value" */
            assert_non_null(o);
            found = cJSON_GetObjectItem(o, "arc_easy") != NULL;
            cJSON_Delete(o);
        }
        if (strcmp(k, "model") == 0)
            assert_string_equal(v, "\"hf\"");
        free(k);
        free(v);
    }
    return found;
}

/* A ConfigRecord: update items. */
static int check_config_items(const struct wbr_field *body)
{
    struct wbr_msg c;
    assert_int_equal(wbr_decode(body->p, body->n, &c), 0);
    return config_has_tasks(&c, 1);
}

static int check_run_record(const struct wbr_field *body)
{
    struct wbr_msg run;
    assert_int_equal(wbr_decode(body->p, body->n, &run), 0);
    char *id = wbr_str(wbr_get(&run, 1)), *ent = wbr_str(wbr_get(&run, 2));
    char *proj = wbr_str(wbr_get(&run, 3)), *dn = wbr_str(wbr_get(&run, 8));
    assert_string_equal(id, "off-run-1");
    assert_string_equal(ent, "me");
    assert_string_equal(proj, "offproj");
    assert_string_equal(dn, "nice name");
    assert_int_equal(wbr_count(&run, 10), 2); /* tags */
    assert_non_null(wbr_get(&run, 17));      /* start_time */
    free(id);
    free(ent);
    free(proj);
    free(dn);
    const struct wbr_field *cf = wbr_get(&run, 4); /* ConfigRecord */
    struct wbr_msg c;
    if (!cf)
        return 0;
    assert_int_equal(wbr_decode(cf->p, cf->n, &c), 0);
    return config_has_tasks(&c, 1);
}

static void check_history(const struct wbr_field *body, int64_t step)
{
    struct wbr_msg h, st;
    assert_int_equal(wbr_decode(body->p, body->n, &h), 0);
    const struct wbr_field *s = wbr_get(&h, 2);
    assert_non_null(s);
    assert_int_equal(wbr_decode(s->p, s->n, &st), 0);
    const struct wbr_field *num = wbr_get(&st, 1);
    assert_int_equal(num ? (int64_t)num->u : 0, step);
    if (step < NSTEPS) {
        char key[200], val[64];
        snprintf(key, sizeof key, "train/loss_with_a_rather_long_name_to_"
                                  "fill_blocks_%d",
                 (int)(step % 3));
        snprintf(val, sizeof val, "%.17g", 1.0 / (double)(step + 1));
        const struct wbr_field *it = wbr_get(&h, 1);
        assert_non_null(it);
        struct wbr_msg im;
        assert_int_equal(wbr_decode(it->p, it->n, &im), 0);
        char *k = wbr_str(wbr_get(&im, 1)), *v = wbr_str(wbr_get(&im, 16));
        assert_string_equal(k, key);
        assert_true(strtod(v, NULL) == 1.0 / (double)(step + 1));
        free(k);
        free(v);
        expect_item(wbr_nth(&h, 1, 1), "_step", NULL);
    } else { /* the results row */
        expect_item(wbr_nth(&h, 1, 0), "arc_easy/acc", "0.75");
        expect_item(wbr_nth(&h, 1, 1), "arc_easy/acc_stderr", "0.01");
    }
}

static void test_offline_run_file(void **state)
{
    (void)state;
    fake_wandb_clear_env();
    setenv("WANDB_MODE", "offline", 1);
    char *dir = tu_tmpdir();
    evt_tracker *t = open_offline(dir);
    log_offline_run(t);
    assert_int_equal(evt_close(t, 30000), EVT_OK);
    unsetenv("WANDB_MODE");

    char *root = tu_fmt("%s/out/wandb", dir);
    char *run = find_offline_run(root);
    assert_non_null(strstr(run, "-off-run-1"));
    char *path = tu_fmt("%s/run-off-run-1.wandb", run);
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    assert_non_null(buf);
    assert_true(len > WBR_BLOCK); /* spans blocks */
    struct wbr_file f;
    char err[128];
    if (wbr_read((unsigned char *)buf, len, &f, err, sizeof err))
        fail_msg("%s: %s", path, err);
    assert_true(f.blocks_spanned >= 1 || f.trailers >= 1);

    /* header, run, NSTEPS + 1 history rows, files, summary, exit, final;
     * config records (the config grew after the run record) may come
     * anywhere after the run record, the last one holding every task */
    int64_t step = 0;
    size_t k = 0, nconfig = 0, files_at = 0;
    int task_configs = 0;
    for (size_t i = 0; i < f.n; i++) {
        struct wbr_msg m;
        const struct wbr_field *body = NULL, *num;
        assert_int_equal(wbr_decode(f.rec[i].data, f.rec[i].len, &m), 0);
        num = wbr_get(&m, 1);
        assert_non_null(num);
        assert_int_equal(num->u, i); /* records numbered from 0 */
        uint32_t type = wbr_record_type(&m, &body);
        if (type == 5 && i > 1) {
            nconfig++;
            task_configs = check_config_items(body);
            continue;
        }
        uint32_t want = k == 0              ? 21
                        : k == 1            ? 17
                        : k < 3 + NSTEPS    ? 2
                        : k == 3 + NSTEPS   ? 6
                        : k == 4 + NSTEPS   ? 3
                        : k == 5 + NSTEPS   ? 18
                                            : 20;
        if (type != want || k > 6 + NSTEPS)
            fail_msg("record %zu: type %u, expected %u", i, type, want);
        if (type == 17)
            task_configs = check_run_record(body);
        if (type == 2)
            check_history(body, step++);
        if (type == 6)
            files_at = i;
        k++;
    }
    assert_int_equal(k, 2 + NSTEPS + 1 + 4);
    assert_true(nconfig >= 1);
    assert_true(task_configs); /* the last config has the task configs */
    /* the files record names files that exist under files/ */
    struct wbr_msg m, fr, it;
    const struct wbr_field *body = NULL;
    assert_int_equal(wbr_decode(f.rec[files_at].data, f.rec[files_at].len,
                                &m),
                     0);
    wbr_record_type(&m, &body);
    assert_int_equal(wbr_decode(body->p, body->n, &fr), 0);
    size_t nfiles = wbr_count(&fr, 1);
    assert_true(nfiles >= 3); /* eval table, samples table, results.json... */
    int saw_table = 0;
    for (size_t i = 0; i < nfiles; i++) {
        const struct wbr_field *fi = wbr_nth(&fr, 1, i);
        assert_int_equal(wbr_decode(fi->p, fi->n, &it), 0);
        char *name = wbr_str(wbr_get(&it, 1));
        char *fp = tu_fmt("%s/files/%s", run, name);
        struct stat st;
        if (stat(fp, &st) != 0)
            fail_msg("listed file %s is missing", fp);
        saw_table |= strncmp(name, "media/table/evaluation/eval_results_",
                             36) == 0;
        free(name);
        free(fp);
    }
    assert_true(saw_table);
    wbr_free(&f);
    free(buf);
    free(path);
    free(run);
    free(root);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_reader_verified_bytes),
        cmocka_unit_test(test_writer_header_record_bytes),
        cmocka_unit_test(test_writer_record_over_three_blocks),
        cmocka_unit_test(test_writer_block_trailer),
        cmocka_unit_test(test_offline_run_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
