/* wb_files.h -- run files of the wandb sink: table files
 * (media/table/{key}_{step}_{sha256[:20]}.table.json holding
 * {"columns": [...], "data": [[...], ...]}), the history value that points
 * at one (protocols.md section 2.5), and their upload through the
 * run-files flow: GraphQL CreateRunFiles, then one PUT per file to the
 * URL the server gives, with only the headers it gives. The samples
 * tables and files are made by wb_samples.h.
 *
 * A file's bytes are in memory (small files: results.json, the results
 * tables) or in a temporary file of the run's folder (the samples tables
 * and files, which grow with the samples), mapped while it is uploaded
 * or copied; a temporary file is removed when its entry is replaced or
 * the list freed. */
#ifndef WB_FILES_H
#define WB_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"
#include "wb_json.h"

struct wb_conn;

/* One run file: its path relative to the run's files folder ('/'), its
 * bytes, and whether it has reached the server. */
struct wb_file {
    char *name;
    struct evt_buf data; /* the bytes, when path is NULL */
    char *path;          /* else the temporary file that holds them */
    uint64_t size;       /* its size */
    char sha[65];        /* SHA-256 of the bytes, hex, once known */
    int uploaded;
};

struct wb_files {
    struct wb_file *v;
    size_t n, cap;
    char *dir;          /* folder of the temporary files (the owner's) */
    unsigned long next; /* number of the next temporary file */
    int swept;          /* files an earlier process left there removed */
};

/* Add a file named name holding data; data's memory moves into the list
 * (data is left empty). A file of the same name is replaced. 0 or -1
 * (OOM; data is then freed). */
int wb_files_add(struct wb_files *fs, const char *name, struct evt_buf *data);

/* The same for the size bytes of the temporary file *path (from
 * wb_files_tmp), which moves into the list (*path becomes NULL); on
 * failure (-1, OOM) the file is removed and *path freed. */
int wb_files_add_path(struct wb_files *fs, const char *name, char **path,
                      uint64_t size);

/* Remove, once, the files in fs->dir: those an earlier process left
 * when it ended without closing the run. Only while the caller holds the
 * run (its journal's lock), which it then keeps until wb_files_free. */
void wb_files_sweep(struct wb_files *fs);

/* A path for a new temporary file in fs->dir (made if missing; swept
 * first). Heap; NULL with err. */
char *wb_files_tmp(struct wb_files *fs, char *err, size_t errlen);

/* Free the list and remove its temporary files. */
void wb_files_free(struct wb_files *fs);

/* A file's bytes, readable while open: its memory, or its temporary file
 * mapped (pages of the file, not heap). */
struct wb_bytes {
    const void *p;
    size_t n;
    void *map; /* the mapping, or NULL */
};

/* Open f's bytes. 0, or -1 with err ("path: step: reason"). */
int wb_bytes_open(struct wb_bytes *b, const struct wb_file *f, char *err,
                  size_t errlen);
/* The first size bytes of the file path. 0, or -1 with err. */
int wb_bytes_map(struct wb_bytes *b, const char *path, uint64_t size,
                 char *err, size_t errlen);
void wb_bytes_close(struct wb_bytes *b);

/* The key under which the run's state remembers that f reached the
 * server: its name and the SHA-256 of its bytes, so that a file of the
 * same name with other bytes (a later run_end's samples file or
 * results.json) is uploaded again. Heap; NULL when the bytes cannot be
 * read or on OOM (then f counts as not uploaded, and its upload reports
 * why). */
char *wb_file_key(struct wb_file *f);

/* Add the table file of key at step (stem: the key made safe for a path,
 * '/' allowed) with content, and set row[key] to its table-file value
 * {"_type": "table-file", "path", "sha256", "size", "ncols", "nrows",
 * "log_mode": "IMMUTABLE"}. content moves into fs. 0 or -1 (OOM). */
int wb_table_file(struct wb_files *fs, struct wb_kvs *row, const char *key,
                  const char *stem, int64_t step, struct evt_buf *content,
                  size_t ncols, size_t nrows);

/* The same for a table written to the temporary file *path (size bytes,
 * SHA-256 sha in hex), which moves into fs as wb_files_add_path says. */
int wb_table_file_at(struct wb_files *fs, struct wb_kvs *row,
                     const char *key, const char *stem, int64_t step,
                     char **path, uint64_t size, const char *sha,
                     size_t ncols, size_t nrows);

/* Upload every file of fs not yet uploaded: CreateRunFiles for their
 * names, then PUT each. Each file that arrived gets uploaded = 1. Returns
 * an evt_http outcome (EVT_HTTP_DONE when all arrived) with err set
 * otherwise. */
int wb_files_upload(struct wb_conn *c, const char *entity,
                    const char *project, const char *run, struct wb_files *fs,
                    int64_t deadline_ns, char *err, size_t errlen);

#endif /* WB_FILES_H */
