/* fake_server.h -- start and stop a python3 fake server of tests/fake/
 * from a cmocka test (header-only).
 *
 * The server listens on 127.0.0.1 only, on an ephemeral port that it
 * prints on its stdout as the first line; the test reads it, talks to
 * http://127.0.0.1:PORT, and stops the server with SIGTERM. The server's
 * stdin is a pipe the test keeps open: when the test dies (an abort, a
 * sanitizer, a timeout), the server sees EOF and exits too. */
#ifndef EVT_TEST_FAKE_SERVER_H
#define EVT_TEST_FAKE_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct fake_server {
    pid_t pid;
    int port;
    int life; /* write end of the server's stdin */
    char url[64]; /* http://127.0.0.1:PORT */
};

/* Run "python3 $EVT_TEST_SOURCE_DIR/tests/fake/<script> args..." (argv
 * NULL-terminated, may be NULL) and wait for its port. 0, or -1 with a
 * message on stderr. */
static inline int fake_server_start(struct fake_server *s, const char *script,
                                    const char *const *args)
{
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    char path[4096];
    int fd[2];
    if (!src) {
        fprintf(stderr, "EVT_TEST_SOURCE_DIR is not set (run with ctest)\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/tests/fake/%s", src, script);
    int in[2];
    if (pipe(fd) != 0)
        return -1;
    if (pipe(in) != 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    fcntl(in[1], F_SETFD, FD_CLOEXEC); /* no other child inherits it */
    const char *argv[32] = {"python3", "-u", path};
    int n = 3;
    for (; args && *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(fd[1], 1);
        dup2(in[0], 0);
        close(fd[0]);
        close(fd[1]);
        close(in[0]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    close(in[0]);
    s->life = in[1];
    char line[32];
    size_t got = 0;
    while (got + 1 < sizeof line) {
        ssize_t r = read(fd[0], line + got, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    close(fd[0]);
    s->port = (int)strtol(line, NULL, 10);
    if (s->port <= 0) {
        fprintf(stderr, "fake server %s did not start\n", path);
        close(s->life);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return 0;
}

/* A port of 127.0.0.1 where nothing listens (bound, then closed), for
 * "the server is unreachable" cases; -1 when no socket could be had. */
static inline int fake_server_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
             getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    if (fd >= 0)
        close(fd);
    return ok ? ntohs(a.sin_port) : -1;
}

/* A self-signed certificate for san (e.g. "IP:127.0.0.1") for a server
 * started with "--tls dir/name.pem dir/name.key". 0, or -1 when openssl
 * failed. */
static inline int fake_server_make_cert(const char *dir, const char *name,
                                        const char *san)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd,
                     "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
                     "-subj /CN=evtrack-test -addext subjectAltName=%s "
                     "-keyout '%s/%s.key' -out '%s/%s.pem' >/dev/null 2>&1",
                     san, dir, name, dir, name);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

static inline void fake_server_stop(struct fake_server *s)
{
    if (s->pid > 0) {
        close(s->life);
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

#endif
