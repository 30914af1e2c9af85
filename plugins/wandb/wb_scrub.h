/* wb_scrub.h -- keep secrets (the API key, $HF_TOKEN, ...) out of what
 * the wandb sink stores and sends: an event whose bytes contain a secret
 * is rebuilt with every string (keys included) that equals a secret, or
 * contains one of 8 bytes or more, turned into "[REDACTED]" at that
 * place, as the results files do (evtrack/sdk/results.h). */
#ifndef WB_SCRUB_H
#define WB_SCRUB_H

#include <stddef.h>

#include "evtrack/sdk/json_write.h"

/* secrets: n entries, NULL or empty ones skipped. When mp[0..len) holds no
 * secret, returns 0 and leaves out untouched; otherwise returns 1 with the
 * scrubbed msgpack in out. -1 on OOM or bytes that are not one msgpack
 * object. */
int wb_scrub_msgpack(const void *mp, size_t len, const char *const *secrets,
                     size_t n, struct evt_buf *out);

/* The same for text: 0 none (out untouched), 1 scrubbed copy in out. */
int wb_scrub_text(const char *s, size_t len, const char *const *secrets,
                  size_t n, struct evt_buf *out);

#endif /* WB_SCRUB_H */
