#include "app/credential_watcher.hpp"

#include <spdlog/spdlog.h>

namespace lwgate::app {

CredentialWatcher::CredentialWatcher(store::Store& store, credentials::CredentialService& service,
                                     CloseIdentities close, std::chrono::milliseconds interval)
    : store_(store), service_(service), close_(std::move(close)), interval_(interval) {}

CredentialWatcher::~CredentialWatcher() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void CredentialWatcher::start() {
    thread_ = std::thread([this] { run(); });
}

void CredentialWatcher::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
        lock.unlock();
        poll_once();
        lock.lock();
    }
}

bool CredentialWatcher::poll_once() {
    auto feed = store_.credential_changes(cursor_);
    if (!feed) {
        if (!failing_)
            spdlog::warn("credentials: reading the other instances' changes failed: {} (retried)",
                         feed.error().message());
        failing_ = true;
        return false;
    }
    if (failing_) spdlog::info("credentials: the other instances' changes are read again");
    failing_ = false;
    std::vector<std::string> retired;
    if (feed->reload) {
        auto all = store_.load_credentials();
        if (!all) return false;  // the cursor stays: the next poll tries again
        spdlog::warn(
            "credentials: changes were missed (the shared log was trimmed): all {} "
            "entries loaded again",
            all->size());
        retired = service_.replace_all(std::move(all).value());
    } else if (!feed->changes.empty()) {
        retired = service_.apply_shared(feed->changes);
        spdlog::debug("credentials: {} change(s) from the shared store", feed->changes.size());
    }
    cursor_ = std::move(feed->cursor);
    if (!retired.empty()) close_(std::move(retired));
    return true;
}

}  // namespace lwgate::app
