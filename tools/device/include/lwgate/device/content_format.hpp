// CoAP Content-Format numbers LwM2M uses (OMA LwM2M 1.1 §5.4, RFC 7252 §12.3). The one table of
// the tools: the project's codec carries option numbers, not content formats.
#pragma once

#include <cstdint>

namespace lwgate::device::content_format {
inline constexpr std::uint16_t text_plain = 0;
inline constexpr std::uint16_t link_format = 40;
inline constexpr std::uint16_t octet_stream = 42;
inline constexpr std::uint16_t cbor = 60;
inline constexpr std::uint16_t senml_json = 110;
inline constexpr std::uint16_t senml_cbor = 112;
inline constexpr std::uint16_t lwm2m_tlv = 11542;
inline constexpr std::uint16_t lwm2m_json = 11543;
inline constexpr std::uint16_t lwm2m_cbor = 11544;
}  // namespace lwgate::device::content_format
