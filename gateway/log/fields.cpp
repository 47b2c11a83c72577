#include "log/fields.hpp"

namespace lwgate::logging {

namespace {

thread_local std::span<const Field> fields_now;
thread_local int shard_now = -1;

}  // namespace

std::span<const Field> current_fields() {
    return fields_now;
}

FieldScope::FieldScope(std::span<const Field> fields) : previous_(fields_now) {
    fields_now = fields;
}

FieldScope::~FieldScope() {
    fields_now = previous_;
}

void set_thread_shard(int shard) {
    shard_now = shard;
}

int thread_shard() {
    return shard_now;
}

}  // namespace lwgate::logging
