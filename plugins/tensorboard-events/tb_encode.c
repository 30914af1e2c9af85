/* tb_encode.c -- protobuf fields, TFRecord frames and the Event messages
 * of TensorBoard event files (protocols.md section 3).
 *
 * Nested messages need their length before their bytes. The Event
 * encoders other than the scalar one use a writer (struct pbw) that can
 * also just count: a sub-message is counted first, then its key and
 * length are written, then the same body function writes it. Each message
 * is thus described by one function, and the two passes cannot disagree.
 *
 * tb_event_scalar is the hot path: its nested lengths are computed
 * arithmetically and the bytes around the tag are assembled on the stack,
 * so a call costs three appends and no allocation of its own.
 *
 * OOM: every public function remembers out->len at entry and restores it
 * when out->oom became set, so a failing call leaves no partial message.
 *
 * Every field number used here is below 16, so every key is one byte;
 * the size arithmetic relies on it (ld_size). */
#include "tb_encode.h"

#include <string.h>

#include "evtrack/sdk/crc32c.h"

/* A tag longer than this is refused (oom) before any size arithmetic, so
 * the sums below cannot wrap. No real tag comes near it. */
#define TB_MAX_FIELD (SIZE_MAX / 4)

/* The IEEE bits of d and f (memcpy: no aliasing or union tricks). */
static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Size of a length-delimited field with a one-byte key and n bytes. */
static size_t ld_size(size_t n)
{
    return 1 + evt_pb_varint_size(n) + n;
}

/* ---- TFRecord ---------------------------------------------------------- */

/* data must not point into out: appending may move out->data. */
void tb_record_frame(struct evt_buf *out, const void *data, size_t n)
{
    uint8_t head[12], tail[4];
    evt_pb_put_le(head, (uint64_t)n, 8);
    evt_pb_put_le(head + 8, evt_crc32c_mask(evt_crc32c(0, head, 8)), 4);
    size_t mark = out->len;
    evt_buf_put(out, head, sizeof head);
    evt_buf_put(out, data, n);
    if (!out->oom) { /* the data CRC only once the data fitted */
        evt_pb_put_le(tail, evt_crc32c_mask(evt_crc32c(0, data, n)), 4);
        evt_buf_put(out, tail, sizeof tail);
    }
    evt_buf_rollback_oom(out, mark);
}

/* ---- a writer that appends or only counts ------------------------------ */

struct pbw {
    struct evt_buf *b; /* NULL: count only */
    size_t n;          /* bytes counted (count mode) */
};

typedef void (*pbw_body)(struct pbw *w, const void *ctx);

static void w_raw(struct pbw *w, const void *p, size_t n)
{
    if (w->b)
        evt_buf_put(w->b, p, n);
    else
        w->n += n;
}

static void w_int(struct pbw *w, uint32_t field, int64_t v)
{
    uint8_t t[2 * EVT_PB_MAX_VARINT];
    size_t n = evt_pb_put_key(t, field, EVT_PB_VARINT);
    n += evt_pb_put_varint(t + n, (uint64_t)v);
    w_raw(w, t, n);
}

static void w_double(struct pbw *w, uint32_t field, double v)
{
    uint8_t t[EVT_PB_MAX_VARINT + 8];
    size_t n = evt_pb_put_key(t, field, EVT_PB_FIXED64);
    n += evt_pb_put_le(t + n, double_bits(v), 8);
    w_raw(w, t, n);
}

/* A plain (non-oneof) proto3 double: omitted when its bits are zero, as
 * protobuf does (so -0.0 is still written). */
static void w_double_opt(struct pbw *w, uint32_t field, double v)
{
    if (double_bits(v) != 0)
        w_double(w, field, v);
}

static void w_len(struct pbw *w, uint32_t field, size_t len)
{
    uint8_t t[2 * EVT_PB_MAX_VARINT];
    size_t n = evt_pb_put_key(t, field, EVT_PB_LEN);
    n += evt_pb_put_varint(t + n, len);
    w_raw(w, t, n);
}

