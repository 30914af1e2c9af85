/* tb_reader.h -- an independent TensorBoard event-file reader for the tests
 * (header-only, every function static).
 *
 * It shares no code with the sink or the sdk, so that it checks them:
 *  - its own bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78,
 *    init and final XOR 0xFFFFFFFF) and TensorFlow's mask
 *    ((crc >> 15 | crc << 17) + 0xA282EAD8);
 *  - TFRecord framing: u64 LE length | u32 LE masked crc(length bytes) |
 *    data | u32 LE masked crc(data). tbr_split() returns the complete
 *    records, checks both CRCs of each (a mismatch is an error naming the
 *    record index), and stops at a torn last record, which it reports;
 *  - a generic protobuf reader (varint, fixed64, length-delimited, fixed32);
 *  - a structured decode of tensorboard.Event (wall_time, step,
 *    file_version, source_metadata.writer, summary values with tag,
 *    simple_value, metadata.plugin_data and tensor) and of the hparams
 *    plugin's HParamsPluginData (session_start_info, session_end_info).
 *
 * Field numbers: shared/reference/protocols.md section 3. Fields the
 * decoder does not know are skipped and counted in `unknown`, so a test can
 * insist on none. Nothing here calls cmocka: errors come back as a status
 * and a message, and the test decides. */
#ifndef EVT_TEST_TB_READER_H
#define EVT_TEST_TB_READER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every function is static; the attribute keeps -Wunused-function quiet in
 * a test that uses only some of them. */
#define TBR_FN static __attribute__((unused))

/* ---- CRC-32C ------------------------------------------------------------ */

TBR_FN uint32_t tbr_crc32c(const void *buf, size_t n)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

TBR_FN uint32_t tbr_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

TBR_FN uint32_t tbr_masked_crc(const void *buf, size_t n)
{
    return tbr_mask(tbr_crc32c(buf, n));
}

TBR_FN uint32_t tbr_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

TBR_FN uint64_t tbr_le64(const uint8_t *p)
{
    return (uint64_t)tbr_le32(p) | (uint64_t)tbr_le32(p + 4) << 32;
}

__attribute__((format(printf, 3, 4)))
TBR_FN void tbr_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- TFRecord framing ---------------------------------------------------- */

struct tbr_record {
    const uint8_t *data; /* points into the buffer given to tbr_split */
    size_t len;
    size_t offset; /* of the record's first header byte */
};

struct tbr_records {
    struct tbr_record *rec; /* complete, CRC-checked records */
    size_t n;
    int torn;           /* 1: an incomplete record follows the last one */
    size_t torn_offset; /* where it starts */
    size_t torn_bytes;  /* how many of its bytes are there */
};

enum {
    TBR_OK = 0,
    TBR_ELENCRC = -1,  /* a length CRC does not match */
    TBR_EDATACRC = -2, /* a data CRC does not match */
    TBR_EPROTO = -3,   /* malformed protobuf */
    TBR_ENOMEM = -4,
    TBR_EIO = -5
};

#define TBR_HEADER 12u /* u64 length + u32 masked CRC of it */
#define TBR_FOOTER 4u  /* u32 masked CRC of the data */

TBR_FN void tbr_records_free(struct tbr_records *r)
{
    free(r->rec);
    memset(r, 0, sizeof *r);
}

/* Split buf into records. Returns TBR_OK when every complete record has
 * both CRCs right (a torn last record is not an error: out->torn says so).
 * On a CRC mismatch returns TBR_ELENCRC / TBR_EDATACRC with err naming the
 * record index (from 0) and its offset; out then holds the records before
 * it. Free out with tbr_records_free in every case. */
