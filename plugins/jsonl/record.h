/* record.h -- one sample event to one JSONL line in the layout of
 * lmms-eval, lm-evaluation-harness or lighteval's details
 * (docs/sinks/jsonl.md, "Records").
 *
 * The line is Python json.dumps compact form (the bytes of the sdk's
 * json_write.h) plus '\n', written straight from the event's msgpack
 * bytes. A jl_rec holds the scratch memory reused from one line to the
 * next, so a steady stream of samples allocates nothing. Nothing here
 * does I/O. */
#ifndef JSONL_RECORD_H
#define JSONL_RECORD_H

#include <stddef.h>

#include "evtrack/sdk/json_write.h"

enum jl_layout { JL_LMMS = 0, JL_LMEVAL = 1, JL_LIGHTEVAL = 2 };

struct jl_opts {
    int layout;             /* enum jl_layout */
    int filter_key;         /* lmms-eval: write "filter" (1) or drop it */
    size_t max_field_bytes; /* 0: no cap on string values */
    char **drop;            /* output keys to leave out */
    size_t ndrop;
};

enum jl_rec_status {
    JL_REC_OK = 0,
    JL_REC_SKIP = -1, /* the event cannot be written; err says why */
    JL_REC_NOMEM = -2
};

struct jl_rec;
struct jl_secrets; /* jwrite.h */

/* A record builder for lines with options o (kept by reference); NULL on
 * OOM. */
struct jl_rec *jl_rec_new(const struct jl_opts *o);
void jl_rec_free(struct jl_rec *r);

/* Scrub the secrets of k (kept by reference; NULL: none) from every string
 * of the lines and from jl_rec_task_name. */
void jl_rec_set_secrets(struct jl_rec *r, const struct jl_secrets *k);

/* Read the top-level fields of a sample event's bytes (kept by
 * reference until the next scan). 0, or -1 when they are not one msgpack
 * map (or it nests deeper than msgpack-c reads), or on OOM (*oom set). */
int jl_rec_scan(struct jl_rec *r, const void *buf, size_t len, int *oom);

/* The scanned event's "task" (its first one) when it is a str: 1 and
 * *p, *n set; else 0. */
int jl_rec_task(const struct jl_rec *r, const char **p, size_t *n);

/* The same task as file names show it: with the secrets replaced (valid
 * until the next call). 1 and *p, *n set; 0 when there is no str "task";
 * -1 on OOM. */
int jl_rec_task_name(struct jl_rec *r, const char **p, size_t *n);

/* Append the line of the scanned event to line. On JL_REC_SKIP err holds
 * the reason and line is as it was; on JL_REC_NOMEM too. warn (may be
 * NULL) receives a note about something left out of a line that is still
 * written (a metric whose name collides with a field of the layout);
 * warn[0] == 0 when there is none. */
int jl_rec_line(struct jl_rec *r, struct evt_buf *line, char *err,
                size_t errlen, char *warn, size_t warnlen);

#endif
