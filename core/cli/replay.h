/* replay.h -- `evtrack replay`: send the dead letters of sinks again,
 * through those sink instances only (see docs/REPLAY.md). */
#ifndef EVT_CLI_REPLAY_H
#define EVT_CLI_REPLAY_H

/* argv holds the arguments after "replay". Returns the exit code: 0 every
 * dead letter delivered (or none to send), 1 some failed again and were
 * kept, or a dead-letter file could not be used, 2 usage or config error
 * (an unknown or disabled --sink too). */
int evt_cli_replay(int argc, char **argv);

#endif
