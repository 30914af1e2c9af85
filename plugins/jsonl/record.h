/* record.h -- one sample event to one JSONL line in the layout of
 * lmms-eval, lm-evaluation-harness or lighteval's details
 * (docs/sinks/jsonl.md, "Records").
 *
 * The line is Python json.dumps compact form (sdk json_write.h) plus '\n'.
 * Nothing here does I/O or keeps state between calls. */
#ifndef JSONL_RECORD_H
#define JSONL_RECORD_H

#include <msgpack.h>
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

/* Append the line for the sample event map ev (a decoded event, header
 * fields included) to line. On JL_REC_SKIP err holds the reason and line
 * is as it was. warn (may be NULL) receives a note about something that
 * was left out of a line that is still written (e.g. a metric whose name
 * collides with a field of the layout); warn[0] == 0 when there is none. */
int jl_record_line(const struct jl_opts *o, const msgpack_object *ev,
                   struct evt_buf *line, char *err, size_t errlen,
                   char *warn, size_t warnlen);

/* The marker appended to a string value cut by max_field_bytes; N is the
 * number of bytes removed: "<kept bytes>...[truncated N bytes]". */
#define JL_TRUNC_FMT "...[truncated %zu bytes]"

#endif
