/* tensorboard_events.c -- work in progress */
typedef int evt_tb_placeholder_tensorboard_events;