TBR_FN int tbr_split(const uint8_t *buf, size_t len, struct tbr_records *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, off = 0;
    while (off < len) {
        size_t left = len - off;
        if (left < TBR_HEADER) {
            out->torn = 1;
            out->torn_offset = off;
            out->torn_bytes = left;
            return TBR_OK;
        }
        const uint8_t *h = buf + off;
        uint32_t want = tbr_le32(h + 8), got = tbr_masked_crc(h, 8);
        if (want != got) {
            tbr_err(err, errlen,
                    "record %zu (offset %zu): length CRC mismatch: stored "
                    "0x%08x, computed 0x%08x",
                    out->n, off, (unsigned)want, (unsigned)got);
            return TBR_ELENCRC;
        }
        uint64_t n = tbr_le64(h);
        if (n > left - TBR_HEADER || left - TBR_HEADER - n < TBR_FOOTER) {
            out->torn = 1;
            out->torn_offset = off;
            out->torn_bytes = left;
            return TBR_OK;
        }
        const uint8_t *data = h + TBR_HEADER;
        want = tbr_le32(data + n);
        got = tbr_masked_crc(data, (size_t)n);
        if (want != got) {
            tbr_err(err, errlen,
                    "record %zu (offset %zu, %llu bytes): data CRC mismatch: "
                    "stored 0x%08x, computed 0x%08x",
                    out->n, off, (unsigned long long)n, (unsigned)want,
                    (unsigned)got);
            return TBR_EDATACRC;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct tbr_record *r =
                (struct tbr_record *)realloc(out->rec, cap * sizeof *r);
            if (!r) {
                tbr_err(err, errlen, "out of memory");
                return TBR_ENOMEM;
            }
            out->rec = r;
        }
        out->rec[out->n].data = data;
        out->rec[out->n].len = (size_t)n;
        out->rec[out->n].offset = off;
        out->n++;
        off += TBR_HEADER + (size_t)n + TBR_FOOTER;
    }
    return TBR_OK;
}

/* ---- generic protobuf ------------------------------------------------- */

enum { TBR_WT_VARINT = 0, TBR_WT_I64 = 1, TBR_WT_LEN = 2, TBR_WT_I32 = 5 };

struct tbr_pb {
    const uint8_t *p, *end;
};

struct tbr_field {
    uint32_t num;
    int wt;
    uint64_t u;          /* varint, fixed64 or fixed32 value */
    const uint8_t *data; /* length-delimited: the bytes */
    size_t len;
};

TBR_FN void tbr_pb_init(struct tbr_pb *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->end = p + n;
}

/* 0, or -1 when malformed (cut short, more than 10 bytes). */
TBR_FN int tbr_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *p = *pp;
    for (int i = 0; i < 10; i++) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i == 9 && b > 1)
                return -1;
            *pp = p;
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* The next field: 1, 0 at the end, -1 when malformed (bad key, unknown or
 * group wire type, cut short). */