/* Always written (a oneof member, a map key or a repeated element). */
static void w_str(struct pbw *w, uint32_t field, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    w_len(w, field, n);
    w_raw(w, s, n);
}

/* A plain proto3 string: omitted when NULL or empty. */
static void w_str_opt(struct pbw *w, uint32_t field, const char *s)
{
    if (s && *s)
        w_str(w, field, s);
}

/* A sub-message: count the body, write key and length, write the body.
 * In count mode the body is counted once and not run a second time, so
 * nesting costs one counting pass per level, not 2^depth. */
static void w_msg(struct pbw *w, uint32_t field, pbw_body body,
                  const void *ctx)
{
    struct pbw c = {NULL, 0};
    body(&c, ctx);
    w_len(w, field, c.n);
    if (w->b)
        body(w, ctx);
    else
        w->n += c.n;
}

/* ---- Event, Summary, SummaryMetadata ----------------------------------- */

/* Event fields 1 and 2 (proto3: wall_time 0.0 and step 0 are omitted). */
static size_t raw_event_head(uint8_t *p, double wall_time, int64_t step)
{
    size_t n = 0;
    if (double_bits(wall_time) != 0) {
        n += evt_pb_put_key(p + n, 1, EVT_PB_FIXED64);
        n += evt_pb_put_le(p + n, double_bits(wall_time), 8);
    }
    if (step != 0) {
        n += evt_pb_put_key(p + n, 2, EVT_PB_VARINT);
        n += evt_pb_put_varint(p + n, (uint64_t)step);
    }
    return n;
}

/* One Summary.Value, described by its body function. */
struct one_value {
    pbw_body body;
    const void *ctx;
};

static void summary_body(struct pbw *w, const void *ctx)
{
    const struct one_value *v = ctx;
    w_msg(w, 1, v->body, v->ctx); /* Summary.value */
}

/* Event{wall_time, step, summary{value}} appended to out, atomically. */
static void put_summary_event(struct evt_buf *out, double wall_time,
                              int64_t step, pbw_body value_body,
                              const void *ctx)
{
    uint8_t head[1 + 8 + 1 + EVT_PB_MAX_VARINT] = {0}; /* for gcc -O2 */
    struct one_value v = {value_body, ctx};
    struct pbw w = {out, 0};
    size_t mark = out->len;
    w_raw(&w, head, raw_event_head(head, wall_time, step));
    w_msg(&w, 5, summary_body, &v); /* Event.summary */
    evt_buf_rollback_oom(out, mark);
}

/* SummaryMetadata{plugin_data{plugin_name, content}}; content (a message
 * body) is omitted when NULL, as proto3 omits empty bytes. */
struct plugin {
    const char *name;
    pbw_body content;
    const void *ctx;
};

static void plugin_data_body(struct pbw *w, const void *ctx)
{
    const struct plugin *p = ctx;
    w_str_opt(w, 1, p->name);
    if (p->content)
        w_msg(w, 2, p->content, p->ctx);
}

static void metadata_body(struct pbw *w, const void *ctx)
{
    w_msg(w, 1, plugin_data_body, ctx);
}

/* ---- file_version ------------------------------------------------------- */

static void source_metadata_body(struct pbw *w, const void *ctx)
{
    w_str(w, 1, ctx); /* SourceMetadata.writer */
}

void tb_event_file_version(struct evt_buf *out, double wall_time,
                           const char *writer)
{
    uint8_t head[1 + 8] = {0}; /* for gcc -O2 */
    struct pbw w = {out, 0};
    size_t mark = out->len;
    w_raw(&w, head, raw_event_head(head, wall_time, 0));
    w_str(&w, 3, "brain.Event:2"); /* Event.file_version */
    if (writer && *writer)
        w_msg(&w, 10, source_metadata_body, writer);
    evt_buf_rollback_oom(out, mark);
}

/* ---- scalars (hot path) -------------------------------------------------- */

/* Value fields after the tag in the tensor form (protocols.md 3.5):
 * tensor=8 {dtype DT_FLOAT, tensor_shape {}, float_val [x]} then
 * metadata=9 {plugin_data {plugin_name "scalars"}}. The 4 float bytes
 * go at SCALAR_TENSOR_X. */
