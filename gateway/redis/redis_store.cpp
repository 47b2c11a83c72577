#include "redis/redis_store.hpp"

#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "cluster/lease_scripts.hpp"
#include "redis/record_codec.hpp"

namespace lwgate::redis {

// One batch on the wire: done once every command of it has its reply.
struct RedisStore::InFlight {
    Batch records;
    std::vector<std::pair<std::string, std::uint64_t>> refused;  // fenced writes Redis refused
    std::uint64_t seq = 0;
    bool complete = false;  // nothing was left pending when the batch was taken
    std::size_t replies_left = 0;
    bool ok = true;
    bool finished = false;  // the reply timeout may end it before the last reply
    std::string first_error;
};

namespace {}  // namespace

// Unfenced: MULTI, DEL, HSET, EXEC (replaced whole and atomically). Fenced: one script that
// checks the owner record first (both keys carry the endpoint's hash tag: one slot).
std::vector<std::vector<std::string>> RedisStore::commands_for(const std::string& endpoint,
                                                               const Write& write) const {
    auto key = device_key(endpoint);
    std::vector<Field> fields;
    if (write.record) fields = encode_record(*write.record);
    if (write.epoch != 0 && !fence_instance_.empty()) {
        std::vector<std::string> eval{std::string(cluster::fenced_replace_script),
                                      "2",
                                      cluster::owner_key(endpoint),
                                      std::move(key),
                                      fence_instance_,
                                      fence_incarnation_,
                                      std::to_string(write.epoch)};
        eval.insert(eval.begin(), "EVAL");
        for (auto& [field, value] : fields) {
            eval.push_back(std::move(field));
            eval.push_back(std::move(value));
        }
        return {std::move(eval)};
    }
    if (!write.record) return {{"DEL", std::move(key)}};
    std::vector<std::string> hset{"HSET", key};
    for (auto& [field, value] : fields) {
        hset.push_back(std::move(field));
        hset.push_back(std::move(value));
    }
    return {{"MULTI"}, {"DEL", key}, std::move(hset), {"EXEC"}};
}

RedisStore::RedisStore(RedisAddress address, RedisStoreOptions options)
    : address_(std::move(address)),
      options_(options),
      work_(io_.get_executor()),
      conn_(std::make_unique<RedisConnection>(io_, address_, options.connection)),
      retry_timer_(io_),
      reply_timer_(io_) {
    conn_->set_on_connected([this] {
        {
            std::lock_guard lock(mutex_);
            connected_once_ = true;
        }
        done_.notify_all();
        write_next();  // what an outage held back goes out now, not at the next retry
    });
    asio::post(io_, [this] { conn_->start(); });
    thread_ = std::thread([this] { io_.run(); });
}

Result<std::unique_ptr<RedisStore>, Error> RedisStore::open(const RedisAddress& address,
                                                            RedisStoreOptions options) {
    std::unique_ptr<RedisStore> s(new RedisStore(address, options));
    if (!s->wait_connected()) {
        return fail(Error{store::StoreErrc::cannot_open,
                          "no connection to Redis at " + address.describe() + " within " +
                              std::to_string(options.open_timeout.count()) + " ms"});
    }
    return s;
}

bool RedisStore::wait_connected() {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, options_.open_timeout, [&] { return connected_once_; });
}

RedisStore::~RedisStore() {
    {
        std::unique_lock lock(mutex_);
        stop_ = true;
        lock.unlock();
        wake();
        lock.lock();
        done_.wait_for(lock, options_.shutdown_timeout,
                       [&] { return pending_.empty() && !writing_; });
        if (!pending_.empty() || writing_) {
            spdlog::error("store: redis {}: {} record(s) not written at shutdown",
                          address_.describe(), pending_.size());
        }
    }
    asio::post(io_, [this] {
        retry_timer_.cancel();
        reply_timer_.cancel();
        conn_.reset();
        work_.reset();
    });
    thread_.join();
}

std::uint64_t RedisStore::queue(const std::string& endpoint, Write write) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        (write.record ? stats_.puts : stats_.erases) += 1;
        seq = ++queued_seq_;
        auto [it, inserted] = pending_.try_emplace(endpoint);
        if (!inserted) ++stats_.coalesced;
        it->second = std::move(write);
    }
    wake();
    return seq;
}

std::uint64_t RedisStore::put(store::DeviceRecord record) {
    auto endpoint = record.endpoint;
    const auto epoch = record.owner_epoch;
    return queue(endpoint, Write{std::move(record), epoch});
}

std::uint64_t RedisStore::erase(const std::string& endpoint, std::uint64_t owner_epoch) {
    return queue(endpoint, Write{std::nullopt, owner_epoch});
}

void RedisStore::set_fence(std::string instance, std::uint64_t incarnation, FenceListener refused) {
    fence_instance_ = std::move(instance);
    fence_incarnation_ = std::to_string(incarnation);
    fence_listener_ = std::move(refused);
}

void RedisStore::wake() {
    {
        std::lock_guard lock(mutex_);
        if (wake_posted_) return;
        wake_posted_ = true;
    }
    asio::post(io_, [this] { write_next(); });
}

