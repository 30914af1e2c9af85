/* wb_filestream.h -- file_stream requests (protocols.md section 2.4):
 * POST {base}/files/{entity}/{project}/{run}/file_stream with
 *
 *   {"files": {"wandb-history.jsonl": {"offset": N, "content": [lines]},
 *              "wandb-summary.json": {"offset": 0, "content": [line]}},
 *    "uploaded": [names], "complete": true, "exitcode": 0}
 *
 * every member optional; {} is the heartbeat. "offset" is the line number
 * of content[0] in that file, and the server stores line[offset + i] =
 * content[i], so resending a request is idempotent. The summary is always
 * the whole summary at offset 0.
 *
 * Also the pacing rule: at most one request per run every interval (2 s by
 * default) and a heartbeat after heartbeat without any request. */
#ifndef WB_FILESTREAM_H
#define WB_FILESTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"

#define WB_FS_HISTORY "wandb-history.jsonl"
#define WB_FS_SUMMARY "wandb-summary.json"

struct wb_fs_req {
    int64_t hist_offset;
    const char *const *hist; /* lines (JSON objects without newline) */
    size_t nhist;
    const char *summary; /* the whole summary line, or NULL */
    const char *const *uploaded;
    size_t nuploaded;
    int complete;
    int exitcode;
};

/* Append the request body to out ({} when r asks for nothing). */
void wb_fs_body(struct evt_buf *out, const struct wb_fs_req *r);

/* "/files/{entity}/{project}/{run}/file_stream", each part
 * percent-encoded. Heap; NULL on OOM. */
char *wb_fs_path(const char *entity, const char *project, const char *run);

/* When a request may go: the monotonic ns at which the next data request
 * is allowed (last + interval), given the last request's time (0: none). */
int64_t wb_fs_next_allowed(int64_t last_ns, int64_t interval_ms);

/* 1 when a heartbeat is due: no request for heartbeat_ms. */
int wb_fs_heartbeat_due(int64_t now_ns, int64_t last_ns,
                        int64_t heartbeat_ms);

#endif /* WB_FILESTREAM_H */