static const uint8_t scalar_tensor_tail[] = {
    0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x2a, 0x04, 0, 0, 0, 0,
    0x4a, 0x0b, 0x0a, 0x09, 0x0a, 0x07, 's', 'c', 'a', 'l', 'a', 'r', 's'};
#define SCALAR_TENSOR_X 8

/* The Value bytes that follow the tag; returns their number. */
static size_t scalar_tail(uint8_t *p, float value, enum tb_scalar_form form)
{
    if (form == TB_SCALAR_TENSOR) {
        memcpy(p, scalar_tensor_tail, sizeof scalar_tensor_tail);
        evt_pb_put_le(p + SCALAR_TENSOR_X, float_bits(value), 4);
        return sizeof scalar_tensor_tail;
    }
    size_t n = evt_pb_put_key(p, 2, EVT_PB_FIXED32); /* simple_value: oneof, kept */
    return n + evt_pb_put_le(p + n, float_bits(value), 4);
}

void tb_event_scalar(struct evt_buf *out, double wall_time, int64_t step,
                     const char *tag, size_t tag_len, float value,
                     enum tb_scalar_form form)
{
    if (tag_len > TB_MAX_FIELD) {
        out->oom = 1;
        return;
    }
    uint8_t tail[sizeof scalar_tensor_tail];
    size_t tail_len = scalar_tail(tail, value, form);
    size_t value_len = (tag_len ? ld_size(tag_len) : 0) + tail_len;

    /* wall_time, step, summary key+len, value key+len, tag key+len;
     * zeroed only to quiet gcc -O2's maybe-uninitialized */
    uint8_t head[9 + 1 + EVT_PB_MAX_VARINT + 3 * (1 + EVT_PB_MAX_VARINT)] = {0};
    size_t h = raw_event_head(head, wall_time, step);
    h += evt_pb_put_key(head + h, 5, EVT_PB_LEN); /* Event.summary */
    h += evt_pb_put_varint(head + h, ld_size(value_len));
    h += evt_pb_put_key(head + h, 1, EVT_PB_LEN); /* Summary.value */
    h += evt_pb_put_varint(head + h, value_len);
    if (tag_len) { /* Value.tag; proto3 omits an empty one */
        h += evt_pb_put_key(head + h, 1, EVT_PB_LEN);
        h += evt_pb_put_varint(head + h, tag_len);
    }
    size_t mark = out->len;
    evt_buf_put(out, head, h);
    evt_buf_put(out, tag, tag_len);
    evt_buf_put(out, tail, tail_len);
    evt_buf_rollback_oom(out, mark);
}

/* ---- text ---------------------------------------------------------------- */

struct text_args {
    const char *tag;
    const int64_t *dims;
    int rank;
    const char *const *strs;
    size_t n;
};

static void dim_body(struct pbw *w, const void *ctx)
{
    int64_t size = *(const int64_t *)ctx;
    if (size != 0) /* TensorShapeProto.Dim.size; 0 leaves "12 00" */
        w_int(w, 1, size);
}

static void shape_body(struct pbw *w, const void *ctx)
{
    const struct text_args *a = ctx;
    for (int i = 0; i < a->rank; i++)
        w_msg(w, 2, dim_body, &a->dims[i]); /* TensorShapeProto.dim */
}

static void text_tensor_body(struct pbw *w, const void *ctx)
{
    const struct text_args *a = ctx;
    w_int(w, 1, 7);               /* dtype DT_STRING */
    w_msg(w, 2, shape_body, a);   /* tensor_shape, "12 00" for rank 0 */
    for (size_t i = 0; i < a->n; i++)
        w_str(w, 8, a->strs[i]);  /* string_val: every element kept */
}

static void text_value_body(struct pbw *w, const void *ctx)
{
    static const struct plugin text_plugin = {"text", NULL, NULL};
    const struct text_args *a = ctx;
    w_str_opt(w, 1, a->tag);
    w_msg(w, 8, text_tensor_body, a);
    w_msg(w, 9, metadata_body, &text_plugin);
}