TBR_FN int tbr_pb_next(struct tbr_pb *r, struct tbr_field *f)
{
    if (r->p == r->end)
        return 0;
    uint64_t key;
    if (tbr_varint(&r->p, r->end, &key) != 0 || key >> 3 == 0 ||
        key >> 3 > 0x1fffffff)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    f->u = 0;
    f->data = NULL;
    f->len = 0;
    switch (f->wt) {
    case TBR_WT_VARINT:
        return tbr_varint(&r->p, r->end, &f->u) == 0 ? 1 : -1;
    case TBR_WT_I64:
        if (r->end - r->p < 8)
            return -1;
        f->u = tbr_le64(r->p);
        r->p += 8;
        return 1;
    case TBR_WT_I32:
        if (r->end - r->p < 4)
            return -1;
        f->u = tbr_le32(r->p);
        r->p += 4;
        return 1;
    case TBR_WT_LEN: {
        uint64_t n;
        if (tbr_varint(&r->p, r->end, &n) != 0 ||
            n > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return -1;
    }
}

TBR_FN double tbr_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

TBR_FN float tbr_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- owned byte strings ---------------------------------------------- */

struct tbr_bytes {
    char *p; /* NUL-terminated copy (may hold NULs inside); NULL: absent */
    size_t len;
};

TBR_FN int tbr_bytes_set(struct tbr_bytes *b, const uint8_t *data, size_t n)
{
    char *p = (char *)malloc(n + 1);
    if (!p)
        return -1;
    if (n)
        memcpy(p, data, n);
    p[n] = '\0';
    free(b->p);
    b->p = p;
    b->len = n;
    return 0;
}

TBR_FN void tbr_bytes_free(struct tbr_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* 1 when b holds exactly the C string s. */
TBR_FN int tbr_bytes_eq(const struct tbr_bytes *b, const char *s)
{
    return b->p && b->len == strlen(s) && memcmp(b->p, s, b->len) == 0;
}

/* ---- Event ------------------------------------------------------------ */

#define TBR_MAX_DIMS 8

struct tbr_tensor {
    int present;
    int64_t dtype;
    int has_shape;
    size_t ndims;
    int64_t dims[TBR_MAX_DIMS];
    size_t nfloat;
    float *float_val;
    size_t nstring;
    struct tbr_bytes *string_val;
    int has_content;
    struct tbr_bytes content; /* tensor_content */
    unsigned unknown;
};

struct tbr_value {
    struct tbr_bytes tag;
    int has_simple;
    float simple_value;
    int has_metadata, has_plugin_data;
    struct tbr_bytes plugin_name;
    struct tbr_bytes plugin_content;
    struct tbr_tensor tensor;
    unsigned unknown;
};

struct tbr_event {
    int has_wall_time;
    double wall_time;
    int has_step;
    int64_t step;
    struct tbr_bytes file_version;
    int has_source_metadata;
    struct tbr_bytes writer;
    int has_summary;
    size_t nvalues;
    struct tbr_value *values;
    unsigned unknown;
};

TBR_FN void tbr_tensor_free(struct tbr_tensor *t)
{
    free(t->float_val);
    for (size_t i = 0; i < t->nstring; i++)
        tbr_bytes_free(&t->string_val[i]);
    free(t->string_val);
    tbr_bytes_free(&t->content);
    memset(t, 0, sizeof *t);
}

TBR_FN void tbr_value_free(struct tbr_value *v)
{
    tbr_bytes_free(&v->tag);
    tbr_bytes_free(&v->plugin_name);
    tbr_bytes_free(&v->plugin_content);
    tbr_tensor_free(&v->tensor);
    memset(v, 0, sizeof *v);
}

TBR_FN void tbr_event_free(struct tbr_event *ev)
{
    tbr_bytes_free(&ev->file_version);
    tbr_bytes_free(&ev->writer);
    for (size_t i = 0; i < ev->nvalues; i++)
        tbr_value_free(&ev->values[i]);
    free(ev->values);
    memset(ev, 0, sizeof *ev);
}

#define TBR_BAD(what)                                                        \
    do {                                                                     \
        tbr_err(err, errlen, "%s", what);                                    \
        return TBR_EPROTO;                                                   \
    } while (0)
#define TBR_OOM()                                                            \
    do {                                                                     \
        tbr_err(err, errlen, "out of memory");                               \
        return TBR_ENOMEM;                                                   \
    } while (0)

TBR_FN int tbr_push_float(struct tbr_tensor *t, float x)
{
    float *v = (float *)realloc(t->float_val, (t->nfloat + 1) * sizeof *v);
    if (!v)
        return -1;
    v[t->nfloat++] = x;
    t->float_val = v;
    return 0;
}

TBR_FN int tbr_decode_shape(const uint8_t *p, size_t n, struct tbr_tensor *t,
                            char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    t->has_shape = 1;
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 2 && f.wt == TBR_WT_LEN) {
            if (t->ndims == TBR_MAX_DIMS)
                TBR_BAD("TensorShapeProto: too many dims");
            int64_t size = 0;
            struct tbr_pb d;
            struct tbr_field g;
            tbr_pb_init(&d, f.data, f.len);
            while ((rc = tbr_pb_next(&d, &g)) == 1) {
                if (g.num == 1 && g.wt == TBR_WT_VARINT)
                    size = (int64_t)g.u;
                else
                    t->unknown++;
            }
            if (rc < 0)
                TBR_BAD("TensorShapeProto.Dim: malformed");
            t->dims[t->ndims++] = size;
        } else {
            t->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("TensorShapeProto: malformed");
    return TBR_OK;
}

TBR_FN int tbr_decode_tensor(const uint8_t *p, size_t n, struct tbr_tensor *t,
                             char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    t->present = 1;
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_VARINT) {
            t->dtype = (int64_t)f.u;
        } else if (f.num == 2 && f.wt == TBR_WT_LEN) {
            int s = tbr_decode_shape(f.data, f.len, t, err, errlen);
            if (s)
                return s;
        } else if (f.num == 4 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&t->content, f.data, f.len))
                TBR_OOM();
            t->has_content = 1;
        } else if (f.num == 5 && f.wt == TBR_WT_LEN) { /* packed */
            if (f.len % 4)
                TBR_BAD("TensorProto.float_val: packed length not a "
                        "multiple of 4");
            for (size_t i = 0; i < f.len; i += 4)
                if (tbr_push_float(t, tbr_f32(tbr_le32(f.data + i))))
                    TBR_OOM();
        } else if (f.num == 5 && f.wt == TBR_WT_I32) { /* unpacked */
            if (tbr_push_float(t, tbr_f32((uint32_t)f.u)))
                TBR_OOM();
        } else if (f.num == 8 && f.wt == TBR_WT_LEN) {
            struct tbr_bytes *v = (struct tbr_bytes *)realloc(
                t->string_val, (t->nstring + 1) * sizeof *v);
            if (!v)
                TBR_OOM();
            t->string_val = v;
            memset(&v[t->nstring], 0, sizeof *v);
            if (tbr_bytes_set(&v[t->nstring], f.data, f.len))
                TBR_OOM();
            t->nstring++;
        } else {
            t->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("TensorProto: malformed");
    return TBR_OK;
}

TBR_FN int tbr_decode_metadata(const uint8_t *p, size_t n,
                               struct tbr_value *v, char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    v->has_metadata = 1;
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_LEN) {
            v->has_plugin_data = 1;
            struct tbr_pb d;
            struct tbr_field g;
            tbr_pb_init(&d, f.data, f.len);
            while ((rc = tbr_pb_next(&d, &g)) == 1) {
                if (g.num == 1 && g.wt == TBR_WT_LEN) {
                    if (tbr_bytes_set(&v->plugin_name, g.data, g.len))
                        TBR_OOM();
                } else if (g.num == 2 && g.wt == TBR_WT_LEN) {
                    if (tbr_bytes_set(&v->plugin_content, g.data, g.len))
                        TBR_OOM();
                } else {
                    v->unknown++;
                }
            }
            if (rc < 0)
                TBR_BAD("SummaryMetadata.PluginData: malformed");
        } else {
            v->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("SummaryMetadata: malformed");
    return TBR_OK;
}

TBR_FN int tbr_decode_value(const uint8_t *p, size_t n, struct tbr_value *v,
                            char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        int s = TBR_OK;
        if (f.num == 1 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&v->tag, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 2 && f.wt == TBR_WT_I32) {
            v->has_simple = 1;
            v->simple_value = tbr_f32((uint32_t)f.u);
        } else if (f.num == 8 && f.wt == TBR_WT_LEN) {
            tbr_tensor_free(&v->tensor);
            s = tbr_decode_tensor(f.data, f.len, &v->tensor, err, errlen);
        } else if (f.num == 9 && f.wt == TBR_WT_LEN) {
            s = tbr_decode_metadata(f.data, f.len, v, err, errlen);
        } else {
            v->unknown++;
        }
        if (s)
            return s;
    }
    if (rc < 0)
        TBR_BAD("Summary.Value: malformed");
    return TBR_OK;
}

