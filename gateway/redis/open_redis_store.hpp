// store.uri → a store, for the schemes the process knows: redis:// and redis+unix:// here,
// everything else (memory:, sqlite://) through store::open_store.
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace lwgate::redis {

// Errors as store::open_store's: a code, and the problem in words without the key.
Result<std::unique_ptr<store::Store>, Error> open_any_store(const std::string& uri);

}  // namespace lwgate::redis
