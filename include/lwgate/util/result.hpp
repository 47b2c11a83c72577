// Result<T, E>: a value or an error, for functions whose failure the caller must handle (GCC 12
// in C++20 mode has no std::expected). Shaped like std::expected so that switching to it later is
// a rename: construct from a value, or from an error through fail(e) / Unexpected<E> (so T and E
// may be the same type without ambiguity).
//
// Nothing here throws. Reading the side that is not there (value() of an error, error() of a
// value) is a programming error: it prints what happened and aborts, in every build type (an
// assert would turn into undefined behaviour under NDEBUG, and the check is one comparison).
//
// Error is the error type the project uses: a typed code to branch on, and words for the log.
#pragma once

#include <concepts>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace lwgate {

// What went wrong: `code` to branch on (a project enum registered with std::error_code), `detail`
// in words for the log or the CLI (names the file, the key, the cause).
struct Error {
    std::error_code code;
    std::string detail;

    // "<code's message>: <detail>", or whichever of the two is present.
    std::string message() const {
        if (!code) return detail;
        if (detail.empty()) return code.message();
        return code.message() + ": " + detail;
    }
};

// The error side of a Result, as a distinct type so that a Result<T, T> knows which side it is.
template <class E>
class Unexpected {
  public:
    explicit Unexpected(E error) : error_(std::move(error)) {}
    E& error() & { return error_; }
    const E& error() const& { return error_; }
    E&& error() && { return std::move(error_); }

  private:
    E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

// `return fail(Error{...});` from a function returning Result<T, Error>.
template <class E>
Unexpected<std::decay_t<E>> fail(E&& error) {
    return Unexpected<std::decay_t<E>>(std::forward<E>(error));
}

namespace result_detail {

// Out of line of the accessors: the message only on the failing path.
[[noreturn]] inline void wrong_side(const char* what) {
    std::fprintf(stderr, "lwgate::Result: %s\n", what);
    std::abort();
}

template <class X>
struct IsResultOrUnexpected : std::false_type {};
template <class E>
struct IsResultOrUnexpected<Unexpected<E>> : std::true_type {};

}  // namespace result_detail

template <class T, class E>
class [[nodiscard]] Result;

namespace result_detail {

template <class T, class E>
struct IsResultOrUnexpected<Result<T, E>> : std::true_type {};

// What a Result<T, E> takes as its value: anything T can be made from, except another Result or an
// Unexpected (those say which side they are) and in_place_t.
template <class U, class T>
concept ValueFor =  // the exclusions first: they stop the constructibility check early
    !IsResultOrUnexpected<std::remove_cvref_t<U>>::value &&
    !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> && std::constructible_from<T, U>;

template <class G, class E>
concept ErrorFor = std::constructible_from<E, const G&> && std::constructible_from<E, G&&>;

}  // namespace result_detail

template <class T, class E>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T> && !std::is_reference_v<E>, "store values, not refs");

  public:
    Result() requires std::is_default_constructible_v<T> : storage_(std::in_place_index<0>) {}

    // A value: anything T can be made from, implicitly (return value; return make_unique<D>()).
    template <result_detail::ValueFor<T> U = T>
    Result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

    template <result_detail::ErrorFor<E> G>
    Result(const Unexpected<G>& error) : storage_(std::in_place_index<1>, error.error()) {}

    template <result_detail::ErrorFor<E> G>
    Result(Unexpected<G>&& error) : storage_(std::in_place_index<1>, std::move(error).error()) {}

    bool has_value() const { return storage_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    // The value; only when has_value() (else aborts).
    T& value() & { return check_value(), *std::get_if<0>(&storage_); }
    const T& value() const& { return check_value(), *std::get_if<0>(&storage_); }
    T&& value() && { return check_value(), std::move(*std::get_if<0>(&storage_)); }
    const T&& value() const&& { return check_value(), std::move(*std::get_if<0>(&storage_)); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    const T&& operator*() const&& { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    // The error; only when !has_value() (else aborts).
    E& error() & { return check_error(), *std::get_if<1>(&storage_); }
    const E& error() const& { return check_error(), *std::get_if<1>(&storage_); }
    E&& error() && { return check_error(), std::move(*std::get_if<1>(&storage_)); }
    const E&& error() const&& { return check_error(), std::move(*std::get_if<1>(&storage_)); }

  private:
    void check_value() const {
        if (!has_value()) result_detail::wrong_side("value() of a Result that holds an error");
    }
    void check_error() const {
        if (has_value()) result_detail::wrong_side("error() of a Result that holds a value");
    }

    std::variant<T, E> storage_;  // by index: T and E may be the same type
};

// Success without a value, or an error: for operations that only succeed or fail.
template <class E>
class [[nodiscard]] Result<void, E> {
    static_assert(!std::is_reference_v<E>, "store values, not refs");

  public:
    Result() = default;  // success

    template <result_detail::ErrorFor<E> G>
    Result(const Unexpected<G>& error) : error_(std::in_place, error.error()) {}

    template <result_detail::ErrorFor<E> G>
    Result(Unexpected<G>&& error) : error_(std::in_place, std::move(error).error()) {}

    bool has_value() const { return !error_.has_value(); }
    explicit operator bool() const { return has_value(); }

    // Nothing to return; aborts when called on an error, like Result<T, E>::value().
    void value() const {
        if (!has_value()) result_detail::wrong_side("value() of a Result that holds an error");
    }
    void operator*() const { value(); }

    // The error; only when !has_value() (else aborts).
    E& error() & { return check_error(), *error_; }
    const E& error() const& { return check_error(), *error_; }
    E&& error() && { return check_error(), std::move(*error_); }
    const E&& error() const&& { return check_error(), std::move(*error_); }

  private:
    void check_error() const {
        if (has_value()) result_detail::wrong_side("error() of a Result that holds a value");
    }

    std::optional<E> error_;
};

}  // namespace lwgate