/* Decode one Event message. Free ev with tbr_event_free in every case. */
TBR_FN int tbr_decode_event(const uint8_t *p, size_t n, struct tbr_event *ev,
                            char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    memset(ev, 0, sizeof *ev);
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_I64) {
            ev->has_wall_time = 1;
            ev->wall_time = tbr_f64(f.u);
        } else if (f.num == 2 && f.wt == TBR_WT_VARINT) {
            ev->has_step = 1;
            ev->step = (int64_t)f.u;
        } else if (f.num == 3 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&ev->file_version, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 5 && f.wt == TBR_WT_LEN) {
            ev->has_summary = 1;
            struct tbr_pb s;
            struct tbr_field g;
            tbr_pb_init(&s, f.data, f.len);
            while ((rc = tbr_pb_next(&s, &g)) == 1) {
                if (g.num != 1 || g.wt != TBR_WT_LEN) {
                    ev->unknown++;
                    continue;
                }
                struct tbr_value *v = (struct tbr_value *)realloc(
                    ev->values, (ev->nvalues + 1) * sizeof *v);
                if (!v)
                    TBR_OOM();
                ev->values = v;
                memset(&v[ev->nvalues], 0, sizeof *v);
                ev->nvalues++;
                int st = tbr_decode_value(g.data, g.len,
                                          &v[ev->nvalues - 1], err, errlen);
                if (st)
                    return st;
            }
            if (rc < 0)
                TBR_BAD("Summary: malformed");
        } else if (f.num == 10 && f.wt == TBR_WT_LEN) {
            ev->has_source_metadata = 1;
            struct tbr_pb s;
            struct tbr_field g;
            tbr_pb_init(&s, f.data, f.len);
            while ((rc = tbr_pb_next(&s, &g)) == 1) {
                if (g.num == 1 && g.wt == TBR_WT_LEN) {
                    if (tbr_bytes_set(&ev->writer, g.data, g.len))
                        TBR_OOM();
                } else {
                    ev->unknown++;
                }
            }
            if (rc < 0)
                TBR_BAD("SourceMetadata: malformed");
        } else {
            ev->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("Event: malformed");
    return TBR_OK;
}

