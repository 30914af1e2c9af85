/* pb.c -- protobuf wire encoding (evtrack/sdk/pb.h). */
#include "evtrack/sdk/pb.h"

#include <string.h>

size_t evt_pb_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t evt_pb_put_key(uint8_t *p, uint32_t field, enum evt_pb_wire wire)
{
    return evt_pb_put_varint(p, (uint64_t)field << 3 | (uint64_t)wire);
}

size_t evt_pb_put_le(uint8_t *p, uint64_t v, size_t nbytes)
{
    for (size_t i = 0; i < nbytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return nbytes;
}

size_t evt_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Append n bytes of t, or nothing (oom set) when memory runs out. */
static void append(struct evt_buf *b, const uint8_t *t, size_t n)
{
    size_t mark = b->len;
    evt_buf_put(b, t, n);
    evt_buf_rollback_oom(b, mark);
}

void evt_pb_varint(struct evt_buf *b, uint64_t v)
{
    uint8_t t[EVT_PB_MAX_VARINT];
    append(b, t, evt_pb_put_varint(t, v));
}

void evt_pb_key(struct evt_buf *b, uint32_t field, enum evt_pb_wire wire)
{
    uint8_t t[EVT_PB_MAX_VARINT];
    append(b, t, evt_pb_put_key(t, field, wire));
}

void evt_pb_int(struct evt_buf *b, uint32_t field, int64_t v)
{
    uint8_t t[2 * EVT_PB_MAX_VARINT];
    size_t n = evt_pb_put_key(t, field, EVT_PB_VARINT);
    n += evt_pb_put_varint(t + n, (uint64_t)v);
    append(b, t, n);
}

void evt_pb_double(struct evt_buf *b, uint32_t field, double v)
{
    uint8_t t[EVT_PB_MAX_VARINT + 8];
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits); /* the IEEE bits, no aliasing tricks */
    size_t n = evt_pb_put_key(t, field, EVT_PB_FIXED64);
    n += evt_pb_put_le(t + n, bits, 8);
    append(b, t, n);
}

void evt_pb_float(struct evt_buf *b, uint32_t field, float v)
{
    uint8_t t[EVT_PB_MAX_VARINT + 4];
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    size_t n = evt_pb_put_key(t, field, EVT_PB_FIXED32);
    n += evt_pb_put_le(t + n, bits, 4);
    append(b, t, n);
}

void evt_pb_bytes(struct evt_buf *b, uint32_t field, const void *p, size_t n)
{
    uint8_t t[2 * EVT_PB_MAX_VARINT];
    size_t h = evt_pb_put_key(t, field, EVT_PB_LEN);
    h += evt_pb_put_varint(t + h, n);
    size_t mark = b->len;
    evt_buf_put(b, t, h);
    evt_buf_put(b, p, n);
    evt_buf_rollback_oom(b, mark);
}

void evt_pb_str(struct evt_buf *b, uint32_t field, const char *s)
{
    evt_pb_bytes(b, field, s, s ? strlen(s) : 0);
}
