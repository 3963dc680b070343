/* The pod sandbox's first process: holds the pod's namespaces open, reaps the zombies of any process that
 * re-parents to it (a shared PID namespace makes it the pod's init), and exits on SIGINT or SIGTERM. Built static
 * (gcc -static) into the local cluster's sandbox image, since registry.k8s.io cannot be reached here. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { _exit(128 + sig); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

int main(void) {
  struct sigaction term = {.sa_handler = stop};
  struct sigaction chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGINT, &term, NULL);
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGCHLD, &chld, NULL);
  for (;;) pause();
}