/* ---- HParamsPluginData ------------------------------------------------ */

enum {
    TBR_PV_NONE = 0,
    TBR_PV_NULL = 1,
    TBR_PV_NUMBER = 2,
    TBR_PV_STRING = 3,
    TBR_PV_BOOL = 4,
    TBR_PV_STRUCT = 5,
    TBR_PV_LIST = 6
};

struct tbr_pvalue { /* google.protobuf.Value */
    int kind;       /* TBR_PV_*: the last oneof member seen */
    double number;
    struct tbr_bytes str;
    int boolean;
};

struct tbr_hparam {
    struct tbr_bytes key;
    struct tbr_pvalue value;
};

enum { TBR_HP_NONE = 0, TBR_HP_EXPERIMENT = 2, TBR_HP_START = 3,
       TBR_HP_END = 4 };

struct tbr_hparams {
    int64_t version;
    int which; /* TBR_HP_*: the oneof member present */
    /* session_start_info */
    size_t n;
    struct tbr_hparam *hp; /* in file order */
    struct tbr_bytes model_uri, monitor_url, group_name;
    int has_start_time;
    double start_time_secs;
    /* session_end_info */
    int has_status;
    int64_t status;
    int has_end_time;
    double end_time_secs;
    unsigned unknown;
};

TBR_FN void tbr_hparams_free(struct tbr_hparams *h)
{
    for (size_t i = 0; i < h->n; i++) {
        tbr_bytes_free(&h->hp[i].key);
        tbr_bytes_free(&h->hp[i].value.str);
    }
    free(h->hp);
    tbr_bytes_free(&h->model_uri);
    tbr_bytes_free(&h->monitor_url);
    tbr_bytes_free(&h->group_name);
    memset(h, 0, sizeof *h);
}

