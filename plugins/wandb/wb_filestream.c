/* wb_filestream.c -- file_stream bodies, paths and pacing
 * (wb_filestream.h). */
#include "wb_filestream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb_http.h"
#include "wb_json.h"

static void lines(struct evt_buf *out, const char *const *v, size_t n)
{
    evt_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++) {
        evt_buf_puts(out, i ? ", " : "");
        wb_json_cstr(out, v[i]);
    }
    evt_buf_puts(out, "]");
}

static void file_part(struct evt_buf *out, int *first, const char *name,
                      int64_t offset, const char *const *v, size_t n)
{
    wb_json_key(out, first, name);
    evt_buf_puts(out, "{\"offset\": ");
    wb_json_int(out, offset);
    evt_buf_puts(out, ", \"content\": ");
    lines(out, v, n);
    evt_buf_puts(out, "}");
}

void wb_fs_body(struct evt_buf *out, const struct wb_fs_req *r)
{
    int first = 1;
    evt_buf_puts(out, "{");
    if (r->nhist || r->summary) {
        int ff = 1;
        wb_json_key(out, &first, "files");
        evt_buf_puts(out, "{");
        if (r->nhist)
            file_part(out, &ff, WB_FS_HISTORY, r->hist_offset, r->hist,
                      r->nhist);
        if (r->summary)
            file_part(out, &ff, WB_FS_SUMMARY, 0, &r->summary, 1);
        evt_buf_puts(out, "}");
    }
    if (r->nuploaded) {
        wb_json_key(out, &first, "uploaded");
        lines(out, r->uploaded, r->nuploaded);
    }
    if (r->complete) {
        wb_json_key(out, &first, "complete");
        evt_buf_puts(out, "true");
        wb_json_key(out, &first, "exitcode");
        wb_json_int(out, r->exitcode);
    }
    evt_buf_puts(out, "}");
}

char *wb_fs_path(const char *entity, const char *project, const char *run)
{
    char *e = wb_url_escape(entity), *p = wb_url_escape(project);
    char *r = wb_url_escape(run), *out = NULL;
    if (e && p && r) {
        size_t n = strlen(e) + strlen(p) + strlen(r) + 32;
        if ((out = malloc(n)))
            snprintf(out, n, "/files/%s/%s/%s/file_stream", e, p, r);
    }
    free(e);
    free(p);
    free(r);
    return out;
}

int64_t wb_fs_next_allowed(int64_t last_ns, int64_t interval_ms)
{
    return last_ns ? last_ns + interval_ms * 1000000 : 0;
}

int wb_fs_heartbeat_due(int64_t now_ns, int64_t last_ns, int64_t heartbeat_ms)
{
    return last_ns && now_ns - last_ns >= heartbeat_ms * 1000000;
}
