/* wb_proto.h -- the wandb_internal.Record messages of a .wandb file,
 * encoded by hand (proto3: fields in ascending number, defaults omitted).
 * Field numbers: shared/reference/protocols.md section 2.8 and
 * wandb/proto/wandb_internal.proto (FilesRecord, FinalRecord).
 *
 * Each wb_rec_* appends one serialized Record (not framed) to out; on OOM
 * out->oom is set. No global state. */
#ifndef WB_PROTO_H
#define WB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"
#include "evtrack/sdk/pb.h" /* the protobuf fields */
#include "wb_json.h"

/* Record field numbers (oneof record_type, plus num). */
enum wb_record_type {
    WB_REC_HISTORY = 2,
    WB_REC_SUMMARY = 3,
    WB_REC_CONFIG = 5,
    WB_REC_FILES = 6,
    WB_REC_RUN = 17,
    WB_REC_EXIT = 18,
    WB_REC_FINAL = 20,
    WB_REC_HEADER = 21
};

/* ---- records ----------------------------------------------------------- */

/* What RunRecord carries. NULL / empty strings and zero numbers are left
 * out. */
struct wb_run_info {
    const char *run_id, *entity, *project, *group, *job_type;
    const char *display_name, *notes, *host, *storage_id;
    const char *const *tags;
    size_t ntags;
    const struct wb_kvs *config; /* top-level key -> JSON of its value */
    int64_t start_ns;            /* Unix ns of the run's start */
    int64_t starting_step;
    int resumed;
};

/* Record{num, header{version_info{producer, min_consumer}}}. num is
 * written even when 0 (as the reference writer does). */
void wb_rec_header(struct evt_buf *out, int64_t num, const char *producer,
                   const char *min_consumer);
/* Record{num, run{...}}: config items ConfigItem{key, value_json}. */
void wb_rec_run(struct evt_buf *out, int64_t num,
                const struct wb_run_info *ri);
/* Record{num, history{item: HistoryItem{key, value_json}..., step{num}}}. */
void wb_rec_history(struct evt_buf *out, int64_t num,
                    const struct wb_kvs *items, int64_t step);
/* Record{num, summary{update: SummaryItem{key, value_json}...}}. */
void wb_rec_summary(struct evt_buf *out, int64_t num,
                    const struct wb_kvs *items);
/* Record{num, config{update: ConfigItem{key, value_json}...}}. */
void wb_rec_config(struct evt_buf *out, int64_t num,
                   const struct wb_kvs *items);
/* Record{num, files{files: FilesItem{path, policy}...}}; policy 0 NOW,
 * 1 END, 2 LIVE. */
void wb_rec_files(struct evt_buf *out, int64_t num, const char *const *paths,
                  size_t n, int policy);
/* Record{num, exit{exit_code, runtime}}. */
void wb_rec_exit(struct evt_buf *out, int64_t num, int32_t exit_code,
                 int32_t runtime);
/* Record{num, final{}}. */
void wb_rec_final(struct evt_buf *out, int64_t num);

#endif /* WB_PROTO_H */
