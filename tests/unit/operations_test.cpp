// Tests of mode/operations.hpp: readiness and metrics as the tree changes (the HTTP side is
// HttpEndpoint's, tested through the Console and the functional tests).
#include <mode/operations.hpp>
#include <mode/service.hpp>
#include <mode/testing.hpp>

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using mode::Service;
using mode::testing::run;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Named : public Service {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  std::string label() const override { return name_; }

 private:
  std::string name_;
};

TEST(OperationsEndpoint, ReadinessAndMetricsFollowTheTree) {
  mode::testing::LogCapture cap;
  boost::asio::io_context ctx;
  auto root = std::make_shared<Named>("Root");
  auto ops = std::make_shared<mode::OperationsEndpoint>();
  auto first = std::make_shared<Named>("Twin");
  auto second = std::make_shared<Named>("Twin");
  root->add_dependency(ops);
  root->add_dependency(first);
  root->add_dependency(second);
  EXPECT_THAT(ops->not_ready(), Contains("Root/Twin#2: init"));

  run(ctx, root->start());
  EXPECT_THAT(ops->not_ready(), ElementsAre());
  EXPECT_NE(ops->port(), 0);
  const std::string running = ops->metrics();
  EXPECT_THAT(running,
              HasSubstr("mode_service_state{service=\"Root/Twin#2\",state=\"running\"} 1"));
  EXPECT_THAT(running, HasSubstr("mode_service_starts_total{service=\"Root/Twin\"} 1\n"));
  EXPECT_THAT(running, HasSubstr("mode_service_crashes_total{service=\"Root/Twin#2\"} 0\n"));
  EXPECT_THAT(running, HasSubstr("# TYPE mode_service_restarts_total counter\n"));

  second->crash(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_THAT(ops->not_ready(), Contains("Root/Twin#2: crashed"));
  EXPECT_THAT(ops->metrics(), HasSubstr("mode_service_crashes_total{service=\"Root/Twin#2\"} 1\n"));
  run(ctx, root->stop());
}

TEST(OperationsEndpoint, AHostThatIsNotAnAddressIsAClearError) {
  mode::OperationsOptions options;
  options.host = "localhost";
  EXPECT_THROW(
      {
        try {
          mode::OperationsEndpoint endpoint(options);
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "not an IP address: \"localhost\"");
          throw;
        }
      },
      std::invalid_argument);
}

}  // namespace
