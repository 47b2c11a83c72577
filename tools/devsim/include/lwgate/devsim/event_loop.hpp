// The reactor a DeviceSimulator runs on: one thread, epoll(7) over the simulators' sockets, an
// eventfd for work posted from other threads, and one-shot timers. Nothing in it sleeps: the
// thread blocks in epoll_wait until a descriptor is ready, a task is posted or the earliest timer
// is due.
//
// By default every DeviceSimulator creates its own EventLoop (one thread per device). Many
// simulators may share one loop instead (DeviceOptions::loop), which is how a benchmark runs
// thousands of devices on a few threads.
//
// Thread rules: post() and in_loop_thread() may be called from any thread. watch(), modify(),
// unwatch(), call_at() and cancel() are for code running on the loop thread (the simulator's
// internals); they are public so other tools can put their own descriptors on a shared loop.
// Callbacks run on the loop thread; an exception escaping one is reported on stderr and
// swallowed, so one misbehaving callback cannot stop the others.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace lwgate::devsim {

class EventLoop {
  public:
    using Clock = std::chrono::steady_clock;
    using Task = std::function<void()>;
    // Receives the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
    using IoCallback = std::function<void(std::uint32_t events)>;
    using WatchId = std::uint64_t;
    using TimerId = std::uint64_t;

    // Starts the thread. Throws std::system_error if epoll or eventfd cannot be created.
    explicit EventLoop(std::string name = "devsim-loop");
    // Runs the tasks already posted, then stops and joins the thread. Must not be called on the
    // loop thread. Descriptors still watched are not closed (their owners close them).
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Runs `task` on the loop thread, after the tasks posted before it (FIFO).
    void post(Task task);
    bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_; }
    const std::string& name() const { return name_; }

    // --- loop thread only -------------------------------------------------------------------
    // Level-triggered interest in `fd`. `events` may be 0 (only errors/hang-ups are reported).
    WatchId watch(int fd, std::uint32_t events, IoCallback callback);
    void modify(WatchId id, std::uint32_t events);
    // Stops reporting events for the descriptor (safe from inside its own callback).
    void unwatch(WatchId id);
    // One-shot timer. Returns an id for cancel(); ids are never 0.
    TimerId call_at(Clock::time_point when, Task task);
    // Safe for ids that already fired or were cancelled.
    void cancel(TimerId id);

  private:
    struct Watch {
        int fd = -1;
        std::uint32_t events = 0;
        std::shared_ptr<IoCallback> callback;
    };

    void run();
    void run_posted();
    void run_timers();
    int epoll_timeout_ms() const;
    static void guarded(const char* what, const std::function<void()>& fn);

    std::string name_;
    int epoll_fd_ = -1;
    int event_fd_ = -1;
    std::thread thread_;
    std::thread::id thread_id_;

    std::mutex mutex_;  // guards posted_ and stop_
    std::vector<Task> posted_;
    bool stop_ = false;

    // Loop-thread state.
    std::unordered_map<WatchId, Watch> watches_;
    WatchId next_watch_ = 1;
    std::multimap<Clock::time_point, std::pair<TimerId, Task>> timers_;
    std::unordered_map<TimerId,
                       std::multimap<Clock::time_point, std::pair<TimerId, Task>>::iterator>
        timer_index_;
    TimerId next_timer_ = 1;
};

}  // namespace lwgate::devsim
