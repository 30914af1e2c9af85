/* tracker_util.h -- shared by the tests that log through a tracker
 * (header-only). Include after test_util.h. */
#ifndef EVT_TEST_TRACKER_UTIL_H
#define EVT_TEST_TRACKER_UTIL_H

#include "evtrack/evtrack.h"

/* Log one event given as JSON; fails the test with the tracker's error. */
static inline void log_json(evt_tracker *t, enum evt_event_kind kind,
                            const char *json)
{
    if (evt_log_json(t, kind, json) != EVT_OK) {
        char err[512];
        evt_last_error(t, err, sizeof err);
        fail_msg("evt_log_json: %s", err);
    }
}

#endif /* EVT_TEST_TRACKER_UTIL_H */
