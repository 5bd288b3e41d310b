// fedgw::Result: a value or an error, with std::expected's member names.
//
// Pure: no I/O. C++20 on g++ 12 and clang 14 has no std::expected; this is the small subset we
// use, spelled the same way (has_value, value, error, value_or, operator*, operator->, and
// Unexpected in place of std::unexpected) so that the switch later is one alias.
// Peer and environment failures travel as values; programmer errors are asserts (STYLE.md §4).
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace fedgw {

template <class E>
class Unexpected {
public:
    constexpr explicit Unexpected(E e) : error_(std::move(e)) {}
    constexpr const E& error() const& { return error_; }
    constexpr E& error() & { return error_; }
    constexpr E&& error() && { return std::move(error_); }

private:
    E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

template <class T, class E>
class [[nodiscard]] Result {
public:
    using value_type = T;
    using error_type = E;

    // explicit unless U converts implicitly, as std::expected does: without it an aggregate
    // T would be built from a bare error value in parentheses (C++20), and `return msg;`
    // would silently return a value.
    template <class U = T>
        requires std::is_constructible_v<T, U&&>
    constexpr explicit(!std::is_convertible_v<U&&, T>) Result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}
    template <class G>
    constexpr Result(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u).error()) {}

    constexpr bool has_value() const { return v_.index() == 0; }
    constexpr explicit operator bool() const { return has_value(); }

    constexpr T& value() & { assert(has_value()); return std::get<0>(v_); }
    constexpr const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    constexpr T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T&& operator*() && { return std::move(*this).value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    constexpr const E& error() const& { assert(!has_value()); return std::get<1>(v_); }
    constexpr E& error() & { assert(!has_value()); return std::get<1>(v_); }
    constexpr E&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

    template <class U>
    constexpr T value_or(U&& fallback) const& {
        return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, E> v_;
};

// Result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Result<void, E> {
public:
    using value_type = void;
    using error_type = E;

    constexpr Result() = default;
    template <class G>
    constexpr Result(Unexpected<G> u) : ok_(false), e_(std::move(u).error()) {}

    constexpr bool has_value() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    constexpr void value() const { assert(ok_); }
    constexpr const E& error() const& { assert(!ok_); return e_; }
    constexpr E& error() & { assert(!ok_); return e_; }

private:
    bool ok_ = true;
    E e_{};
};

}  // namespace fedgw
