/* tb_encode.h -- the bytes of TensorBoard event files, without protoc or
 * TensorFlow: protobuf fields (proto3 rules: fields in ascending number,
 * defaults omitted, packed numeric arrays), the TFRecord frame around each
 * Event, and the handful of Event messages the tensorboard-events sink
 * writes. Field numbers and byte-level examples:
 * shared/reference/protocols.md section 3.
 *
 * Every function appends to a struct evt_buf (evtrack/sdk/json_write.h);
 * on allocation failure the buffer's oom flag is set and its content is
 * left as it was before the failing append, so callers check b->oom once
 * at the end. Not thread-safe per buffer; no global state. */
#ifndef TB_ENCODE_H
#define TB_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"
#include "evtrack/sdk/pb.h" /* the protobuf fields */

/* ---- TFRecord ----------------------------------------------------------- */

/* Append one framed record: u64 LE length, u32 LE masked CRC-32C of those
 * 8 bytes, the data, u32 LE masked CRC-32C of the data. */
void tb_record_frame(struct evt_buf *out, const void *data, size_t n);

#define TB_RECORD_OVERHEAD 16 /* bytes a frame adds around its data */

/* ---- Event messages (package tensorboard) ------------------------------- */
/* Each appends one Event message (not framed) to out. wall_time is Unix
 * seconds; step 0 is omitted from the bytes, as proto3 does. */

/* Event{wall_time, file_version="brain.Event:2",
 * source_metadata{writer} when writer is non-NULL and non-empty}. */
void tb_event_file_version(struct evt_buf *out, double wall_time,
                           const char *writer);

enum tb_scalar_form {
    TB_SCALAR_SIMPLE = 0, /* Value.simple_value (tensorboardX, lighteval) */
    TB_SCALAR_TENSOR = 1  /* rank-0 DT_FLOAT tensor, float_val, "scalars" */
};

/* Event{wall_time, step, summary{value{tag, <value as form>}}}. tag is
 * tag_len bytes (need not be NUL-terminated). */
void tb_event_scalar(struct evt_buf *out, double wall_time, int64_t step,
                     const char *tag, size_t tag_len, float value,
                     enum tb_scalar_form form);

/* Event{wall_time, step, summary{value{tag, tensor{DT_STRING, shape dims,
 * string_val strs[0..n)}, metadata{plugin_data{plugin_name:"text"}}}}}.
 * dims[0..rank) is the shape (rank 0: one string; {1}: tensorboardX;
 * {rows, cols}: a table, strs in row-major order). */
void tb_event_text(struct evt_buf *out, double wall_time, int64_t step,
                   const char *tag, const int64_t *dims, int rank,
                   const char *const *strs, size_t n);

/* One hparam of a session: a google.protobuf.Value of one kind. */
enum tb_hp_kind { TB_HP_NUMBER, TB_HP_STRING, TB_HP_BOOL };
struct tb_hparam {
    const char *key;
    enum tb_hp_kind kind;
    double number;
    const char *string;
    int boolean;
};

/* Event{wall_time, summary{value{tag:"_hparams_/session_start_info",
 * tensor: NULL_TENSOR, metadata{plugin_data{plugin_name:"hparams",
 * content: HParamsPluginData{session_start_info{hparams map entries in
 * the given order, group_name (omitted when NULL or empty),
 * start_time_secs}}}}}}}. */
void tb_event_hparams_start(struct evt_buf *out, double wall_time,
                            const struct tb_hparam *hp, size_t n,
                            const char *group_name, double start_time_secs);

enum tb_session_status {
    TB_STATUS_UNKNOWN = 0,
    TB_STATUS_SUCCESS = 1,
    TB_STATUS_FAILURE = 2,
    TB_STATUS_RUNNING = 3
};

/* The same with tag "_hparams_/session_end_info" and content
 * HParamsPluginData{session_end_info{status, end_time_secs}}. */
void tb_event_hparams_end(struct evt_buf *out, double wall_time,
                          enum tb_session_status status,
                          double end_time_secs);

#endif /* TB_ENCODE_H */