TBR_FN int tbr_decode_pvalue(const uint8_t *p, size_t n, struct tbr_pvalue *v,
                             unsigned *unknown, char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_VARINT) {
            v->kind = TBR_PV_NULL;
        } else if (f.num == 2 && f.wt == TBR_WT_I64) {
            v->kind = TBR_PV_NUMBER;
            v->number = tbr_f64(f.u);
        } else if (f.num == 3 && f.wt == TBR_WT_LEN) {
            v->kind = TBR_PV_STRING;
            if (tbr_bytes_set(&v->str, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 4 && f.wt == TBR_WT_VARINT) {
            v->kind = TBR_PV_BOOL;
            v->boolean = f.u != 0;
        } else if (f.num == 5 && f.wt == TBR_WT_LEN) {
            v->kind = TBR_PV_STRUCT;
        } else if (f.num == 6 && f.wt == TBR_WT_LEN) {
            v->kind = TBR_PV_LIST;
        } else {
            (*unknown)++;
        }
    }
    if (rc < 0)
        TBR_BAD("google.protobuf.Value: malformed");
    return TBR_OK;
}

TBR_FN int tbr_decode_session_start(const uint8_t *p, size_t n,
                                    struct tbr_hparams *h, char *err,
                                    size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_LEN) { /* map entry */
            struct tbr_hparam *v =
                (struct tbr_hparam *)realloc(h->hp, (h->n + 1) * sizeof *v);
            if (!v)
                TBR_OOM();
            h->hp = v;
            struct tbr_hparam *e = &v[h->n++];
            memset(e, 0, sizeof *e);
            struct tbr_pb m;
            struct tbr_field g;
            tbr_pb_init(&m, f.data, f.len);
            while ((rc = tbr_pb_next(&m, &g)) == 1) {
                if (g.num == 1 && g.wt == TBR_WT_LEN) {
                    if (tbr_bytes_set(&e->key, g.data, g.len))
                        TBR_OOM();
                } else if (g.num == 2 && g.wt == TBR_WT_LEN) {
                    int s = tbr_decode_pvalue(g.data, g.len, &e->value,
                                              &h->unknown, err, errlen);
                    if (s)
                        return s;
                } else {
                    h->unknown++;
                }
            }
            if (rc < 0)
                TBR_BAD("SessionStartInfo.hparams entry: malformed");
            if (!e->key.p && tbr_bytes_set(&e->key, (const uint8_t *)"", 0))
                TBR_OOM();
        } else if (f.num == 2 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&h->model_uri, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 3 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&h->monitor_url, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 4 && f.wt == TBR_WT_LEN) {
            if (tbr_bytes_set(&h->group_name, f.data, f.len))
                TBR_OOM();
        } else if (f.num == 5 && f.wt == TBR_WT_I64) {
            h->has_start_time = 1;
            h->start_time_secs = tbr_f64(f.u);
        } else {
            h->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("SessionStartInfo: malformed");
    return TBR_OK;
}

TBR_FN int tbr_decode_session_end(const uint8_t *p, size_t n,
                                  struct tbr_hparams *h, char *err,
                                  size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wt == TBR_WT_VARINT) {
            h->has_status = 1;
            h->status = (int64_t)f.u;
        } else if (f.num == 2 && f.wt == TBR_WT_I64) {
            h->has_end_time = 1;
            h->end_time_secs = tbr_f64(f.u);
        } else {
            h->unknown++;
        }
    }
    if (rc < 0)
        TBR_BAD("SessionEndInfo: malformed");
    return TBR_OK;
}

/* Decode the hparams plugin's content bytes. Free h with tbr_hparams_free
 * in every case. */
