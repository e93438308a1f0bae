// A small service tree: an App with a page-view cache (a timer) and a user cache (a task).
// It runs for the number of seconds given (default: until Ctrl-C), then stops cleanly.
#include <mode/service.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <map>

namespace demo {

class PageViewCache : public mode::Service {
 public:
  PageViewCache() { timer(0.5, &PageViewCache::flush, "flush"); }
  void view(const std::string& url) { ++pending_[url]; }

 private:
  void flush() {
    for (const auto& [url, n] : pending_) log.info("flushed {} views of {}", n, url);
    pending_.clear();
  }
  std::map<std::string, int> pending_;
};

class UserCache : public mode::Service {
 public:
  explicit UserCache(std::shared_ptr<PageViewCache> views) : views_(std::move(views)) {
    task(&UserCache::visit, "visit");
  }

 private:
  mode::awaitable<void> visit() {
    for (int i = 0;; ++i) {
      const bool slept = co_await sleep(0.2);
      if (!slept) co_return;
      views_->view(i % 2 ? "/" : "/about");
    }
  }
  std::shared_ptr<PageViewCache> views_;
};

class App : public mode::Service {
 protected:
  std::vector<ServicePtr> on_init_dependencies() override {
    auto views = std::make_shared<PageViewCache>();
    return {views, std::make_shared<UserCache>(views)};
  }
};

mode::awaitable<void> run(std::shared_ptr<App> app, double seconds) {
  co_await app->start();
  auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::signal_set signals(ex, SIGINT, SIGTERM);
  mode::Event interrupted;
  signals.async_wait([&interrupted, app](boost::system::error_code ec, int) {
    if (ec) return;
    app->log.info("Stopping on signal received...");
    interrupted.set();
  });
  const mode::WaitResult<void> r = co_await app->wait(
      interrupted, seconds > 0 ? std::optional<mode::Seconds>(seconds) : std::nullopt);
  if (r.stopped) app->log.warn("App stopped by itself");
  signals.cancel();
  co_await app->stop();
}

}  // namespace demo

int main(int argc, char** argv) {
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S,%e: %^%l%$]: %v");
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.0;
  boost::asio::io_context ctx;
  auto app = std::make_shared<demo::App>();
  int status = 0;
  boost::asio::co_spawn(ctx, demo::run(app, seconds), [&](std::exception_ptr e) {
    if (e) status = 1;
  });
  ctx.run();
  return status;
}
