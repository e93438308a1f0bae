// The tutorial demo as a subprocess of a functional test, and the ports it logs.
#pragma once

#include "subprocess.hpp"

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

namespace mode::testing {

#ifdef MODE_TUTORIAL
/// The tutorial with `args`, its websocket server on a free port unless `args` name one.
inline Subprocess tutorial(std::vector<std::string> args) {
  if (std::find(args.begin(), args.end(), "--ws-port") == args.end()) {
    args.push_back("--ws-port");
    args.push_back("0");
  }
  args.insert(args.begin(), MODE_TUTORIAL);
  return Subprocess(std::move(args));
}
#endif

/// The port `service` (Webserver or Websockets) logged that it serves on, or -1.
inline int served_port(const std::string& log, const std::string& service = "Webserver") {
  std::smatch m;
  const std::regex re(R"(\[\^--)" + service + R"(\]: Serving on port (\d+))");
  if (!std::regex_search(log, m, re)) return -1;
  return std::stoi(m[1].str());
}

}  // namespace mode::testing
