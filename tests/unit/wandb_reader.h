/* wandb_reader.h -- the tests' own reader of .wandb files (header-only),
 * written from shared/reference/protocols.md section 2.8 alone, with no
 * code of the sink: the 7-byte file header, 32 KiB blocks counted from
 * offset 0 with zero-filled trailers, chunks (u32 LE CRC-32 of type byte
 * and payload, u16 LE length, u8 type FULL/FIRST/MIDDLE/LAST), and a
 * protobuf decoder for the Record messages.
 *
 * wbr_read() checks every rule and reports the first violation; the
 * protobuf side decodes any message into a flat list of fields. */
#ifndef WANDB_READER_H
#define WANDB_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WBR_BLOCK 32768
#define WBR_MAX_RECORDS 100000

/* ---- CRC-32 (IEEE, zlib) ----------------------------------------------- */

static inline uint32_t wbr_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= b[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return ~crc;
}

/* ---- framing ----------------------------------------------------------- */

struct wbr_rec {
    unsigned char *data;
    size_t len;
    int chunks; /* chunks it was split into (1: FULL) */
};

struct wbr_file {
    struct wbr_rec *rec;
    size_t n;
    size_t blocks_spanned; /* records that crossed a block boundary */
    size_t trailers;       /* zero-filled block trailers seen */
};

static inline void wbr_free(struct wbr_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->rec[i].data);
    free(f->rec);
    memset(f, 0, sizeof *f);
}

static inline int wbr_fail(char *err, size_t errlen, const char *what,
                           size_t off)
{
    snprintf(err, errlen, "%s at offset %zu", what, off);
    return -1;
}

static inline int wbr_append(struct wbr_rec *r, const unsigned char *p,
                             size_t n)
{
    unsigned char *d = realloc(r->data, r->len + n + 1);
    if (!d)
        return -1;
    memcpy(d + r->len, p, n);
    r->data = d;
    r->len += n;
    return 0;
}

/* Parse buf[0..len) into records. 0, or -1 with err. The file must end
 * at a record boundary (or in a zero-filled trailer). */
