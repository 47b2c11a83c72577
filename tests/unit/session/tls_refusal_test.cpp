// Why a handshake refused a device, as lwgate_refused_total and the security log name it.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "session/tls_refusal.hpp"

namespace lwgate::session {
namespace {

TEST(TlsRefusal, AnUnknownIdentityFirstThenTheCertificateElseAFailure) {
    EXPECT_EQ(classify({true, false}), TlsRefusal::unknown_psk_identity);
    // A client that offered an unknown identity and then failed the certificate fallback came
    // for the PSK.
    EXPECT_EQ(classify({true, true}), TlsRefusal::unknown_psk_identity);
    EXPECT_EQ(classify({false, true}), TlsRefusal::certificate_rejected);
    EXPECT_EQ(classify({false, false}), TlsRefusal::tls_failure);
}

TEST(TlsRefusal, EveryReasonHasALabelOfItsOwn) {
    std::set<std::string> labels;
    for (std::size_t r = 0; r < tls_refusal_count; ++r)
        labels.insert(std::string(to_string(static_cast<TlsRefusal>(r))));
    EXPECT_EQ(labels.size(), tls_refusal_count);
    EXPECT_EQ(labels.count("unknown"), 0u);
    EXPECT_EQ(to_string(TlsRefusal::unknown_psk_identity), "unknown_psk_identity");
    EXPECT_EQ(to_string(TlsRefusal::certificate_rejected), "certificate_rejected");
    EXPECT_EQ(to_string(TlsRefusal::tls_failure), "tls_failure");
}

}  // namespace
}  // namespace lwgate::session
