/* json_msgpack.h -- JSON text to msgpack, streaming, in one pass.
 *
 * Keeps what a DOM parser would lose: member order, and integers apart
 * from floats ("1" stays an int, "1.0" a float64), as Python's json module
 * does. Strings must be valid UTF-8; \u escapes (with surrogate pairs) are
 * decoded; bare NaN/Infinity/-Infinity (Python's json.dumps output) are
 * accepted as float64. Nesting is limited to EVT_JSON_MAX_DEPTH. */
#ifndef EVT_CORE_JSON_MSGPACK_H
#define EVT_CORE_JSON_MSGPACK_H

#include <stddef.h>

#include "event.h"

#define EVT_JSON_MAX_DEPTH 15 /* see MAX_DEPTH in builder.c */

/* Called for each member of the top-level object after its value was
 * written; value_off is the offset of the value in e->buf. A non-zero
 * return stops parsing with that status (the callback fills err). */
typedef int (*evt__json_member_fn)(void *ctx, const char *key, size_t klen,
                                   size_t value_off, char *err,
                                   size_t errlen);

/* Append the one JSON value in text[0..len) to e as msgpack. */
int evt__json_to_mp(struct evt_event *e, const char *text, size_t len,
                    char *err, size_t errlen);

/* text must hold one JSON object: append its members (key, value pairs,
 * no map header) to e, call fn (may be NULL) for each, and store the
 * member count in *count. */
int evt__json_members_to_mp(struct evt_event *e, const char *text,
                            size_t len, evt__json_member_fn fn, void *ctx,
                            uint32_t *count, char *err, size_t errlen);

#endif
