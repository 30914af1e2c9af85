/* evtrack/sdk/pb.h -- protobuf wire encoding by hand, for sinks that
 * write protobuf messages without protoc (tensorboard-events' Event
 * files, wandb's .wandb records; protocols.md sections 2.8 and 3).
 *
 * Two levels: evt_pb_put_* write into a caller's array and return the
 * number of bytes (for hot paths that assemble bytes on the stack), and
 * evt_pb_* append whole fields to a struct evt_buf. On allocation failure
 * an append sets b->oom and leaves b as it was before the call. Fields are
 * written in the order called: proto3 readers want ascending numbers and
 * defaults omitted, which is the caller's part. */
#ifndef EVTRACK_SDK_PB_H
#define EVTRACK_SDK_PB_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"

#ifdef __cplusplus
extern "C" {
#endif

enum evt_pb_wire {
    EVT_PB_VARINT = 0,
    EVT_PB_FIXED64 = 1,
    EVT_PB_LEN = 2,
    EVT_PB_FIXED32 = 5
};

/* Longest varint: 10 bytes (a negative int64 as two's complement). */
#define EVT_PB_MAX_VARINT 10

size_t evt_pb_put_varint(uint8_t *p, uint64_t v);
size_t evt_pb_put_key(uint8_t *p, uint32_t field, enum evt_pb_wire wire);
/* v's low nbytes bytes, little-endian (fixed32 / fixed64). */
size_t evt_pb_put_le(uint8_t *p, uint64_t v, size_t nbytes);
/* Number of bytes evt_pb_put_varint writes for v (1..10). */
size_t evt_pb_varint_size(uint64_t v);

void evt_pb_varint(struct evt_buf *b, uint64_t v);
void evt_pb_key(struct evt_buf *b, uint32_t field, enum evt_pb_wire wire);
/* A varint field; a negative value is its 10-byte two's complement. */
void evt_pb_int(struct evt_buf *b, uint32_t field, int64_t v);
void evt_pb_double(struct evt_buf *b, uint32_t field, double v); /* fixed64 */
void evt_pb_float(struct evt_buf *b, uint32_t field, float v);   /* fixed32 */
/* Length-delimited: key, varint length, the bytes. */
void evt_pb_bytes(struct evt_buf *b, uint32_t field, const void *p, size_t n);
/* A string field, written even when empty (NULL counts as ""). */
void evt_pb_str(struct evt_buf *b, uint32_t field, const char *s);

#ifdef __cplusplus
}
#endif

#endif
