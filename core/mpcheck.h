/* mpcheck.h -- validate msgpack bytes without decoding them into memory:
 * structure, lengths, UTF-8 of str values and keys, nesting depth. */
#ifndef EVT_CORE_MPCHECK_H
#define EVT_CORE_MPCHECK_H

#include <stddef.h>
#include <stdint.h>

#define EVT_MP_MAX_DEPTH 15 /* see MAX_DEPTH in builder.c */
/* A whole event: its map, 15 builder levels, 15 in an embedded value. */
#define EVT_MP_EVENT_MAX_DEPTH 32

/* Check the one object at p[0..len); on success *used is its size.
 * Returns 0, or -1 with a reason in err. */
int evt__mp_check(const unsigned char *p, size_t len, size_t *used,
                  char *err, size_t errlen);

/* The same for the object at buf[at..len); messages give offsets from
 * buf, so a caller walking a map member by member reports positions in
 * the whole map. */
int evt__mp_check_from(const unsigned char *buf, size_t len, size_t at,
                       size_t *used, char *err, size_t errlen);

/* A whole event's bytes read back from disk (a spool record): exactly
 * one map, valid as above, nesting at most EVT_MP_EVENT_MAX_DEPTH deep
 * (msgpack-c's limit, which sinks decode with). 0, or -1 with err. */
int evt__mp_check_event(const unsigned char *p, size_t len, char *err,
                        size_t errlen);

/* If p starts a map, its entry count and header size; else -1. */
int evt__mp_map_header(const unsigned char *p, size_t len, uint32_t *count,
                       size_t *hdr);

/* If p starts a str, its body and length, and the total size; else -1. */
int evt__mp_str(const unsigned char *p, size_t len, const char **s,
                size_t *slen, size_t *used);

/* If p holds an integer that fits int64, store it; else -1. */
int evt__mp_int(const unsigned char *p, size_t len, int64_t *v);

#endif
