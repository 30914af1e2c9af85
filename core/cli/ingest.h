/* ingest.h -- `evtrack ingest`: replay existing lmms-eval, lm-eval and
 * lighteval results files (and their samples JSONL) as events through the
 * sinks of a config (see docs/INGEST.md). */
#ifndef EVT_CLI_INGEST_H
#define EVT_CLI_INGEST_H

/* argv holds the arguments after "ingest". Returns the exit code: 0 ok,
 * 1 a sink failed, 2 usage, config or unreadable/unrecognised input. */
int evt_cli_ingest(int argc, char **argv);

#endif
