// libFuzzer target for the PROXY protocol header parser.
//
// The input is a connection's first bytes. Every prefix must be judged consistently with the
// whole: a prefix of a parsed header is need_more, and an error on a prefix stays an error. A
// parsed header never claims more than the input or the length caps.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "session/proxy_header.hpp"

namespace {

using lwgate::session::ProxyParse;

void require(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const ProxyParse whole = lwgate::session::parse_proxy_header(input);
    if (whole.status == ProxyParse::Status::parsed) {
        require(whole.consumed > 0 && whole.consumed <= size);
        require(whole.consumed <= lwgate::session::max_v2_header);
        (void)to_string(whole.header.source);
        (void)to_string(whole.header.destination);
    }
    if (whole.status == ProxyParse::Status::error) require(bool(whole.error));
    for (std::size_t split = 0; split < size && split < 600; ++split) {
        const ProxyParse part = lwgate::session::parse_proxy_header(input.first(split));
        if (part.status == ProxyParse::Status::parsed) {
            require(whole.status == ProxyParse::Status::parsed && part.consumed == whole.consumed);
        } else if (part.status == ProxyParse::Status::error) {
            require(whole.status == ProxyParse::Status::error);
        } else if (whole.status == ProxyParse::Status::parsed) {
            require(split < whole.consumed);
        }
    }
    return 0;
}
