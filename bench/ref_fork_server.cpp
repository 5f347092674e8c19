// Reference fork-per-connection echo server (Stevens, UNP ch. 5), the floor for what a
// fork server costs: no limits, no logging, no timeouts. Used by bench/compare.sh only.
// Usage: ref_fork_server PORT [BACKLOG]   (port 0 = any; prints "ready port=N")
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// One SIGCHLD can stand for many children: drain them all.
void reap(int) {
  const int saved = errno;
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

[[noreturn]] void serve(int fd) {
  static char buf[65536];
  for (;;) {
    const ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || !write_all(fd, buf, static_cast<size_t>(r))) break;
  }
  _exit(0);
}

int listen_on(int port, int backlog) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind");
  if (listen(fd, backlog) < 0) die("listen");
  socklen_t len = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) die("getsockname");
  std::printf("ready port=%d\n", ntohs(sa.sin_port));
  std::fflush(stdout);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: ref_fork_server PORT [BACKLOG]\n");
    return 64;
  }
  const int listener = listen_on(std::atoi(argv[1]), argc > 2 ? std::atoi(argv[2]) : 1024);
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = reap;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NOCLDSTOP;  // no SA_RESTART: accept's EINTR is handled below
  if (sigaction(SIGCHLD, &sa, nullptr) < 0) die("sigaction");
  for (;;) {
    const int conn = accept(listener, nullptr, nullptr);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: let children exit
        usleep(1000);
        continue;
      }
      die("accept");
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(listener);
      serve(conn);
    }
    if (pid < 0) std::perror("fork");  // drop this client, keep serving
    close(conn);
  }
}
