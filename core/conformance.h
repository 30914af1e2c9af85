/* conformance.h -- the sink conformance kit (`evtrack conformance`,
 * docs/CONFORMANCE.md).
 *
 * Exported by libevtrack for the evtrack command; not an installed
 * header. It loads one sink plugin file and runs the ABI contract against
 * it through the real host (loader, config binding, tracker, workers):
 * every check runs in a forked child process with its own temporary
 * folder, so a sink that crashes or hangs fails that check only. */
#ifndef EVT_CORE_CONFORMANCE_H
#define EVT_CORE_CONFORMANCE_H

#include <stddef.h>

#include "evtrack/evtrack.h"

#ifdef __cplusplus
extern "C" {
#endif

enum evt_conf_verdict {
    EVT_CONF_PASS = 0,
    EVT_CONF_FAIL = 1,
    EVT_CONF_SKIP = 2
};

struct evt_conf_opts {
    /* The sink's "config" object as JSON text (an object); NULL: {}. */
    const char *config_json;
    /* Seconds one check may take before it is killed; <= 0: 60. */
    int timeout_s;
    /* Keep the temporary folder (see kept_dir) instead of removing it. */
    int keep;
};

/* Called once per check, in order. reason is one line without a
 * newline. */
typedef void (*evt_conf_report_fn)(void *ud, enum evt_conf_verdict v,
                                   const char *name, const char *reason);

/* Run every check against the plugin file at path. Returns the number of
 * failed checks (>= 0), or a negative status with err filled when the
 * run could not start: EVT_EINVAL for config_json that is not a JSON
 * object, EVT_EIO when the temporary folder cannot be made. With
 * opts->keep, *kept_dir (if not NULL) receives a heap copy of the
 * folder's path. */
EVT_API int evt_conformance_run(const char *path,
                                const struct evt_conf_opts *opts,
                                evt_conf_report_fn fn, void *ud,
                                char **kept_dir, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
