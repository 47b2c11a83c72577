#include "cluster/ownership.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>

namespace lwgate::cluster {
namespace {

using namespace std::chrono_literals;
const TimePoint t0 = TimePoint{} + 1000s;
const OwnershipParams params{5s, 10s};

// Instances, a shared store that applies the lease rules, and the messages between them, run
// by hand: every action an Ownership emits becomes a message delivered later, in order or not.
class Cluster {
  public:
    explicit Cluster(unsigned n) {
        for (unsigned i = 0; i < n; ++i) {
            ids.push_back({"i" + std::to_string(i), 100 + i});
            nodes.push_back(std::make_unique<Ownership>(ids.back(), params));
            alive.push_back(true);
        }
    }
    Ownership& at(unsigned i) { return *nodes[i]; }
    unsigned index_of(const InstanceId& id) const {
        for (unsigned i = 0; i < ids.size(); ++i)
            if (ids[i] == id) return i;
        return ~0u;
    }
    bool holder_alive(const OwnerRecord& r) const { return r.owner && alive[index_of(*r.owner)]; }
    // Turns what instance `i` asked for into messages.
    void collect(unsigned i) {
        for (auto& action : nodes[i]->take_actions())
            std::visit([&](auto& a) { queue(i, a); }, action);
    }
    void collect_all() {
        for (unsigned i = 0; i < nodes.size(); ++i)
            collect(i);
    }
    // Delivers the oldest message (or a random one); false when none is left.
    bool step(std::mt19937* rng = nullptr) {
        if (pending.empty()) return false;
        std::size_t k =
            rng ? std::uniform_int_distribution<std::size_t>(0, pending.size() - 1)(*rng) : 0;
        auto message = std::move(pending[k]);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
        message();
        collect_all();
        return true;
    }
    // Instance i's registration of `endpoint` ended: released in the store later, as the
    // bridge does once the record's erasure is committed.
    void end_registration(unsigned i, const std::string& endpoint) {
        const auto epoch = nodes[i]->on_registration_ended(endpoint);
        if (!epoch) return;
        deliver_to(i, [this, endpoint, epoch](Ownership& o) {
            if (!release(store[endpoint], o.me(), *epoch)) return o.on_write_refused(endpoint);
            o.on_handed_over(endpoint);
        });
    }
    void run() {
        collect_all();
        while (step()) {
        }
    }

    std::vector<InstanceId> ids;
    std::vector<std::unique_ptr<Ownership>> nodes;
    std::vector<bool> alive;
    std::map<std::string, OwnerRecord> store;
    std::deque<std::function<void()>> pending;
    std::vector<std::pair<unsigned, Adopt>> adopted;
    std::vector<std::pair<unsigned, std::string>> refused, dropped;
    TimePoint now = t0;

