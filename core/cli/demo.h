/* demo.h -- `evtrack demo`: a small simulated evaluation recorded through
 * the sinks of a built-in config (see docs/DEMO.md). */
#ifndef EVT_CLI_DEMO_H
#define EVT_CLI_DEMO_H

/* argv holds the arguments after "demo". Returns the exit code: 0 ok,
 * 1 a sink or the run failed, 2 usage or config error. */
int evt_cli_demo(int argc, char **argv);

#endif
