// mode::ConsoleOptions: where the debug Console listens, apart from the Console so that the
// Worker's command line is checked without a service (and fuzzed on its own).
#pragma once

#include <mode/utils/times.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace mode {

/// Where a Console listens.
struct ConsoleOptions {
  std::string bind = "127.0.0.1";  ///< an IPv4 or IPv6 address
  std::uint16_t port = 50101;      ///< 0: any free port (see Console::port())
  /// Required to bind anything but a loopback address: the tree, task names and crash reasons
  /// are for the machine's own users.
  bool allow_remote = false;
  /// Connections answered at once; one more is refused at once (`503`, then closed).
  std::size_t max_connections = 8;
  /// Bound of one connection, from its accept to its answer: a client that sends nothing in
  /// that time is dropped.
  Seconds answer_timeout = 5.0;

  /// Throws std::invalid_argument for an address that does not parse, or that is not loopback
  /// while `allow_remote` is off.
  void check() const;
};

}  // namespace mode
