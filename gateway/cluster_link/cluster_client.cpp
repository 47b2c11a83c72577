#include "cluster_link/cluster_client.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "cluster/lease_scripts.hpp"
#include "redis/record_codec.hpp"

namespace lwgate::cluster_link {

using redis::RedisReply;

ClusterClient::ClusterClient(asio::io_context& io, redis::RedisAddress address,
                             cluster::InstanceId me, std::chrono::milliseconds lease)
    : conn_(io, std::move(address)),
      me_(std::move(me)),
      incarnation_(std::to_string(me_.incarnation)),
      lease_(lease) {}

void ClusterClient::start() {
    conn_.start();
}

void ClusterClient::run(std::vector<std::string> argv, Reply done) {
    ++stats_.commands;
    const auto sent = std::chrono::steady_clock::now();
    conn_.command(std::move(argv), [this, sent, done = std::move(done)](std::error_code ec,
                                                                        RedisReply reply) {
        if (closing_) return;
        if (ec || reply.is_error()) {
            ++stats_.errors;
            spdlog::debug("cluster: redis {}: {}", conn_.address().describe(),
                          ec ? ec.message() : reply.str);
            return done(std::nullopt);
        }
        stats_.latency_us_total +=
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - sent)
                                           .count());
        done(std::move(reply));
    });
}

void ClusterClient::claim(const std::string& endpoint, ClaimDone done) {
    claim_naming_dead(endpoint, "", std::move(done));
}

void ClusterClient::claim_naming_dead(const std::string& endpoint, const std::string& dead,
                                      ClaimDone done) {
    run({"EVAL", std::string(cluster::claim_script), "1", cluster::owner_key(endpoint), me_.name,
         incarnation_, dead},
        [this, endpoint, dead, done = std::move(done)](std::optional<RedisReply> reply) mutable {
            auto result = reply ? cluster::decode_claim_reply(reply->str) : std::nullopt;
            if (!result) return done(std::nullopt);
            if (result->outcome == cluster::ClaimOutcome::granted || !result->holder ||
                !dead.empty()) {
                return done(result);
            }
            // Held: is the holder's instance lease still there, with that incarnation?
            const auto holder = *result->holder;
            run({"GET", cluster::instance_key(holder.name)},
                [this, endpoint, holder, result = *result,
                 done = std::move(done)](std::optional<RedisReply> lease) mutable {
                    if (!lease) return done(std::nullopt);
                    const bool alive = lease->type == RedisReply::Type::string &&
                                       lease->str == std::to_string(holder.incarnation);
                    if (alive) return done(result);
                    claim_naming_dead(endpoint,
                                      holder.name + " " + std::to_string(holder.incarnation),
                                      std::move(done));
                });
        });
}

void ClusterClient::release(const std::string& endpoint, std::uint64_t epoch,
                            std::function<void(bool)> done) {
    run({"EVAL", std::string(cluster::release_script), "1", cluster::owner_key(endpoint), me_.name,
         incarnation_, std::to_string(epoch)},
        [done = std::move(done)](std::optional<RedisReply> reply) {
            done(reply && reply->str == "released");
        });
}

void ClusterClient::revalidate(const std::string& endpoint, std::uint64_t epoch,
                               RevalidateDone done) {
    using Answer = std::optional<std::optional<std::uint64_t>>;
    run({"HMGET", cluster::owner_key(endpoint), "instance", "incarnation", "epoch"},
        [this, endpoint, epoch, done = std::move(done)](std::optional<RedisReply> reply) mutable {
            if (!reply || reply->elements.size() != 3) return done(std::nullopt);
            const auto& e = reply->elements;
            if (e[2].type == RedisReply::Type::nil) {
                // No record at all: Redis lost it. Nobody else can have taken the endpoint
                // since, so it is claimed again (a new epoch, from 1).
                return claim(endpoint, [done = std::move(done)](auto result) {
                    if (!result) return done(std::nullopt);
                    const bool ours = result->outcome == cluster::ClaimOutcome::granted;
                    done(Answer(ours ? std::optional(result->epoch) : std::nullopt));
                });
            }
            const bool ours = e[0].str == me_.name && e[1].str == incarnation_ &&
                              e[2].str == std::to_string(epoch);
            done(Answer(ours ? std::optional(epoch) : std::nullopt));
        });
}

void ClusterClient::load(const std::string& endpoint, LoadDone done) {
    run({"HGETALL", redis::device_key(endpoint)},
        [endpoint, done = std::move(done)](std::optional<RedisReply> reply) {
            if (!reply || reply->type != RedisReply::Type::array) return done(std::nullopt);
            std::vector<redis::Field> fields;
            for (std::size_t i = 0; i + 1 < reply->elements.size(); i += 2)
                fields.emplace_back(reply->elements[i].str, reply->elements[i + 1].str);
            if (fields.empty()) return done(std::optional<store::DeviceRecord>());
            auto decoded = redis::decode_record(fields);
            if (!decoded || decoded->endpoint != endpoint) {
                spdlog::warn("endpoint={} cluster: stored record unusable: {}", endpoint,
                             decoded ? "another endpoint's" : decoded.error());
                return done(std::optional<store::DeviceRecord>());
            }
            done(std::optional<store::DeviceRecord>(std::move(decoded).value()));
        });
}

void ClusterClient::send(const std::string& to, cluster::NoticeKind kind,
                         const std::string& endpoint) {
    const auto inbox = cluster::inbox_key(to);
    run({"RPUSH", inbox, cluster::encode_notice({kind, me_, endpoint})},
        [](std::optional<RedisReply>) {});
    // An inbox nobody reads any more (its instance is gone) goes away with the lease.
    run({"PEXPIRE", inbox, std::to_string(lease_.count() * 3)}, [](std::optional<RedisReply>) {});
}

void ClusterClient::set_location(const std::string& location, const LocationHint& hint) {
    run({"SET", cluster::location_key(location),
         std::string(hint.authenticated ? "1 " : "0 ") + hint.endpoint},
        [](std::optional<RedisReply>) {});
}

void ClusterClient::erase_location(const std::string& location) {
    run({"DEL", cluster::location_key(location)}, [](std::optional<RedisReply>) {});
}

void ClusterClient::lookup_location(const std::string& location,
                                    std::function<void(std::optional<LocationHint>)> done) {
    run({"GET", cluster::location_key(location)},
        [done = std::move(done)](std::optional<RedisReply> reply) {
            if (!reply || reply->type != RedisReply::Type::string || reply->str.size() < 3 ||
                reply->str[1] != ' ') {
                return done(std::nullopt);
            }
            done(LocationHint{reply->str.substr(2), reply->str[0] == '1'});
        });
}

}  // namespace lwgate::cluster_link
