// Typed errors of joining the cluster, for std::error_code; the words are in Error::detail.
#pragma once

#include <string>
#include <system_error>

namespace lwgate::cluster_link {

enum class ClusterErrc {
    name_in_use = 1,  // another running instance renews the lease of this cluster.instance
};

class ClusterCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.cluster"; }
    std::string message(int value) const override {
        switch (static_cast<ClusterErrc>(value)) {
            case ClusterErrc::name_in_use:
                return "cluster.instance is in use by a running instance";
        }
        return "unknown lwgate.cluster error " + std::to_string(value);
    }
};

inline const std::error_category& cluster_category() noexcept {
    static const ClusterCategory category;  // one address in every TU: error_code compares it
    return category;
}

inline std::error_code make_error_code(ClusterErrc e) noexcept {
    return {static_cast<int>(e), cluster_category()};
}

}  // namespace lwgate::cluster_link

template <>
struct std::is_error_code_enum<lwgate::cluster_link::ClusterErrc> : std::true_type {};
