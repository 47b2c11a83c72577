// What a SIGHUP copies into the running configuration: every key the table does not mark
// `restart`, so a key added to the table cannot be reported "applied" and then be left out.
#include <type_traits>

#include "config/keys.hpp"

namespace lwgate::config {

void copy_reloadable(const Config& next, Config& running) {
    for (const auto& key : key_table()) {
        if (key.reload == Reload::restart || !key.access) continue;
        const ConstValueRef from = key.access.cref(next);
        std::visit(
            [&](auto* to) {
                using T = std::remove_pointer_t<decltype(to)>;
                *to = *std::get<const T*>(from);
            },
            key.access.ref(running));
    }
    running.credentials = next.credentials;  // a list: no place of its own in the table
}

}  // namespace lwgate::config