  private:
    void deliver_to(unsigned i, std::function<void(Ownership&)> fn) {
        pending.push_back([this, i, fn] {
            if (alive[i]) fn(*nodes[i]);
        });
    }
    void queue(unsigned i, const Claim& a) {
        deliver_to(i, [this, a](Ownership& o) {
            auto& r = store[a.endpoint];
            o.on_claim_result(a.endpoint, claim(r, o.me(), holder_alive(r)), now);
        });
    }
    void queue(unsigned i, const RequestHandover& a) {
        deliver_to(index_of(a.holder), [a, asker = ids[i]](Ownership& o) {
            o.on_handover_requested(a.endpoint, asker);
        });
    }
    void queue(unsigned i, const HandOver& a) {
        deliver_to(i, [this, a](Ownership& o) {
            auto& r = store[a.endpoint];
            if (!release(r, o.me(), a.epoch)) return o.on_write_refused(a.endpoint);
            o.on_handed_over(a.endpoint);
        });
    }
    void queue(unsigned, const NotifyReleased& a) {
        deliver_to(index_of(a.to),
                   [this, a](Ownership& o) { o.on_released_notice(a.endpoint, now); });
    }
    void queue(unsigned i, const Adopt& a) { adopted.push_back({i, a}); }
    void queue(unsigned i, const Refuse& a) { refused.push_back({i, a.endpoint}); }
    void queue(unsigned i, const Drop& a) { dropped.push_back({i, a.endpoint}); }
    void queue(unsigned i, const Revalidate& a) {
        deliver_to(i, [this, a](Ownership& o) {
            o.on_revalidated(a.endpoint, may_write(store[a.endpoint], o.me(), a.epoch));
        });
    }
};

TEST(OwnershipTest, TheFirstDeviceMakesItsEndpointOurs) {
    Cluster c(1);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    EXPECT_EQ(c.at(0).epoch_of("ep"), 1u);
    ASSERT_EQ(c.adopted.size(), 1u);
    c.at(0).on_device_bound("ep", c.now);  // a second connection of an owned endpoint
    c.run();
    EXPECT_EQ(c.adopted.size(), 1u);
}

TEST(OwnershipTest, MovesFromALiveHolderThroughAHandover) {
    Cluster c(2);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    c.at(1).on_device_bound("ep", c.now);
    c.run();
    EXPECT_FALSE(c.at(0).owns("ep"));
    EXPECT_EQ(c.at(1).epoch_of("ep"), 2u);
    EXPECT_EQ(c.store["ep"].owner, c.ids[1]);
    ASSERT_EQ(c.adopted.size(), 2u);
    EXPECT_EQ(c.adopted[1].first, 1u);
    EXPECT_EQ(c.at(0).moving() + c.at(1).moving(), 0u);
    EXPECT_TRUE(c.refused.empty());
}

TEST(OwnershipTest, ADeadHolderIsReplacedOnceItsLeaseRunsOut) {
    Cluster c(2);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    c.at(1).on_device_bound("ep", c.now);
    c.collect_all();
    ASSERT_TRUE(c.step());  // the claim: held by a live instance ...
    c.alive[0] = false;     // ... killed before it answers; its lease runs out meanwhile
    c.run();
    EXPECT_FALSE(c.at(1).owns("ep"));
    EXPECT_EQ(c.at(1).next_deadline(), c.now + 5s);
    c.now += 5s;
    c.at(1).on_tick(c.now);
    c.run();
    EXPECT_EQ(c.at(1).epoch_of("ep"), 2u) << "its lease has run out: granted";
}

TEST(OwnershipTest, UplinksWaitingTooLongAreRefusedNotLeftInSilence) {
    Cluster c(2);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    c.at(1).on_device_bound("ep", c.now);
    c.collect_all();
    ASSERT_TRUE(c.step());  // held; the holder is slow to answer
    c.pending.clear();
    for (int s = 1; s <= 10; ++s) {
        c.now = t0 + std::chrono::seconds(s);
        c.at(1).on_tick(c.now);
        c.collect_all();
        c.pending.clear();  // the holder stays silent; the claims keep finding it alive
    }
    ASSERT_EQ(c.refused.size(), 1u);
    EXPECT_TRUE(c.at(1).refusing("ep"));
    c.at(1).on_tick(c.now + 1s);
    c.collect_all();
    EXPECT_EQ(c.refused.size(), 1u) << "once per move";
}

TEST(OwnershipTest, AStaleOwnerIsFencedAndDrops) {
    Cluster c(2);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    c.alive[0] = false;
    c.at(1).on_device_bound("ep", c.now);
    c.run();
    EXPECT_EQ(c.at(1).epoch_of("ep"), 2u);
    c.alive[0] = true;  // back: it still believes it owns the endpoint
    EXPECT_EQ(c.at(0).epoch_of("ep"), 1u);
    c.at(0).on_lease_lapsed();
    c.run();
    EXPECT_FALSE(c.at(0).owns("ep"));
    ASSERT_EQ(c.dropped.size(), 1u);
    EXPECT_EQ(c.dropped[0].first, 0u);
    EXPECT_FALSE(may_write(c.store["ep"], c.ids[0], 1));
}

TEST(OwnershipTest, AHandoverAskedOfANonOwnerSaysReleased) {
    Ownership o({"a", 1}, params);
    o.on_handover_requested("ep", {"b", 2});
    const auto actions = o.take_actions();
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<NotifyReleased>(actions[0]));
}

TEST(OwnershipTest, ADeviceBackDuringItsHandoverMovesBack) {
    Ownership o({"a", 1}, params);
    o.on_device_bound("ep", t0);
    o.on_claim_result("ep", {ClaimOutcome::granted, 1, {}}, t0);
    o.on_handover_requested("ep", {"b", 2});
    o.on_device_bound("ep", t0 + 1s);
    (void)o.take_actions();
    o.on_handed_over("ep");
    const auto actions = o.take_actions();
    ASSERT_EQ(actions.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<NotifyReleased>(actions[0]));
    EXPECT_TRUE(std::holds_alternative<Claim>(actions[1]));
}

TEST(OwnershipTest, ADeviceBackDuringItsHandoverWaitsFromWhenItCameBack) {
    Ownership o({"a", 1}, params);
    o.on_device_bound("ep", t0);
    o.on_claim_result("ep", {ClaimOutcome::granted, 1, {}}, t0);
    o.on_handover_requested("ep", {"b", 2});
    o.on_device_bound("ep", t0 + 1s);
    o.on_handed_over("ep");
    EXPECT_EQ(o.next_deadline(), t0 + 1s + params.wait_limit);
    o.on_tick(t0 + 1s + params.wait_limit);
    EXPECT_TRUE(o.refusing("ep"));
}

TEST(OwnershipTest, AnEndedRegistrationIsReleasedAndTheNextInstanceClaimsItAtOnce) {
    Cluster c(2);
    c.at(0).on_device_bound("ep", c.now);
    c.run();
    c.end_registration(0, "ep");
    EXPECT_FALSE(c.at(0).owns("ep"));
    c.run();
    EXPECT_EQ(c.at(0).moving(), 0u);
    EXPECT_FALSE(c.store["ep"].owner.has_value());
    EXPECT_EQ(c.store["ep"].epoch, 1u);  // kept: the next owner's epoch is higher
    c.at(1).on_device_bound("ep", c.now);
    c.collect_all();
    ASSERT_TRUE(c.step());  // its claim: granted, nobody asked to hand over
    EXPECT_EQ(c.at(1).epoch_of("ep"), 2u);
    EXPECT_TRUE(c.pending.empty());
}

TEST(OwnershipTest, AnEndedRegistrationOfAnEndpointNotOwnedReleasesNothing) {
    Ownership o({"a", 1}, params);
    EXPECT_FALSE(o.on_registration_ended("ep").has_value());
    EXPECT_TRUE(o.take_actions().empty());
}

TEST(OwnershipTest, AHandoverAskedDuringAReleaseIsAnsweredOnceReleased) {
    Ownership o({"a", 1}, params);
    o.on_device_bound("ep", t0);
    o.on_claim_result("ep", {ClaimOutcome::granted, 3, {}}, t0);
    (void)o.take_actions();
    EXPECT_EQ(o.on_registration_ended("ep"), 3u);
    o.on_handover_requested("ep", {"b", 2});
    EXPECT_TRUE(o.take_actions().empty());  // not yet: the release is not done
    o.on_handed_over("ep");
    const auto actions = o.take_actions();
    ASSERT_EQ(actions.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<NotifyReleased>(actions[0]));
    EXPECT_EQ(std::get<NotifyReleased>(actions[0]).to.name, "b");
    EXPECT_EQ(o.moving(), 0u);
}

TEST(OwnershipTest, ADeviceBackDuringTheReleaseClaimsItAgainAfterwards) {
    Ownership o({"a", 1}, params);
    o.on_device_bound("ep", t0);
    o.on_claim_result("ep", {ClaimOutcome::granted, 1, {}}, t0);
    ASSERT_TRUE(o.on_registration_ended("ep").has_value());
    o.on_device_bound("ep", t0 + 1s);  // registers again at once
    (void)o.take_actions();
    o.on_handed_over("ep");
    const auto actions = o.take_actions();
    ASSERT_EQ(actions.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<Claim>(actions[0]));
}

TEST(OwnershipTest, NeverTwoOwnersWhatEverOrderMessagesArriveIn) {
    for (unsigned seed = 0; seed < 300; ++seed) {
        std::mt19937 rng(seed);
        Cluster c(3);
        for (int round = 0; round < 40; ++round) {
            const unsigned i = rng() % 3;
            const std::string ep = "ep" + std::to_string(rng() % 2);
            switch (rng() % 5) {
                case 0:
                    c.at(i).on_device_bound(ep, c.now);
                    break;
                case 1:
                    c.at(i).on_device_gone(ep);
                    break;
                case 2:
                    c.now += 1s;
                    c.at(i).on_tick(c.now);
                    break;
                case 3:
                    c.end_registration(i, ep);
                    break;
                default:
                    break;
            }
            c.collect_all();
            for (int k = rng() % 4; k > 0 && c.step(&rng); --k) {
            }
            for (const auto& [endpoint, record] : c.store) {
                unsigned owners = 0;
                for (unsigned j = 0; j < 3; ++j) {
                    if (auto epoch = c.at(j).epoch_of(endpoint)) {
                        ++owners;
                        EXPECT_TRUE(may_write(record, c.ids[j], *epoch))
                            << "seed " << seed << ": an owner the store does not know";
                    }
                }
                ASSERT_LE(owners, 1u) << "seed " << seed << " endpoint " << endpoint;
            }
        }
    }
}

}  // namespace
}  // namespace lwgate::cluster
