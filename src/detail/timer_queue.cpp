// The coalescing per-loop timer queue.
#include <mode/detail/timer_queue.hpp>
#include <mode/detail/wait_op.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>

namespace mode::detail {

namespace {
// use_service locks the context's registry: remember the last queue this thread asked for.
thread_local TimerQueue* last_queue = nullptr;
thread_local asio::execution_context* last_context = nullptr;

// Every loop's lateness, and the sum of the loops gone: what a scrape adds up.
struct LatenessRegistry {
  std::mutex mutex;
  std::vector<const TimerLateness*> live;
  TimerLateness::Counts gone;
};

LatenessRegistry& lateness_registry() {
  // Never destroyed: a loop may be destroyed during static destruction.
  static auto* registry = new LatenessRegistry;
  return *registry;
}
}  // namespace

TimerLateness::Counts& TimerLateness::Counts::operator+=(const Counts& o) noexcept {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
  sum_ns += o.sum_ns;
  return *this;
}

void TimerLateness::record(Clock::duration late) noexcept {
  const auto ns =
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(late).count());
  const double seconds = static_cast<double>(ns) * 1e-9;
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

TimerLateness::Counts TimerLateness::counts() const noexcept {
  Counts c;
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    c.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  c.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return c;
}

TimerLateness::Counts TimerLateness::process_counts() {
  LatenessRegistry& r = lateness_registry();
  const std::lock_guard lock(r.mutex);
  Counts c = r.gone;
  for (const TimerLateness* l : r.live) c += l->counts();
  return c;
}

TimerQueue::TimerQueue(asio::execution_context& ctx)
    : asio::execution_context::service(ctx), clock_(&SteadyClock::instance()) {
  LatenessRegistry& r = lateness_registry();
  const std::lock_guard lock(r.mutex);
  r.live.push_back(&lateness_);
}

TimerQueue::~TimerQueue() {
  {
    LatenessRegistry& r = lateness_registry();
    const std::lock_guard lock(r.mutex);
    std::erase(r.live, &lateness_);
    r.gone += lateness_.counts();
  }
  if (last_queue == this) {
    last_queue = nullptr;
    last_context = nullptr;
  }
  if (clock_->manual()) std::erase(static_cast<ManualClock*>(clock_)->queues_, this);
}

TimerQueue& TimerQueue::of(const asio::any_io_executor& ex) {
  asio::execution_context& ctx = asio::query(ex, asio::execution::context);
  if (&ctx != last_context) {
    last_queue = &asio::use_service<TimerQueue>(ctx);
    last_context = &ctx;
  }
  return *last_queue;
}

void TimerQueue::shutdown() {
  // The timer's own service may be destroyed before this one: let go of the timer now.
  timer_.reset();
  armed_at_.reset();
  for (const Slot& slot : heap_) slot.entry->heap_index_ = TimerEntry::npos;
  heap_.clear();
  // A suspended coroutine is owned only by the handler in its own frame: destroying the
  // handlers hands the frames to the scheduler, which destroys them when it shuts down.
  std::vector<WaitOp::Handler> orphans;
  for (WaitList* list : {&suspended_, &ready_}) {
    while (WaitOp* op = list->front()) {
      op->suspended_link.unlink();
      orphans.push_back(std::move(op->handler_));
    }
  }
  orphans.clear();
}

std::shared_ptr<const asio::any_io_executor> TimerQueue::shared_executor(
    const asio::any_io_executor& ex) {
  // The first executor seen (the loop's own, nearly always) is shared; any other (a strand,
  // say) gets a copy of its own, so that nothing here grows with them.
  if (!executor_) executor_ = std::make_shared<const asio::any_io_executor>(ex);
  if (*executor_ == ex) return executor_;
  return std::make_shared<const asio::any_io_executor>(ex);
}

void TimerQueue::set_clock(Clock& clock) {
  if (clock_->manual()) std::erase(static_cast<ManualClock*>(clock_)->queues_, this);
  clock_ = &clock;
  if (clock.manual()) {
    static_cast<ManualClock&>(clock).queues_.push_back(this);
    slack_ = Clock::duration::zero();
  }
}

void TimerQueue::schedule(TimerEntry& e, Clock::time_point deadline,
                          const asio::any_io_executor& ex) {
  cancel(e);
  e.deadline = deadline;
  e.heap_index_ = static_cast<std::uint32_t>(heap_.size());
  heap_.push_back(Slot{deadline, &e});
  sift_up(e.heap_index_);
  if (heap_.front().entry == &e) arm(ex);
}

void TimerQueue::cancel(TimerEntry& e) noexcept {
  const std::size_t i = e.heap_index_;
  if (i == TimerEntry::npos) return;
  e.heap_index_ = TimerEntry::npos;
  const std::size_t last = heap_.size() - 1;
  if (i != last) {
    heap_[i] = heap_[last];
    heap_[i].entry->heap_index_ = static_cast<std::uint32_t>(i);
  }
  heap_.pop_back();
  if (i < heap_.size()) {
    sift_down(i);
    sift_up(i);
    // The Asio timer stays armed: one spurious wake-up is cheaper than re-arming on every cancel.
  } else if (heap_.empty() && armed_at_) {
    // Nothing left to wake for: an armed timer would keep the loop's run() from returning until
    // it expired (a stop's shutdown_timeout: a minute).
    armed_at_.reset();
    timer_->cancel();
  }
}

void TimerQueue::arm(const asio::any_io_executor& ex) {
  if (clock_->manual() || driven_) return;
  const Clock::time_point when = heap_.front().deadline;
  // An armed wake-up within the slack of the new deadline serves it too.
  if (armed_at_ && *armed_at_ <= when + slack_) return;
  if (!timer_) timer_.emplace(ex);
  armed_at_ = when;
  timer_->expires_at(when);
  timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // re-armed or shut down; the newer wait takes over
    armed_at_.reset();
    if (!heap_.empty()) {
      fire_due();
      if (!heap_.empty()) arm(timer_->get_executor());
    }
  });
}

