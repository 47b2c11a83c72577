// Credentials another instance changed in the store all instances share (store.uri redis://):
// read from the store's change feed every `interval` on a thread of its own (the store's calls
// block; never a shard's or the control thread), applied to this instance's table, and the
// connections of identities no longer valid closed on every shard. A feed that lost changes (an
// instance away for longer than the log's cap) loads every entry again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "credentials/credential_service.hpp"
#include "store/store.hpp"

namespace lwgate::app {

class CredentialWatcher {
  public:
    using CloseIdentities = std::function<void(std::vector<std::string>)>;

    CredentialWatcher(store::Store& store, credentials::CredentialService& service,
                      CloseIdentities close, std::chrono::milliseconds interval);
    ~CredentialWatcher();  // stops and joins the thread
    CredentialWatcher(const CredentialWatcher&) = delete;
    CredentialWatcher& operator=(const CredentialWatcher&) = delete;

    void start();
    // One read of the feed, on the caller's thread (the thread's loop; tests). False on failure.
    bool poll_once();

  private:
    void run();

    store::Store& store_;
    credentials::CredentialService& service_;
    CloseIdentities close_;
    std::chrono::milliseconds interval_;
    std::string cursor_;  // empty: from what load_credentials() saw
    bool failing_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};
using CredentialWatcherPtr = std::unique_ptr<CredentialWatcher>;

}  // namespace lwgate::app
