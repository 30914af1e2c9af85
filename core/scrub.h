/* scrub.h -- keep tokens out of evtrack's own files and messages.
 *
 * The secrets are the values of HF_TOKEN, HUGGING_FACE_HUB_TOKEN and
 * WANDB_API_KEY (the ones the local sinks scrub from their files,
 * docs/sinks/local-json.md section 5), read from the environment at each
 * call. A value of 8 bytes or more is replaced wherever it occurs; a
 * shorter one only where a whole msgpack string equals it, so that a
 * 3-letter token cannot damage other text. The replacement is
 * "[REDACTED]".
 *
 * Used for the spool and dead-letter records (worker.c), log messages and
 * the sink error box (log.c), and open/config error messages (tracker.c).
 * Identifiers (run_id, sink and plugin names, paths given in the config)
 * are the caller's choice and are not rewritten where they name files. */
#ifndef EVT_CORE_SCRUB_H
#define EVT_CORE_SCRUB_H

#include <stddef.h>

#define EVT__SCRUB_MAX 3

/* The non-empty secret values (pointers into the environment); count. */
size_t evt__secrets(const char *out[EVT__SCRUB_MAX]);

/* Replace every secret of 8 bytes or more in the NUL-terminated text in
 * buf (cap bytes); the result is cut to fit. */
void evt__scrub_text(char *buf, size_t cap);

/* When the msgpack object p[0..n) holds a secret in a string (a value or a
 * key), a copy (heap, *out_len bytes) with each one replaced; NULL when it
 * holds none, and NULL with *failed = 1 when it does but cannot be
 * rewritten (malformed bytes, out of memory). Other objects are copied
 * byte for byte, so fixed-width fields (seq, time_ns) keep their form. */
unsigned char *evt__scrub_msgpack(const unsigned char *p, size_t n,
                                  size_t *out_len, int *failed);

#endif
