// mode::Proxy (a lazy value computed by a factory) and mode::ServiceProxy (an object with the
// service API that forwards it to a service created on first use), Mode's `mode.locals.Proxy`
// and `mode.proxy.ServiceProxy`.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/service.hpp>
#include <mode/utils/logging.hpp>
#include <mode/utils/objects.hpp>
#include <mode/utils/trees.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace mode {

/// A value computed by `factory` when it is used: on every use, or on the first use only with
/// `cache = true` (after which every use sees that one value). A factory that throws leaves the
/// proxy unevaluated: the next use calls it again. Copies share the factory and the cache.
/// Thread-safe with `cache = true` (the factory runs once); without the cache, as thread-safe
/// as the factory.
template <class T>
class Proxy {
 public:
  using value_type = T;
  using Factory = std::function<T()>;

  /// Throws std::invalid_argument for an empty factory.
  explicit Proxy(Factory factory, bool cache = false)
      : state_(std::make_shared<State>(std::move(factory), cache)) {
    if (!state_->factory) throw std::invalid_argument("mode::Proxy: empty factory");
  }

  /// The value: a new one from the factory, or the cached one.
  T evaluate() const {
    if (!state_->cache) return state_->factory();
    return cached();
  }
  T operator*() const { return evaluate(); }

  /// Pointer-like access for `proxy->member()`: the temporary keeps an uncached value alive for
  /// the full expression; with the cache it points into the cache.
  class Arrow {
   public:
    T* operator->() noexcept { return ptr_; }

   private:
    friend class Proxy;
    explicit Arrow(T* cached) noexcept : ptr_(cached) {}
    explicit Arrow(T&& value) : owned_(std::move(value)), ptr_(&*owned_) {}
    Arrow(const Arrow&) = delete;
    Arrow& operator=(const Arrow&) = delete;
    std::optional<T> owned_;
    T* ptr_;
  };
  Arrow operator->() const {
    if (!state_->cache) return Arrow(state_->factory());
    (void)cached();
    return Arrow(&*state_->value);
  }

  /// Mode's `__evaluated__`: true once a cached proxy has its value; never for an uncached one.
  bool evaluated() const noexcept {
    if (!state_->cache) return false;
    std::lock_guard lock(state_->mutex);
    return state_->value.has_value();
  }
  bool cache() const noexcept { return state_->cache; }

 private:
  struct State {
    State(Factory f, bool c) : factory(std::move(f)), cache(c) {}
    Factory factory;
    const bool cache;
    std::mutex mutex;
    std::optional<T> value;
  };

  const T& cached() const {
    std::lock_guard lock(state_->mutex);
    if (!state_->value) state_->value.emplace(state_->factory());
    return *state_->value;
  }

  std::shared_ptr<State> state_;
};

template <class F>
Proxy(F) -> Proxy<std::invoke_result_t<F&>>;
template <class F>
Proxy(F, bool) -> Proxy<std::invoke_result_t<F&>>;

namespace detail {
template <class T>
struct IsProxy : std::false_type {};
template <class T>
struct IsProxy<Proxy<T>> : std::true_type {};
}  // namespace detail

/// The value of `x` if it is a Proxy (`x.evaluate()`), else `x` itself unchanged.
template <class X>
decltype(auto) maybe_evaluate(X&& x) {
  if constexpr (detail::IsProxy<std::remove_cvref_t<X>>::value) {
    return x.evaluate();
  } else {
    return std::forward<X>(x);
  }
}

/// Looks like a service and forwards the service API (lifecycle, dependencies, contexts, state)
/// to an underlying service, created on first use by `make_service()` (by default, the factory
/// given to the constructor). Lets a program build, at load time, an object that becomes a
/// service only once something uses it. Everything else (executor, stop, errors) is the
/// underlying service's contract; the proxy owns the service and keeps it until it is
/// destroyed. The coroutines returned are the underlying service's own: awaiting them needs
/// the service alive, not the proxy. Its `log` writes to the proxy class's logger with the
/// prefix `[^--ProxyClass]: `, at the underlying service's depth in the tree (Mode's
/// ServiceProxy); logging does not create the service (until then, a root's prefix).
class ServiceProxy : private CompositeLogger::Owner {
 public:
  using ServicePtr = std::shared_ptr<Service>;
  using Factory = std::function<ServicePtr()>;

  /// Throws std::invalid_argument for an empty factory.
  explicit ServiceProxy(Factory factory) : factory_(std::move(factory)) {
    if (!factory_) throw std::invalid_argument("mode::ServiceProxy: empty factory");
  }
  ServiceProxy(const ServiceProxy&) = delete;
  ServiceProxy& operator=(const ServiceProxy&) = delete;
  virtual ~ServiceProxy() = default;

  /// The underlying service, created on the first call. Throws std::logic_error if the factory
  /// (or `make_service`) gives a null service; the next call tries again.
  const ServicePtr& service() {
    if (!service_) {
      ServicePtr made = make_service();
      if (!made) throw std::logic_error("mode::ServiceProxy: the factory returned no service");
      service_ = std::move(made);
    }
    return service_;
  }
  /// True once the underlying service exists.
  bool has_service() const noexcept { return service_ != nullptr; }

  awaitable<void> start() { return service()->start(); }
  awaitable<bool> maybe_start() { return service()->maybe_start(); }
  awaitable<void> stop() { return service()->stop(); }
  awaitable<void> restart() { return service()->restart(); }
  awaitable<void> wait_until_stopped() { return service()->wait_until_stopped(); }
  void crash(std::exception_ptr reason) { service()->crash(std::move(reason)); }
  void set_shutdown() { service()->set_shutdown(); }
  void service_reset() { service()->service_reset(); }

  template <class S>
  std::shared_ptr<S> add_dependency(std::shared_ptr<S> s) {
    return service()->add_dependency(std::move(s));
  }
  template <class S>
  awaitable<std::shared_ptr<S>> add_runtime_dependency(std::shared_ptr<S> s) {
    return service()->add_runtime_dependency(std::move(s));
  }
  template <class C>
  C& add_context(C c) {
    return service()->add_context(std::move(c));
  }
  template <class C>
  awaitable<C*> add_async_context(C c) {
    return service()->add_async_context(std::move(c));
  }

  bool started() { return service()->started(); }
  bool crashed() { return service()->crashed(); }
  bool should_stop() { return service()->should_stop(); }
  std::string_view state() { return service()->state(); }
  std::exception_ptr crash_reason() { return service()->crash_reason(); }
  Node<Service*>& beacon() { return service()->beacon(); }

  /// The proxy's own class name (Mode: label and shortlabel are the proxy's class name).
  virtual std::string label() const { return shortname(typeid(*this)); }
  virtual std::string shortlabel() const { return shortname(typeid(*this)); }

  /// Logging with the proxy's prefix: `log.info("connected to {}", url)`.
  CompositeLogger log{*this};

 protected:
  /// For subclasses that override `make_service` instead of passing a factory.
  ServiceProxy() = default;
  /// Creates the underlying service; the default calls the constructor's factory.
  virtual ServicePtr make_service() {
    if (!factory_) throw std::logic_error("mode::ServiceProxy: no factory and no make_service");
    return factory_();
  }

 private:
  spdlog::logger& logger() const override {
    if (!logger_) logger_ = get_logger(logger_name_of(typeid(*this)));
    return *logger_;
  }
  void format_log_prefix(fmt::memory_buffer& out) const override {
    format_service_log_prefix(out, service_ ? service_->beacon().depth() : 1, shortlabel());
  }

  Factory factory_;
  ServicePtr service_;
  mutable std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace mode