TBR_FN int tbr_decode_hparams(const uint8_t *p, size_t n,
                              struct tbr_hparams *h, char *err, size_t errlen)
{
    struct tbr_pb r;
    struct tbr_field f;
    int rc;
    memset(h, 0, sizeof *h);
    tbr_pb_init(&r, p, n);
    while ((rc = tbr_pb_next(&r, &f)) == 1) {
        int s = TBR_OK;
        if (f.num == 1 && f.wt == TBR_WT_VARINT) {
            h->version = (int64_t)f.u;
        } else if (f.num == 2 && f.wt == TBR_WT_LEN) {
            h->which = TBR_HP_EXPERIMENT;
        } else if (f.num == 3 && f.wt == TBR_WT_LEN) {
            h->which = TBR_HP_START;
            s = tbr_decode_session_start(f.data, f.len, h, err, errlen);
        } else if (f.num == 4 && f.wt == TBR_WT_LEN) {
            h->which = TBR_HP_END;
            s = tbr_decode_session_end(f.data, f.len, h, err, errlen);
        } else {
            h->unknown++;
        }
        if (s)
            return s;
    }
    if (rc < 0)
        TBR_BAD("HParamsPluginData: malformed");
    return TBR_OK;
}

/* The hparam named key, or NULL. */
TBR_FN const struct tbr_hparam *tbr_hparam_get(const struct tbr_hparams *h,
                                               const char *key)
{
    for (size_t i = 0; i < h->n; i++)
        if (tbr_bytes_eq(&h->hp[i].key, key))
            return &h->hp[i];
    return NULL;
}

/* ---- whole files ------------------------------------------------------ */

struct tbr_file {
    uint8_t *buf; /* the bytes, owned */
    size_t len;
    struct tbr_records recs;
    struct tbr_event *ev; /* one decoded Event per complete record */
    size_t n;
};

TBR_FN void tbr_file_free(struct tbr_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        tbr_event_free(&f->ev[i]);
    free(f->ev);
    tbr_records_free(&f->recs);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* Frame-check and decode a copy of buf[0..len). A CRC mismatch or a record
 * that is not a valid Event is an error naming the record. Free f with
 * tbr_file_free in every case. */
TBR_FN int tbr_load_bytes(struct tbr_file *f, const uint8_t *buf, size_t len,
                          char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->buf = (uint8_t *)malloc(len ? len : 1);
    if (!f->buf) {
        tbr_err(err, errlen, "out of memory");
        return TBR_ENOMEM;
    }
    if (len)
        memcpy(f->buf, buf, len);
    f->len = len;
    int rc = tbr_split(f->buf, len, &f->recs, err, errlen);
    if (rc)
        return rc;
    f->ev = (struct tbr_event *)calloc(f->recs.n ? f->recs.n : 1,
                                       sizeof *f->ev);
    if (!f->ev) {
        tbr_err(err, errlen, "out of memory");
        return TBR_ENOMEM;
    }
    for (size_t i = 0; i < f->recs.n; i++) {
        char why[256] = "";
        f->n = i + 1;
        rc = tbr_decode_event(f->recs.rec[i].data, f->recs.rec[i].len,
                              &f->ev[i], why, sizeof why);
        if (rc) {
            tbr_err(err, errlen, "record %zu (offset %zu): %s", i,
                    f->recs.rec[i].offset, why);
            return rc;
        }
    }
    return TBR_OK;
}

/* The same for a file on disk. */
TBR_FN int tbr_load_path(struct tbr_file *f, const char *path, char *err,
                         size_t errlen)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tbr_err(err, errlen, "%s: cannot open", path);
        return TBR_EIO;
    }
    size_t cap = 4096, n = 0, r;
    uint8_t *buf = (uint8_t *)malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, fp)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *b = (uint8_t *)realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(fp);
    if (!buf) {
        tbr_err(err, errlen, "out of memory");
        return TBR_ENOMEM;
    }
    char why[512] = "";
    int rc = tbr_load_bytes(f, buf, n, why, sizeof why);
    free(buf);
    if (rc)
        tbr_err(err, errlen, "%s: %s", path, why);
    return rc;
}

#undef TBR_BAD
#undef TBR_OOM
#undef TBR_FN

#endif
