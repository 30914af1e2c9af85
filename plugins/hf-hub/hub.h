/* hub.h -- internal interfaces of the hf-hub sink (docs/sinks/hf-hub.md).
 *
 *   hub_config.c  config keys, token and endpoint lookup
 *   hub_hash.c    SHA-1 (git blob ids), base64
 *   hub_stage.c   the on-disk staging of a run's events and sample files
 *   hub_card.c    the dataset card (README.md with `configs` front matter)
 *   hub_api.c     the Hub requests: whoami, create, tree, preupload, LFS,
 *                 commit
 *   hub_push.c    one push: the run's files, card, preupload, LFS, commit
 *   hf_hub.c      the sink callbacks
 *
 * Nothing here is thread-safe: one instance belongs to its worker. */
#ifndef HUB_H
#define HUB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "evtrack/sdk/http.h"
#include "evtrack/sdk/json_write.h"
#include "evtrack/sdk/results.h"
#include "evtrack/sink.h"
#include "record.h"

#define HUB_ERRLEN 1024

struct jl_secrets; /* plugins/jsonl/jwrite.h */

/* ---- hub_config.c ------------------------------------------------------ */

struct hub_cfg {
    char *endpoint;      /* no trailing '/' */
    char *token;         /* cleaned; never logged */
    const char *token_var; /* the variable it came from (static string or
                              token_var_buf) */
    char token_var_buf[128];
    char *org;           /* NULL: the token owner (whoami-v2) */
    char *results_repo;  /* "name" or "org/name", after defaults */
    char *details_repo;
    char *ca_bundle;     /* NULL: the system store */
    int public_repo, gated, push_results, push_samples, card;
    long timeout_ms, connect_timeout_ms;
    struct evt_http_retry retry;
    int64_t push_interval_s; /* 0: only at run_end */
    struct evt_results_opts ropts; /* results JSON as local-json's */
    char *secret_store[EVT_RESULTS_MAX_SECRETS];
    struct jl_opts jopts;          /* sample lines as jsonl's */
};

extern const struct evt_config_key hub_config_keys[];

/* Read and check the config; env lookups happen here (call from create).
 * 0, or -1 with the reason in err (never a value). */
int hub_config_read(struct hub_cfg *c, const struct evt_host_api *api,
                    const evt_config *cfg, char *err, size_t errlen);
void hub_config_free(struct hub_cfg *c);

/* ---- hub_hash.c -------------------------------------------------------- */

/* Git's blob id of data: sha1("blob <len>\0" + data), 40 hex + NUL. */
void hub_git_blob_oid(const void *data, size_t len, char out[41]);

/* Append the standard base64 (with padding) of p[0..n) to b. */
void hub_base64(struct evt_buf *b, const void *p, size_t n);

/* ---- hub_stage.c ------------------------------------------------------- */

struct hub_task {
    char *name;    /* safe file-name component of the task */
    char *path;    /* <run>/samples/<name>.jsonl */
    int fd;        /* -1 when closed */
    uint64_t size;      /* bytes written */
    uint64_t committed; /* bytes of lines a log record covers */
    int dirty;          /* written since the last fsync */
};

struct hub_iv {
    uint64_t lo, hi;
};

/* A run staged under <base>/runs/<run_id>/ (meta.json, events.log,
 * samples/<task>.jsonl, results.json, pushed). */
struct hub_run {
    char *run_id, *dir, *stamp;
    int log_fd;
    uint64_t log_size;  /* bytes of whole records */
    uint64_t nrec;      /* records in the log */
    uint64_t pushed;    /* nrec at the last push (from "pushed"), or
                           UINT64_MAX: never pushed */
    struct hub_iv *iv;  /* seqs staged, sorted disjoint intervals */
    size_t niv, civ;
    struct hub_task *tasks;
    size_t ntasks, ctasks;
    struct evt_buf pend; /* log records not yet written */
    uint64_t *pseq;      /* their seqs */
    size_t npseq, cpseq;
    int pend_end;        /* one of them is a run_end */
    int log_dirty;
    int ended;          /* a run_end was staged */
    int started;        /* a run_start was staged */
    int pend_start;
    int64_t last_push_ns;
    /* Tokens replaced in every string of the records staged (NULL: none);
     * set by the caller after hub_stage_open. */
    const struct jl_secrets *sec;
};

/* Open (or create) the staging of run_id under base, recovering from a
 * crash: a torn log tail is cut, sample lines that no log record covers
 * are cut off. stamp is recorded at creation (an existing staging keeps
 * its own). 0, or -1 with "path: step: reason" in err. */
int hub_stage_open(struct hub_run **out, const char *base,
                   const char *run_id, const char *stamp, char *err,
                   size_t errlen);
void hub_stage_close(struct hub_run *r);

/* 1 when seq is staged already. */
int hub_stage_has(const struct hub_run *r, uint64_t seq);