void RedisStore::flush() {
    std::unique_lock lock(mutex_);
    const auto target = queued_seq_;
    done_.wait(lock, [&] { return done_seq_ >= target || (stop_ && !writing_); });
}

store::StoreStats RedisStore::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void RedisStore::write_next() {
    if (!conn_) return;
    auto batch = std::make_shared<InFlight>();
    {
        std::lock_guard lock(mutex_);
        wake_posted_ = false;
        if (writing_ || pending_.empty()) return;
        writing_ = true;
        // Bounded, so that a backlog after an outage never overflows the connection's queue.
        while (!pending_.empty() && batch->records.size() < options_.max_batch_records)
            batch->records.insert(pending_.extract(pending_.begin()));
        batch->complete = pending_.empty();
        batch->seq = queued_seq_;
    }
    if (!conn_->connected()) {
        batch->ok = false;
        batch->first_error = "not connected";
        return finish(batch);
    }
    send_batch(batch);
}

void RedisStore::send_batch(const std::shared_ptr<InFlight>& batch) {
    std::vector<std::vector<std::string>> all;
    std::vector<const std::string*> fenced;  // per command: its endpoint when fenced
    for (const auto& [endpoint, write] : batch->records) {
        for (auto& c : commands_for(endpoint, write)) {
            fenced.push_back(c.front() == "EVAL" ? &endpoint : nullptr);
            all.push_back(std::move(c));
        }
    }
    batch->replies_left = all.size();
    reply_timer_.expires_after(options_.reply_timeout);
    reply_timer_.async_wait([this, batch](const std::error_code& ec) {
        if (ec || batch->finished) return;
        batch->ok = false;
        batch->first_error = "no reply within the reply timeout";
        finish(batch);
        if (conn_) conn_->reconnect();
    });
    for (std::size_t i = 0; i < all.size(); ++i) {
        const std::string* endpoint = fenced[i];
        conn_->command(std::move(all[i]), [this, batch, endpoint](std::error_code ec,
                                                                  RedisReply reply) {
            if (batch->finished) return;
            if (!ec && endpoint && reply.str == "refused") {
                // Another instance owns the endpoint now: this write is dropped, not retried.
                batch->refused.emplace_back(*endpoint, batch->records.at(*endpoint).epoch);
            }
            if ((ec || reply.is_error() || reply.type == RedisReply::Type::nil) && batch->ok) {
                batch->ok = false;
                batch->first_error = ec ? ec.message() : reply.is_error() ? reply.str : "EXEC nil";
            }
            if (--batch->replies_left == 0) finish(batch);
        });
    }
}

void RedisStore::finish(const std::shared_ptr<InFlight>& batch) {
    batch->finished = true;
    reply_timer_.cancel();
    const bool ok = batch->ok;
    {
        std::lock_guard lock(mutex_);
        writing_ = false;
        if (ok) {
            ++stats_.batches;
            stats_.rows_written += batch->records.size();
            spdlog::debug("store: committed batch {} ({} record(s))", stats_.batches,
                          batch->records.size());
        } else {
            ++stats_.errors;
            // Back under anything newer that arrived meanwhile; whole records, so resending is
            // harmless even if Redis executed part of the batch.
            for (auto& [endpoint, write] : batch->records)
                pending_.try_emplace(endpoint, std::move(write));
        }
    }
    if (!ok) {
        mark_done(batch);
        // Once per outage at warn: a retry every retry_delay would flood the log.
        spdlog::log(failing_ ? spdlog::level::debug : spdlog::level::warn,
                    "store: redis {}: write of {} record(s) failed ({}); retrying",
                    address_.describe(), batch->records.size(), batch->first_error);
        failing_ = true;
        return retry_later();
    }
    if (std::exchange(failing_, false)) {
        spdlog::info("store: redis {}: writing again", address_.describe());
    }
    for (const auto& [endpoint, epoch] : batch->refused) {
        spdlog::warn("endpoint={} store: write refused: another instance owns it now (epoch {})",
                     endpoint, epoch);
        if (fence_listener_) fence_listener_(endpoint, epoch);
    }
    // Every write up to seq is in Redis; reported before flush() returns, so that whoever
    // flushed has heard of the commit too.
    if (listener_ && batch->complete) listener_(batch->seq);
    mark_done(batch);
    write_next();
}

void RedisStore::mark_done(const std::shared_ptr<InFlight>& batch) {
    {
        std::lock_guard lock(mutex_);
        // A part of the backlog committed says nothing of the rest: only a batch that took
        // everything pending may report its sequence number (a failed one: it was attempted).
        if (!batch->ok || batch->complete) done_seq_ = batch->seq;
    }
    done_.notify_all();
}

void RedisStore::retry_later() {
    if (!conn_) return;
    retry_timer_.expires_after(options_.retry_delay);
    retry_timer_.async_wait([this](const std::error_code& ec) {
        if (!ec) write_next();
    });
}

}  // namespace lwgate::redis
