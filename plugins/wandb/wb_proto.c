/* wb_proto.c -- protobuf fields and the Record messages of a .wandb file
 * (wb_proto.h). A nested message is encoded into its own buffer first,
 * then appended with its key and length: records are small, and this
 * keeps every message one straightforward function. */
#include "wb_proto.h"

#include <string.h>

/* Record.num and the nested message numbers used below. */
#define F_NUM 1
#define F_ITEM_KEY 1
#define F_ITEM_JSON 16

/* A string field, left out when s is NULL or empty (the proto3 default). */
static void put_str(struct evt_buf *b, uint32_t field, const char *s)
{
    if (s && *s)
        evt_pb_bytes(b, field, s, strlen(s));
}

/* Append sub as field of b, and empty sub for reuse. */
static void put_msg(struct evt_buf *b, uint32_t field, struct evt_buf *sub)
{
    if (sub->oom)
        b->oom = 1;
    evt_pb_bytes(b, field, sub->data, sub->len);
    sub->len = 0;
}

/* Append {key=1, value_json=16} items of m as repeated field to b. */
static void put_items(struct evt_buf *b, uint32_t field,
                      const struct wb_kvs *m)
{
    struct evt_buf it;
    evt_buf_init(&it);
    for (size_t i = 0; m && i < m->n; i++) {
        evt_pb_bytes(&it, F_ITEM_KEY, m->v[i].key, strlen(m->v[i].key));
        evt_pb_bytes(&it, F_ITEM_JSON, m->v[i].json, strlen(m->v[i].json));
        put_msg(b, field, &it);
    }
    evt_buf_free(&it);
}

/* Record{num, <type> = body}; body is emptied. */
static void put_record(struct evt_buf *out, int64_t num, uint32_t type,
                       struct evt_buf *body)
{
    evt_pb_int(out, F_NUM, num);
    put_msg(out, type, body);
}

void wb_rec_header(struct evt_buf *out, int64_t num, const char *producer,
                   const char *min_consumer)
{
    struct evt_buf vi, hdr;
    evt_buf_init(&vi);
    evt_buf_init(&hdr);
    put_str(&vi, 1, producer);
    put_str(&vi, 2, min_consumer);
    put_msg(&hdr, 1, &vi); /* HeaderRecord.version_info */
    put_record(out, num, WB_REC_HEADER, &hdr);
    evt_buf_free(&vi);
    evt_buf_free(&hdr);
}

/* google.protobuf.Timestamp{seconds=1, nanos=2} of Unix ns. */
static void put_timestamp(struct evt_buf *b, uint32_t field, int64_t ns)
{
    struct evt_buf ts;
    evt_buf_init(&ts);
    int64_t secs = ns / 1000000000, nanos = ns % 1000000000;
    if (nanos < 0) {
        secs--;
        nanos += 1000000000;
    }
    if (secs)
        evt_pb_int(&ts, 1, secs);
    if (nanos)
        evt_pb_int(&ts, 2, nanos);
    put_msg(b, field, &ts);
    evt_buf_free(&ts);
}

void wb_rec_run(struct evt_buf *out, int64_t num,
                const struct wb_run_info *ri)
{
    struct evt_buf run, cfg;
    evt_buf_init(&run);
    evt_buf_init(&cfg);
    put_str(&run, 1, ri->run_id);
    put_str(&run, 2, ri->entity);
    put_str(&run, 3, ri->project);
    if (ri->config && ri->config->n) {
        put_items(&cfg, 1, ri->config); /* ConfigRecord.update */
        put_msg(&run, 4, &cfg);
    }
    put_str(&run, 6, ri->group);
    put_str(&run, 7, ri->job_type);
    put_str(&run, 8, ri->display_name);
    put_str(&run, 9, ri->notes);
    for (size_t i = 0; i < ri->ntags; i++)
        evt_pb_bytes(&run, 10, ri->tags[i], strlen(ri->tags[i]));
    put_str(&run, 13, ri->host);
    if (ri->starting_step)
        evt_pb_int(&run, 14, ri->starting_step);
    put_str(&run, 16, ri->storage_id);
    if (ri->start_ns)
        put_timestamp(&run, 17, ri->start_ns);
    if (ri->resumed)
        evt_pb_int(&run, 18, 1);
    put_record(out, num, WB_REC_RUN, &run);
    evt_buf_free(&run);
    evt_buf_free(&cfg);
}

void wb_rec_history(struct evt_buf *out, int64_t num,
                    const struct wb_kvs *items, int64_t step)
{
    struct evt_buf h, st;
    evt_buf_init(&h);
    evt_buf_init(&st);
    put_items(&h, 1, items);
    if (step)
        evt_pb_int(&st, 1, step);
    put_msg(&h, 2, &st); /* HistoryRecord.step, present even for step 0 */
    put_record(out, num, WB_REC_HISTORY, &h);
    evt_buf_free(&h);
    evt_buf_free(&st);
}

static void items_record(struct evt_buf *out, int64_t num, uint32_t type,
                         const struct wb_kvs *items)
{
    struct evt_buf r;
    evt_buf_init(&r);
    put_items(&r, 1, items); /* update */
    put_record(out, num, type, &r);
    evt_buf_free(&r);
}

void wb_rec_summary(struct evt_buf *out, int64_t num,
                    const struct wb_kvs *items)
{
    items_record(out, num, WB_REC_SUMMARY, items);
}

void wb_rec_config(struct evt_buf *out, int64_t num,
                   const struct wb_kvs *items)
{
    items_record(out, num, WB_REC_CONFIG, items);
}

void wb_rec_files(struct evt_buf *out, int64_t num, const char *const *paths,
                  size_t n, int policy)
{
    struct evt_buf f, it;
    evt_buf_init(&f);
    evt_buf_init(&it);
    for (size_t i = 0; i < n; i++) {
        put_str(&it, 1, paths[i]);
        if (policy)
            evt_pb_int(&it, 2, policy);
        put_msg(&f, 1, &it);
    }
    put_record(out, num, WB_REC_FILES, &f);
    evt_buf_free(&f);
    evt_buf_free(&it);
}

void wb_rec_exit(struct evt_buf *out, int64_t num, int32_t exit_code,
                 int32_t runtime)
{
    struct evt_buf e;
    evt_buf_init(&e);
    if (exit_code)
        evt_pb_int(&e, 1, exit_code);
    if (runtime)
        evt_pb_int(&e, 2, runtime);
    put_record(out, num, WB_REC_EXIT, &e);
    evt_buf_free(&e);
}

void wb_rec_final(struct evt_buf *out, int64_t num)
{
    struct evt_buf e;
    evt_buf_init(&e);
    put_record(out, num, WB_REC_FINAL, &e);
    evt_buf_free(&e);
}