bool TimerQueue::batches(const asio::any_io_executor& ex) noexcept {
  const auto* io = ex.target<asio::io_context::executor_type>();
  if (io == nullptr) return false;
  io_ = &io->context();
  return true;
}

bool TimerQueue::in_loop_thread() const noexcept {
  return io_ != nullptr && io_->get_executor().running_in_this_thread();
}

void TimerQueue::resume_soon(WaitLink& fired) noexcept {
  ready_.push_back(fired);
  if (!resume_posted_) post_resume();
}

void TimerQueue::post_resume() noexcept {
  resume_posted_ = true;
  asio::post(io_->get_executor(), [this] { resume_ready(); });
}

void TimerQueue::resume_ready() {
  // Waits fired while this runs join the batch. A bounded batch: waits that keep waking each
  // other must not starve the loop's I/O.
  struct Repost {
    TimerQueue* queue;
    ~Repost() {
      queue->resume_posted_ = false;
      if (!queue->ready_.empty()) queue->post_resume();
    }
  } repost{this};
  for (int budget = 256; budget > 0; --budget) {
    WaitOp* op = ready_.front();
    if (op == nullptr) break;
    op->suspended_link.unlink();
    op->handler_(op->result_);  // resumes the coroutine, which may destroy `op`
  }
}

void TimerQueue::run_driving(asio::io_context& ctx) {
  TimerQueue& queue = asio::use_service<TimerQueue>(ctx);
  queue.driven_ = true;
  while (!ctx.stopped()) {
    queue.fire_due();
    const std::optional<Clock::time_point> next = queue.next_deadline();
    // A manual clock's deadlines are fired by ManualClock::advance, not by waiting.
    if (next && !queue.clock_->manual())
      ctx.run_one_until(*next);
    else if (ctx.run_one() == 0)
      break;  // out of work
  }
}

void TimerQueue::fire_due() noexcept {
  const Clock::time_point limit = clock_->now() + slack_;
  while (!heap_.empty() && heap_.front().deadline <= limit) {
    TimerEntry* e = heap_.front().entry;
    cancel(*e);
    e->on_deadline();
  }
}

std::optional<Clock::time_point> TimerQueue::next_deadline() const noexcept {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline;
}

void TimerQueue::swap_at(std::size_t a, std::size_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  heap_[a].entry->heap_index_ = static_cast<std::uint32_t>(a);
  heap_[b].entry->heap_index_ = static_cast<std::uint32_t>(b);
}

void TimerQueue::sift_up(std::size_t i) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(heap_[i].deadline < heap_[parent].deadline)) return;
    swap_at(i, parent);
    i = parent;
  }
}

void TimerQueue::sift_down(std::size_t i) noexcept {
  for (;;) {
    std::size_t least = i;
    for (std::size_t c = 2 * i + 1; c <= 2 * i + 2 && c < heap_.size(); ++c)
      if (heap_[c].deadline < heap_[least].deadline) least = c;
    if (least == i) return;
    swap_at(i, least);
    i = least;
  }
}

}  // namespace mode::detail
