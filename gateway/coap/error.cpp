#include "lwgate/coap/error.hpp"

#include <string>

namespace lwgate::coap {

namespace {

class CodecCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "lwgate.coap"; }

    std::string message(int value) const override {
        switch (static_cast<CodecError>(value)) {
            case CodecError::invalid_token_length:
                return "invalid token length (TKL 9-15 is reserved)";
            case CodecError::frame_too_large:
                return "frame too large to receive or skip";
            case CodecError::message_too_large:
                return "message larger than the advertised Max-Message-Size";
            case CodecError::invalid_option:
                return "malformed option (reserved nibble 15 or option past end of frame)";
            case CodecError::option_number_overflow:
                return "option number exceeds 65535";
            case CodecError::empty_payload:
                return "payload marker followed by an empty payload";
            case CodecError::unknown_critical_signal_option:
                return "unknown signal or unknown critical signaling option";
            case CodecError::bad_signal_option_value:
                return "invalid value of a signaling option";
        }
        return "unknown lwgate.coap error " + std::to_string(value);
    }
};

}  // namespace

const std::error_category& codec_category() noexcept {
    // A function-local static gives every TU the same category address, which error_code
    // comparison relies on.
    static const CodecCategory category;
    return category;
}

std::error_code make_error_code(CodecError e) noexcept {
    return {static_cast<int>(e), codec_category()};
}

}  // namespace lwgate::coap
