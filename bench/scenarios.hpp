// The mode-bench scenarios (DESIGN.md §7): each runs its bare-Asio baseline, then the same work
// with mode services, each in a fresh child process, and returns one result line's fields.
#pragma once

#include "harness.hpp"

namespace mode::bench {

/// Start and stop of a root with `n` children, each with one task sleeping 1 s in a loop.
Fields run_tree(const Params& p);
/// `k` services with a 10 ms timer each, for 3 s: ticks delivered, lateness, CPU.
Fields run_timers(const Params& p);
/// Stop of a root whose `n` children each have a task in `sleep(30.0)`.
Fields run_stop_latency(const Params& p);
/// A Worker process running `n` services (one sleeping task each): SIGTERM to process exit.
Fields run_worker_shutdown(const Params& p);
/// `n` times `co_await wait(event)` on an already set Event, inside a running service.
Fields run_wait_set_event(const Params& p);
/// `n` sequential `call_thread` round trips to a QueueServiceThread: latency p50/p99.
Fields run_thread_call(const Params& p);

/// One supervised service that crashes right after each start, `n` times: restarts per second
/// and crash-to-running latency.
Fields run_restart(const Params& p);
/// `n` supervised services crashing at once: time until all run again, per strategy.
Fields run_restart_storm(const Params& p);

/// `n` sends to 10 receivers of a Signal (async) and `20 n` to 10 of a SyncSignal: receiver
/// calls per second.
Fields run_signal(const Params& p);
/// `n` items from one producer to one consumer coroutine through a FlowControlQueue (flow
/// resumed) / a ThrowableQueue of capacity 1000.
Fields run_queue_flow(const Params& p);
Fields run_queue_throwable(const Params& p);

/// One supervised service crashing right after each start, `n` times, in one process: resident
/// set size after a warm-up of min(100k, n / 10) restarts and at the end.
Fields run_soak_restart(const Params& p);
/// A root with `n` sleeping children made, started, stopped and destroyed `k` times in one
/// process: resident set size after a warm-up of k / 10 rounds and at the end.
Fields run_soak_tree(const Params& p);

}  // namespace mode::bench
