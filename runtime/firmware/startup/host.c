/*
 * host.c - "startup" of the host board: a native process whose UART is its
 * stdin/stdout, connected by the runner to a pseudo-terminal.
 *
 * Reset button: SIGUSR1 restarts the firmware image from scratch, like a
 * hardware reset, so that link tests can reset the board between commands
 * (BoardSession.reset_board). The handler execve()s /proc/self/exe, which is
 * async-signal-safe: the PID, the parent-death signal and the open file
 * descriptors -- the pty -- survive, all firmware state (input, output,
 * parser, timing) is lost, and the new image prints its ready line again.
 * Bytes still queued in the pty survive too, as in a UART FIFO that is not
 * cleared by a reset; bytes already read into user space are lost.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_platform.h"

extern char **environ;

static char fw_host_self[] = "/proc/self/exe";

static void fw_host_reset(int sig)
{
    char *argv[2];

    (void)sig;
    argv[0] = fw_host_self;
    argv[1] = NULL;
    execve(fw_host_self, argv, environ);
    _exit(98); /* could not restart: die visibly rather than run on half-reset */
}

static void fw_host_install_reset(void)
{
    struct sigaction action;
    sigset_t unblock;

    memset(&action, 0, sizeof action);
    action.sa_handler = fw_host_reset;
    /* SA_NODEFER: execve keeps the signal mask, and a SIGUSR1 blocked while
     * its handler runs would stay blocked in the new image: no second reset. */
    action.sa_flags = SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

void fw_platform_init(void)
{
    fw_host_install_reset();
}

void fw_platform_exit(int code)
{
    exit(code);
}

void fw_irq_line_enable(uint32_t irq)
{
    (void)irq;
}

/* Nothing interrupts a run on the host: the firmware reads with a blocking read(). */
void fw_irq_line_hold(uint32_t irq, int hold)
{
    (void)irq;
    (void)hold;
}
