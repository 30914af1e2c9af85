/* wb_state.h -- what the server has confirmed for a W&B run, kept next to
 * the run's journal as state.json (replaced atomically after each
 * confirmed exchange):
 *
 *   {"version": 1, "storage_id": "...", "entity": "...", "project": "...",
 *    "base_offset": 0, "rows_sent": 12,
 *    "uploaded": ["media/... sha256:<hex of the bytes>"],
 *    "finished": false, "exitcode": 0, "summary_sha256": "..."}
 *
 * base_offset is the history line of the journal's first row (0 for a
 * run this sink created; historyLineCount for a run it resumed without a
 * journal); rows_sent counts the journal's rows the server has
 * acknowledged, so row i of the journal always goes to line base_offset
 * + i, in any process. No secret is ever stored. */
#ifndef WB_STATE_H
#define WB_STATE_H

#include <stddef.h>
#include <stdint.h>

struct wb_state {
    char *storage_id, *entity, *project;
    int have_base;
    int64_t base_offset;
    uint64_t rows_sent;
    char **uploaded;
    size_t nuploaded;
    int finished;
    int exitcode;
    char summary_sha[65]; /* sha256 of the summary line acknowledged last */
};

/* Load path into st (zeroed first). A missing file gives an empty state.
 * 0, or -1 with err ("path: reason"). */
int wb_state_load(const char *path, struct wb_state *st, char *err,
                  size_t errlen);

/* Replace path atomically with st. 0, or -1 with err. */
int wb_state_save(const char *path, const struct wb_state *st, char *err,
                  size_t errlen);

int wb_state_has_uploaded(const struct wb_state *st, const char *name);
/* 0, or -1 on OOM. */
int wb_state_add_uploaded(struct wb_state *st, const char *name);
/* *slot = copy of s (NULL allowed). 0 or -1 (OOM). */
int wb_state_set_str(char **slot, const char *s);

void wb_state_free(struct wb_state *st);

#endif /* WB_STATE_H */
