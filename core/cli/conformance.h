/* conformance.h -- `evtrack conformance PATH.so`: run the sink ABI
 * contract against any plugin file (see docs/CONFORMANCE.md). */
#ifndef EVT_CLI_CONFORMANCE_H
#define EVT_CLI_CONFORMANCE_H

/* argv holds the arguments after "conformance". Returns the exit code: 0
 * every check passed or was skipped, 1 a check failed, 2 usage error (a
 * missing plugin file or config file, a config that is not a JSON
 * object). */
int evt_cli_conformance(int argc, char **argv);

#endif
