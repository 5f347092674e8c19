// Reference single-process epoll echo server: the in-process upper bound for echod's
// numbers (no fork, no limits, no logging). Used by bench/compare.sh only.
// Usage: ref_epoll_server PORT [BACKLOG]   (port 0 = any; prints "ready port=N")
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kBufSize = 65536;
constexpr int kRoundsPerEvent = 16;  // then let other connections run (level-triggered)

struct Conn {
  int fd;
  uint32_t interest;  // EPOLLIN while reading, EPOLLOUT while output is pending
  size_t off = 0, len = 0;
  char buf[kBufSize];
};

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void set_interest(int ep, Conn* c, uint32_t events) {
  if (c->interest == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
  c->interest = events;
}

void finish(Conn* c) {
  close(c->fd);  // also removes it from the epoll set
  delete c;
}

// Backpressure: read only once everything read before has been written back. EOF is
// therefore seen only after the echo is flushed, which handles half-close too.
void service(int ep, Conn* c) {
  for (int round = 0; round < kRoundsPerEvent; ++round) {
    if (c->off < c->len) {
      const ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) return set_interest(ep, c, EPOLLOUT);
      if (w < 0) return finish(c);
      c->off += static_cast<size_t>(w);
      continue;
    }
    const ssize_t r = read(c->fd, c->buf, kBufSize);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return set_interest(ep, c, EPOLLIN);
    if (r <= 0) return finish(c);
    c->off = 0;
    c->len = static_cast<size_t>(r);
  }
  set_interest(ep, c, c->off < c->len ? EPOLLOUT : EPOLLIN);
}

void accept_all(int ep, int listener) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EMFILE && errno != ENFILE) std::perror("accept4");
      return;
    }
    auto* c = new Conn;  // default-initialized: the buffer is not zeroed
    c->fd = fd;
    c->interest = EPOLLIN;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
  }
}

int listen_on(int port, int backlog) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    std::fprintf(stderr, "usage: ref_epoll_server PORT [BACKLOG]\n");
    return 64;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const int listener = listen_on(std::atoi(argv[1]), argc > 2 ? std::atoi(argv[2]) : 1024);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = nullptr;  // the listener; connections carry their Conn*
  if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) < 0) die("epoll_ctl listener");
  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr)
        accept_all(ep, listener);
      else
        service(ep, static_cast<Conn*>(events[i].data.ptr));
    }
  }
}
