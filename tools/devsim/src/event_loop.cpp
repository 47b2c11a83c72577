#include "lwgate/devsim/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <exception>
#include <future>
#include <system_error>

namespace lwgate::devsim {

namespace {
constexpr std::uint64_t kEventFdTag = 0;
}

EventLoop::EventLoop(std::string name) : name_(std::move(name)) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
        const int err = errno;
        ::close(epoll_fd_);
        throw std::system_error(err, std::generic_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kEventFdTag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
        const int err = errno;
        ::close(event_fd_);
        ::close(epoll_fd_);
        throw std::system_error(err, std::generic_category(), "epoll_ctl(eventfd)");
    }
    // The thread starts running only once thread_id_ is known, so in_loop_thread() is exact.
    std::promise<void> go;
    auto started = go.get_future();
    thread_ = std::thread([this, f = std::move(started)]() mutable {
        f.wait();
        run();
    });
    thread_id_ = thread_.get_id();
    go.set_value();
}

EventLoop::~EventLoop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    ::close(event_fd_);
    ::close(epoll_fd_);
}

void EventLoop::post(Task task) {
    {
        std::lock_guard lock(mutex_);
        posted_.push_back(std::move(task));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_fd_, &one, sizeof one);
}

EventLoop::WatchId EventLoop::watch(int fd, std::uint32_t events, IoCallback callback) {
    const WatchId id = next_watch_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
    }
    watches_[id] = Watch{fd, events, std::make_shared<IoCallback>(std::move(callback))};
    return id;
}

void EventLoop::modify(WatchId id, std::uint32_t events) {
    auto it = watches_.find(id);
    if (it == watches_.end() || it->second.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second.fd, &ev) == 0) {
        it->second.events = events;
    }
}

void EventLoop::unwatch(WatchId id) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    watches_.erase(it);
}

EventLoop::TimerId EventLoop::call_at(Clock::time_point when, Task task) {
    const TimerId id = next_timer_++;
    auto it = timers_.emplace(when, std::make_pair(id, std::move(task)));
    timer_index_[id] = it;
    return id;
}

void EventLoop::cancel(TimerId id) {
    auto it = timer_index_.find(id);
    if (it == timer_index_.end()) return;
    timers_.erase(it->second);
    timer_index_.erase(it);
}

void EventLoop::guarded(const char* what, const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "devsim event loop: exception in %s: %s\n", what, e.what());
    } catch (...) {
        std::fprintf(stderr, "devsim event loop: unknown exception in %s\n", what);
    }
}

int EventLoop::epoll_timeout_ms() const {
    if (timers_.empty()) return -1;
    const auto now = Clock::now();
    const auto due = timers_.begin()->first;
    if (due <= now) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

void EventLoop::run_posted() {
    std::uint64_t counter = 0;
    [[maybe_unused]] auto n = ::read(event_fd_, &counter, sizeof counter);
    std::vector<Task> tasks;
    {
        std::lock_guard lock(mutex_);
        tasks.swap(posted_);
    }
    for (auto& task : tasks)
        guarded("posted task", task);
}

void EventLoop::run_timers() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
        auto it = timers_.begin();
        Task task = std::move(it->second.second);
        timer_index_.erase(it->second.first);
        timers_.erase(it);
        guarded("timer", task);
    }
}

void EventLoop::run() {
    constexpr int kMaxEvents = 64;
    epoll_event events[kMaxEvents];
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stop_ && posted_.empty()) break;
        }
        const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, epoll_timeout_ms());
        if (n < 0 && errno != EINTR) {
            std::fprintf(stderr, "devsim event loop: epoll_wait: %s\n",
                         std::generic_category().message(errno).c_str());
            break;
        }
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = events[i].data.u64;
            if (tag == kEventFdTag) {
                run_posted();
                continue;
            }
            auto it = watches_.find(tag);
            if (it == watches_.end()) continue;   // unwatched by an earlier callback
            auto callback = it->second.callback;  // keeps it alive if it unwatches itself
            const std::uint32_t mask = events[i].events;
            guarded("I/O callback", [&] { (*callback)(mask); });
        }
        run_timers();
    }
}

}  // namespace lwgate::devsim
