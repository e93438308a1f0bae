// The bodies of utils/locals.hpp's templates.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mode {

template <class T>
typename LocalStack<T>::Guard& LocalStack<T>::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    reset();
    stack_ = std::exchange(other.stack_, nullptr);
    chain_ = other.chain_;
  }
  return *this;
}

template <class T>
awaitable<typename LocalStack<T>::Guard> LocalStack<T>::push(T value) {
  const ChainId chain = co_await this_chain();
  co_return push(chain, std::move(value));
}

template <class T>
awaitable<void> LocalStack<T>::push_without_automatic_cleanup(T value) {
  const ChainId chain = co_await this_chain();
  push_without_automatic_cleanup(chain, std::move(value));
}

template <class T>
awaitable<T> LocalStack<T>::pop() {
  const ChainId chain = co_await this_chain();
  co_return pop(chain);
}

template <class T>
awaitable<std::optional<T>> LocalStack<T>::top() {
  const ChainId chain = co_await this_chain();
  co_return top(chain);
}

template <class T>
awaitable<std::vector<T>> LocalStack<T>::stack() {
  const ChainId chain = co_await this_chain();
  co_return stack(chain);
}

template <class T>
awaitable<std::size_t> LocalStack<T>::size() {
  const ChainId chain = co_await this_chain();
  co_return size(chain);
}

template <class T>
typename LocalStack<T>::Guard LocalStack<T>::push(ChainId chain, T value) {
  push_without_automatic_cleanup(chain, std::move(value));
  return Guard(this, chain);
}

template <class T>
void LocalStack<T>::push_without_automatic_cleanup(ChainId chain, T value) {
  if (!chain) throw std::invalid_argument("LocalStack: no coroutine chain");
  const std::lock_guard lock(mutex_);
  stacks_[chain].push_back(std::move(value));
}

template <class T>
T LocalStack<T>::pop(ChainId chain) {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  if (it == stacks_.end()) throw LocalStackEmpty();
  T value = std::move(it->second.back());
  it->second.pop_back();
  if (it->second.empty()) stacks_.erase(it);
  return value;
}

template <class T>
std::optional<T> LocalStack<T>::top(ChainId chain) const {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  if (it == stacks_.end()) return std::nullopt;
  return it->second.back();
}

template <class T>
std::vector<T> LocalStack<T>::stack(ChainId chain) const {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  return it == stacks_.end() ? std::vector<T>{} : it->second;
}

template <class T>
std::size_t LocalStack<T>::size(ChainId chain) const {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  return it == stacks_.end() ? 0 : it->second.size();
}

template <class T>
bool LocalStack<T>::remove(ChainId chain, const T& value) noexcept {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  if (it == stacks_.end()) return false;
  std::vector<T>& items = it->second;
  for (auto i = items.size(); i-- > 0;) {
    if (items[i] == value) {
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
      if (items.empty()) stacks_.erase(it);
      return true;
    }
  }
  return false;
}

template <class T>
std::size_t LocalStack<T>::chains() const {
  const std::lock_guard lock(mutex_);
  return stacks_.size();
}

template <class T>
void LocalStack<T>::pop_quietly(ChainId chain) noexcept {
  const std::lock_guard lock(mutex_);
  const auto it = stacks_.find(chain);
  if (it == stacks_.end()) return;
  it->second.pop_back();
  if (it->second.empty()) stacks_.erase(it);
}

}  // namespace mode