static inline int wbr_read(const unsigned char *buf, size_t len,
                           struct wbr_file *f, char *err, size_t errlen)
{
    static const unsigned char hdr[7] = {0x3a, 0x57, 0x26, 0x42,
                                         0xe1, 0xbe, 0x00};
    memset(f, 0, sizeof *f);
    if (len < 7 || memcmp(buf, hdr, 7) != 0)
        return wbr_fail(err, errlen, "bad file header", 0);
    f->rec = calloc(WBR_MAX_RECORDS, sizeof *f->rec);
    size_t off = 7;
    int open = 0; /* inside a FIRST ... LAST sequence */
    while (off < len) {
        size_t left = WBR_BLOCK - off % WBR_BLOCK;
        if (left < 7) {
            for (size_t i = 0; i < left && off + i < len; i++)
                if (buf[off + i] != 0)
                    return wbr_fail(err, errlen, "non-zero block trailer",
                                    off);
            off += left;
            f->trailers++;
            continue;
        }
        if (len - off < 7)
            return wbr_fail(err, errlen, "torn chunk header", off);
        const unsigned char *h = buf + off;
        uint32_t crc = (uint32_t)h[0] | (uint32_t)h[1] << 8 |
                       (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        size_t n = (size_t)h[4] | (size_t)h[5] << 8;
        unsigned type = h[6];
        if (n > left - 7)
            return wbr_fail(err, errlen, "chunk crosses a block boundary",
                            off);
        if (len - off - 7 < n)
            return wbr_fail(err, errlen, "torn chunk", off);
        unsigned char t = (unsigned char)type;
        if (wbr_crc32(wbr_crc32(0, &t, 1), h + 7, n) != crc)
            return wbr_fail(err, errlen, "CRC mismatch", off);
        if (type < 1 || type > 4)
            return wbr_fail(err, errlen, "unknown chunk type", off);
        if ((type == 1 || type == 2) == open)
            return wbr_fail(err, errlen, "chunk type out of sequence", off);
        if (f->n == WBR_MAX_RECORDS)
            return wbr_fail(err, errlen, "too many records", off);
        struct wbr_rec *r = &f->rec[f->n];
        if (wbr_append(r, h + 7, n) != 0)
            return wbr_fail(err, errlen, "out of memory", off);
        r->chunks++;
        open = type == 2 || type == 3;
        if (!open) {
            f->blocks_spanned += r->chunks > 1;
            f->n++;
        }
        off += 7 + n;
    }
    if (open)
        return wbr_fail(err, errlen, "file ends inside a record", off);
    return 0;
}

/* ---- protobuf ---------------------------------------------------------- */

struct wbr_field {
    uint32_t num;
    unsigned wire;        /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
    uint64_t u;           /* varint / fixed value */
    const unsigned char *p; /* bytes (wire 2) */
    size_t n;
};

struct wbr_msg {
    struct wbr_field f[512];
    size_t n;
};

static inline int wbr_varint(const unsigned char *p, size_t len, size_t *i,
                             uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64; s += 7) {
        if (*i >= len)
            return -1;
        unsigned char b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Decode one message's fields (not recursively). 0 or -1. */
static inline int wbr_decode(const unsigned char *p, size_t len,
                             struct wbr_msg *m)
{
    size_t i = 0;
    m->n = 0;
    while (i < len) {
        uint64_t key, v = 0;
        if (wbr_varint(p, len, &i, &key) != 0 || m->n == 512)
            return -1;
        struct wbr_field *f = &m->f[m->n++];
        memset(f, 0, sizeof *f);
        f->num = (uint32_t)(key >> 3);
        f->wire = (unsigned)(key & 7);
        if (f->wire == 0) {
            if (wbr_varint(p, len, &i, &v) != 0)
                return -1;
            f->u = v;
        } else if (f->wire == 2) {
            if (wbr_varint(p, len, &i, &v) != 0 || v > len - i)
                return -1;
            f->p = p + i;
            f->n = (size_t)v;
            i += (size_t)v;
        } else if (f->wire == 1 || f->wire == 5) {
            size_t w = f->wire == 1 ? 8 : 4;
            if (len - i < w)
                return -1;
            for (size_t k = 0; k < w; k++)
                f->u |= (uint64_t)p[i + k] << (8 * k);
            i += w;
        } else {
            return -1;
        }
    }
    return 0;
}

/* The first field num of m, or NULL. */
static inline const struct wbr_field *wbr_get(const struct wbr_msg *m,
                                              uint32_t num)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->f[i].num == num)
            return &m->f[i];
    return NULL;
}

/* The k-th field num of m, or NULL. */
static inline const struct wbr_field *wbr_nth(const struct wbr_msg *m,
                                              uint32_t num, size_t k)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->f[i].num == num && k-- == 0)
            return &m->f[i];
    return NULL;
}

static inline size_t wbr_count(const struct wbr_msg *m, uint32_t num)
{
    size_t c = 0;
    for (size_t i = 0; i < m->n; i++)
        c += m->f[i].num == num;
    return c;
}

/* A bytes field as a heap C string ("" when absent). */
static inline char *wbr_str(const struct wbr_field *f)
{
    size_t n = f && f->wire == 2 ? f->n : 0;
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, f->p, n);
        s[n] = '\0';
    }
    return s;
}

/* The record type of a Record: the number of its oneof field (the field
 * other than num=1, control=16, uuid=19, _info=200), 0 when none. */
static inline uint32_t wbr_record_type(const struct wbr_msg *m,
                                       const struct wbr_field **body)
{
    for (size_t i = 0; i < m->n; i++) {
        uint32_t k = m->f[i].num;
        if (k != 1 && k != 16 && k != 19 && k != 200) {
            if (body)
                *body = &m->f[i];
            return k;
        }
    }
    return 0;
}

#endif /* WANDB_READER_H */
