#include "log/setup.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "log/journal.hpp"

namespace lwgate::logging {

bool install_stderr_logger(Format format, spdlog::level::level_enum level) {
    const bool journal = stderr_is_journal();
    auto logger = spdlog::stderr_color_mt("lwgate");
    logger->set_formatter(std::make_unique<LineFormatter>(LineOptions{format, journal}));
    spdlog::set_default_logger(logger);
    spdlog::set_level(level);
    spdlog::flush_on(spdlog::level::info);
    return journal;
}

}  // namespace lwgate::logging
