#include "log/operator_log.hpp"

#include "log/fields.hpp"

namespace lwgate::logging {

void log_operator_action(std::string_view client, std::string_view action, std::string_view target,
                         std::string_view detail, spdlog::level::level_enum level) {
    log(level, {{"action", action}, {"target", target}, {"detail", detail}, {"client", client}},
        "operator action: {}", action);
}

}  // namespace lwgate::logging
