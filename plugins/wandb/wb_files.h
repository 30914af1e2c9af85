/* wb_files.h -- run files of the wandb sink: table files
 * (media/table/{key}_{step}_{sha256[:20]}.table.json holding
 * {"columns": [...], "data": [[...], ...]}), the history value that points
 * at one (protocols.md section 2.5), the per-task samples tables and
 * samples files (formats.md section 7.2), and their upload through the
 * run-files flow: GraphQL CreateRunFiles, then one PUT per file to the
 * URL the server gives, with only the headers it gives. */
#ifndef WB_FILES_H
#define WB_FILES_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "evtrack/sdk/json_write.h"
#include "wb_json.h"

struct wb_conn;

/* One run file: its path relative to the run's files folder ('/'), its
 * bytes, and whether it has reached the server. */
struct wb_file {
    char *name;
    struct evt_buf data;
    int uploaded;
};

struct wb_files {
    struct wb_file *v;
    size_t n, cap;
};

/* Add a file named name holding data; data's memory moves into the list
 * (data is left empty). A file of the same name is replaced. 0 or -1
 * (OOM; data is then freed). */
int wb_files_add(struct wb_files *fs, const char *name, struct evt_buf *data);
void wb_files_free(struct wb_files *fs);

/* Add the table file of key at step (stem: the key made safe for a path,
 * '/' allowed) with content, and set row[key] to its table-file value
 * {"_type": "table-file", "path", "sha256", "size", "ncols", "nrows",
 * "log_mode": "IMMUTABLE"}. content moves into fs. 0 or -1 (OOM). */
int wb_table_file(struct wb_files *fs, struct wb_kvs *row, const char *key,
                  const char *stem, int64_t step, struct evt_buf *content,
                  size_t ncols, size_t nrows);

/* Per-task samples: a table (columns id, data, input_len, labels,
 * output_type, raw_predictions, filtered_predictions, filter, then one
 * column per metric, first seen first) and the samples file (a JSON array,
 * indent 2, of each sample's fields after the event header). */
struct wb_samples;

struct wb_samples *wb_samples_new(void);
void wb_samples_free(struct wb_samples *s);

/* Take one decoded sample event. 0, or -1 on OOM (nothing taken). */
int wb_samples_add(struct wb_samples *s, const msgpack_object *ev);

/* For every task with samples: the table "{task}_eval_results" at step
 * into fs and row, and the file "samples/{task}_eval_samples.json" into
 * fs. dict (the results dict, or NULL) gives each task's output_type.
 * 0 or -1 (OOM). */
int wb_samples_finish(struct wb_samples *s, const msgpack_object *dict,
                      int64_t step, struct wb_files *fs, struct wb_kvs *row);

/* Upload every file of fs not yet uploaded: CreateRunFiles for their
 * names, then PUT each. Each file that arrived gets uploaded = 1. Returns
 * an evt_http outcome (EVT_HTTP_DONE when all arrived) with err set
 * otherwise. */
int wb_files_upload(struct wb_conn *c, const char *entity,
                    const char *project, const char *run, struct wb_files *fs,
                    int64_t deadline_ns, char *err, size_t errlen);

#endif /* WB_FILES_H */
