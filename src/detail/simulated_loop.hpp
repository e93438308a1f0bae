// Internal: the mark testing::Simulation leaves on the loop it drives, and its seeded generator.
#pragma once

#include <boost/asio/execution_context.hpp>

#include <cstdint>
#include <random>

namespace mode::detail {

/// Present on a loop that a testing::Simulation drives: what would draw real randomness draws
/// from `rng` instead (supervisors' backoff jitter), and what needs a real OS thread
/// (ServiceThread) refuses to run. Looked up only on such rare paths, never per wake-up.
class SimulatedLoop final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  SimulatedLoop(asio::execution_context& ctx, std::uint64_t seed)
      : asio::execution_context::service(ctx), rng(seed) {}
  explicit SimulatedLoop(asio::execution_context& ctx) : SimulatedLoop(ctx, 0) {}

  /// The simulation's loop, or null for an ordinary one.
  static SimulatedLoop* find(asio::execution_context& ctx) noexcept {
    return asio::has_service<SimulatedLoop>(ctx) ? &asio::use_service<SimulatedLoop>(ctx) : nullptr;
  }

  std::mt19937_64 rng;

 private:
  void shutdown() override {}
};

}  // namespace mode::detail
