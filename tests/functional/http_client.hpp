// Blocking HTTP/1.1 requests to 127.0.0.1 for functional tests, each read bounded by a timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace mode::testing {

/// Connects and sends `raw` without reading; the socket, or -1.
inline int send_request(int port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // bounds every read of the test
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  if (::write(fd, raw.data(), raw.size()) != static_cast<ssize_t>(raw.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Connects and sends `METHOD target` without reading: the request waits in the server's
/// backlog.
inline int send_get(int port, const std::string& target, const std::string& method = "GET") {
  return send_request(port, method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

/// Reads until the server closes the connection, then closes it.
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// One request to 127.0.0.1:port; the whole response (the server closes the connection).
inline std::string http_get(int port, const std::string& target,
                            const std::string& method = "GET") {
  const int fd = send_get(port, target, method);
  return fd < 0 ? "request failed" : read_all(fd);
}

}  // namespace mode::testing
