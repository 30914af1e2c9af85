/* ingest.h -- `evtrack ingest`: replay existing lmms-eval, lm-eval and
 * lighteval results files (and their samples JSONL) as events through the
 * sinks of a config (see docs/INGEST.md). */
#ifndef EVT_CLI_INGEST_H
#define EVT_CLI_INGEST_H

#include <stddef.h>

#include "evtrack/evtrack.h"

/* argv holds the arguments after "ingest". Returns the exit code: 0 ok,
 * 1 a sink failed, 2 usage, config or unreadable/unrecognised input. */
int evt_cli_ingest(int argc, char **argv);

/* The reader alone, for the fuzz target tests/fuzz/fuzz_ingest.c: replay
 * the text buf[0..len) of the results file path (buf[len] must be '\0';
 * bytes are changed and put back during the call), with the samples files
 * next to path, through the open tracker t (evt_cli_ingest opens one per
 * file). Input errors are reported on stderr. 0, or -1 when the text is
 * not a recognised results file or had an input or sink error. */
int evt_cli_ingest_text(evt_tracker *t, const char *path, char *buf,
                        size_t len);

#endif