void tb_event_text(struct evt_buf *out, double wall_time, int64_t step,
                   const char *tag, const int64_t *dims, int rank,
                   const char *const *strs, size_t n)
{
    struct text_args a = {tag, dims, rank, strs, n};
    put_summary_event(out, wall_time, step, text_value_body, &a);
}

/* ---- hparams ------------------------------------------------------------- */

/* NULL_TENSOR as Value.tensor (field 8): {DT_FLOAT, shape {dim {}}}. */
static const uint8_t null_tensor_field[] = {0x42, 0x06, 0x08, 0x01,
                                            0x12, 0x02, 0x12, 0x00};

/* A Summary.Value of the hparams plugin: tag, NULL_TENSOR, metadata whose
 * content is HParamsPluginData (version 0, so only the oneof member). */
struct hp_value {
    const char *tag;
    struct plugin plugin;
};

static void hp_value_body(struct pbw *w, const void *ctx)
{
    const struct hp_value *v = ctx;
    w_str(w, 1, v->tag);
    w_raw(w, null_tensor_field, sizeof null_tensor_field);
    w_msg(w, 9, metadata_body, &v->plugin);
}

/* google.protobuf.Value: kind is a oneof, so 0, "" and false are kept. */
static void pb_value_body(struct pbw *w, const void *ctx)
{
    const struct tb_hparam *h = ctx;
    switch (h->kind) {
    case TB_HP_NUMBER:
        w_double(w, 2, h->number);
        break;
    case TB_HP_STRING:
        w_str(w, 3, h->string);
        break;
    case TB_HP_BOOL:
        w_int(w, 4, h->boolean != 0);
        break;
    }
}

/* A map entry: protobuf writes key and value even at their defaults. */
static void hp_entry_body(struct pbw *w, const void *ctx)
{
    const struct tb_hparam *h = ctx;
    w_str(w, 1, h->key);
    w_msg(w, 2, pb_value_body, h);
}

struct hp_start_args {
    const struct tb_hparam *hp;
    size_t n;
    const char *group_name;
    double start_time_secs;
};

static void session_start_body(struct pbw *w, const void *ctx)
{
    const struct hp_start_args *a = ctx;
    for (size_t i = 0; i < a->n; i++)
        w_msg(w, 1, hp_entry_body, &a->hp[i]); /* hparams */
    w_str_opt(w, 4, a->group_name);
    w_double_opt(w, 5, a->start_time_secs);
}

static void hp_start_content(struct pbw *w, const void *ctx)
{
    w_msg(w, 3, session_start_body, ctx); /* session_start_info */
}

void tb_event_hparams_start(struct evt_buf *out, double wall_time,
                            const struct tb_hparam *hp, size_t n,
                            const char *group_name, double start_time_secs)
{
    struct hp_start_args a = {hp, n, group_name, start_time_secs};
    struct hp_value v = {"_hparams_/session_start_info",
                         {"hparams", hp_start_content, &a}};
    put_summary_event(out, wall_time, 0, hp_value_body, &v);
}

struct hp_end_args {
    enum tb_session_status status;
    double end_time_secs;
};

static void session_end_body(struct pbw *w, const void *ctx)
{
    const struct hp_end_args *a = ctx;
    if (a->status != TB_STATUS_UNKNOWN)
        w_int(w, 1, (int64_t)a->status);
    w_double_opt(w, 2, a->end_time_secs);
}

static void hp_end_content(struct pbw *w, const void *ctx)
{
    w_msg(w, 4, session_end_body, ctx); /* session_end_info */
}

void tb_event_hparams_end(struct evt_buf *out, double wall_time,
                          enum tb_session_status status,
                          double end_time_secs)
{
    struct hp_end_args a = {status, end_time_secs};
    struct hp_value v = {"_hparams_/session_end_info",
                         {"hparams", hp_end_content, &a}};
    put_summary_event(out, wall_time, 0, hp_value_body, &v);
}
