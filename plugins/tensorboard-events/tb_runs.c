/* tb_runs.c -- work in progress */
typedef int evt_tb_placeholder_tb_runs;
