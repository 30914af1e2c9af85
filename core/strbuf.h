/* strbuf.h -- small string helpers for error messages and paths. */
#ifndef EVT_CORE_STRBUF_H
#define EVT_CORE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* snprintf into err (if errlen > 0), never overflowing; returns status so
 * callers can write `return evt__err(err, len, EVT_EINVAL, "...")`. */
int evt__err(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copy src into dst of size n, always NUL-terminated, truncating. */
void evt__strlcpy(char *dst, const char *src, size_t n);

/* Heap copy of s (NULL on OOM or when s is NULL). */
char *evt__strdup(const char *s);

/* Heap string of the printf result, NULL on OOM. */
char *evt__asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Join dir and name with one '/', heap allocated. */
char *evt__path_join(const char *dir, const char *name);

/* mkdir -p; returns 0 or -1 with errno set. */
int evt__mkdirs(const char *path, int mode);

#endif
