#include "cluster/lease_rules.hpp"

namespace lwgate::cluster {

ClaimResult claim(OwnerRecord& record, const InstanceId& me, bool holder_alive) {
    if (record.owner && *record.owner == me) return {ClaimOutcome::granted, record.epoch, {}};
    if (record.owner && holder_alive) return {ClaimOutcome::held, record.epoch, record.owner};
    record.owner = me;
    ++record.epoch;
    return {ClaimOutcome::granted, record.epoch, {}};
}

bool release(OwnerRecord& record, const InstanceId& me, std::uint64_t epoch) {
    if (!may_write(record, me, epoch)) return false;
    record.owner.reset();
    return true;
}

bool may_write(const OwnerRecord& record, const InstanceId& me, std::uint64_t epoch) {
    return record.owner && *record.owner == me && record.epoch == epoch;
}

}  // namespace lwgate::cluster