/* Stage one event (ev decoded, raw its msgpack bytes): its (reduced, for
 * samples) map into the log buffer and a sample's line, made by the jsonl
 * sink's record builder rec, into its task file. Returns 0, 1 when the event cannot
 * be staged (a sample with no line: err says why; the event counts as
 * staged), -1 on an I/O error or OOM (err set). */
int hub_stage_event(struct hub_run *r, struct jl_rec *rec, uint32_t kind,
                    uint64_t seq, const msgpack_object *ev, const void *raw,
                    size_t rawlen, char *err, size_t errlen, char *warn,
                    size_t warnlen);

/* Write the buffered log records (end of a batch): only then do their
 * events count as staged. On failure the sample lines written since the
 * last commit are cut off again. 0 or -1 (err). */
int hub_stage_commit(struct hub_run *r, char *err, size_t errlen);

/* fsync the log and the task files written since the last sync. */
int hub_stage_sync(struct hub_run *r, char *err, size_t errlen);

/* Feed every record of the log, in seq order, to fn (which returns 0 to
 * go on). 0, or -1 with err (I/O, OOM, or fn's -1). */
int hub_stage_each(const struct hub_run *r,
                   int (*fn)(void *ud, const msgpack_object *ev), void *ud,
                   char *err, size_t errlen);

/* Record that everything staged so far is pushed. 0 or -1 (err). */
int hub_stage_mark_pushed(struct hub_run *r, char *err, size_t errlen);

/* 1 when something staged is not pushed yet. */
int hub_stage_dirty(const struct hub_run *r);

/* ---- hub_card.c -------------------------------------------------------- */

/* The dataset card for a repo holding the files at paths (repo paths;
 * other files are ignored): YAML front matter with one config per
 * model and task (samples) and one per model for results, one split per
 * run and a "latest" split, then a short text. Recognises evtrack's and
 * lmms-eval's "<date>_results.json" / "<date>_samples_<task>.jsonl" and
 * lm-eval's "results_<date>.json" / "samples_<task>_<date>.jsonl". 0, or
 * -1 on OOM. */
int hub_card_build(const char *const *paths, size_t n, struct evt_buf *out);

/* A split name from a date: ^\w+(\.\w+)*$ (ASCII). Heap; NULL on OOM. */
char *hub_split_name(const char *date, size_t len);

/* A config name: no < > : / \ | ? * . (only [A-Za-z0-9_-]). Heap. */
char *hub_config_name(const char *s, size_t len);

/* ---- hub_api.c --------------------------------------------------------- */

struct hub_conn {
    const char *endpoint, *token, *ca_bundle;
    char *auth;          /* "authorization: Bearer <token>" */
    long timeout_ms, connect_timeout_ms;
    struct evt_http_retry retry;
};

/* One file of a push. Its bytes are data[0..len) (mapped or in mem). */
struct hub_file {
    char *repo_path;
    const unsigned char *data;
    size_t len;
    void *map;             /* munmap when set */
    struct evt_buf mem;    /* in-memory content (the card) */
    char sha256[65], blob[41];
    int lfs;               /* the server said "lfs" */
    int skip;              /* unchanged on the server (no-op rule) */
};

/* Each returns EVT_HTTP_DONE, _TRANSIENT or _FINAL (err set). */
int hub_whoami(const struct hub_conn *c, char **name, char *err,
               size_t errlen);
int hub_create_repo(const struct hub_conn *c, const char *repo_id,
                    int private_repo, int *created, char *err,
                    size_t errlen);
int hub_set_gated(const struct hub_conn *c, const char *repo_id, char *err,
                  size_t errlen);
/* Every file path of the repo at main (recursive, all pages); a repo
 * with no commit yet gives none. */
int hub_list_files(const struct hub_conn *c, const char *repo_id,
                   char ***paths, size_t *n, char *err, size_t errlen);
int hub_preupload(const struct hub_conn *c, const char *repo_id,
                  struct hub_file *f, size_t n, char *err, size_t errlen);
int hub_lfs_upload(const struct hub_conn *c, const char *repo_id,
                   struct hub_file *f, size_t n, char *err, size_t errlen);
int hub_commit(const struct hub_conn *c, const char *repo_id,
               const struct hub_file *f, size_t n, const char *summary,
               char *err, size_t errlen);

/* ---- hub_push.c -------------------------------------------------------- */

struct hub_pusher {
    const struct hub_cfg *cfg;
    struct hub_conn conn;
    char *org;             /* resolved namespace */
    char *repo_created[2]; /* repo ids created (or found) this process */
};

int hub_pusher_init(struct hub_pusher *p, const struct hub_cfg *cfg);
void hub_pusher_free(struct hub_pusher *p);

/* Push every staged file of r (results JSON rendered from the log,
 * sample files, card) in one commit per repo, then mark r pushed.
 * EVT_OK, EVT_RETRY (transient: try again later) or EVT_ERROR (final),
 * err set for the last two. */
int hub_push_run(struct hub_pusher *p, struct hub_run *r, char *err,
                 size_t errlen);

#endif
