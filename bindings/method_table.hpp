// bindings/method_table.hpp — method tables built from templates (a table per
// type with the entries its flavour lacks left out, docstrings put together at
// compile time from shared phrases) and the type slots that install them.
#pragma once

#include <cstddef>

#include "fast_methods.hpp"

namespace interlock::py {

/// The concatenation of S... at compile time, as a fixed_string (a
/// docstring from a kind's text and a flavour's rules).
template <fixed_string... S>
constexpr auto cat() {
  return detail::make_text<(S.view().size() + ... + 0)>({S.view()...});
}

/// A method table built once per type T from `entries`, dropping the holes
/// (only<false>: a method the flavour does not have).
template <class T, std::size_t N>
PyMethodDef* table(const PyMethodDef (&entries)[N]) noexcept {
  static PyMethodDef out[N + 1]{};
  std::size_t k = 0;
  for (const PyMethodDef& d : entries)
    if (d.ml_name) out[k++] = d;
  return out;
}
template <bool On>
PyMethodDef only(PyMethodDef d) noexcept {
  return On ? d : PyMethodDef{nullptr, nullptr, 0, nullptr};
}

/// The slots of a class T whose instances hold Python references (T has
/// traverse() and clear(): fast_methods.hpp's traverse_slot / clear_slot).
template <class T>
nanobind::type_slots gc_slots(PyMethodDef* methods) noexcept {
  static PyType_Slot s[] = {{Py_tp_methods, methods},
                            {Py_tp_traverse, reinterpret_cast<void*>(&traverse_slot<T>)},
                            {Py_tp_clear, reinterpret_cast<void*>(&clear_slot<T>)},
                            {0, nullptr}};
  return nanobind::type_slots(s);
}

/// An alias entry: Name($self, Params) calls Fn, documented "Same as Of()."
template <auto Fn, fixed_string Name, fixed_string Of, fixed_string Params = ", /">
PyMethodDef alias() noexcept {
  return method<Fn, cat<Name, "($self", Params, ")">(), cat<"Same as ", Of, "().">()>();
}

/// The _aio_enqueue entry of a primitive P (bindings/aio.hpp's enqueue<P>);
/// Ready says what a None result means.
template <auto Enqueue, fixed_string Ready>
PyMethodDef aio_method() noexcept {
  return method<Enqueue, "_aio_enqueue($self, loop, future, prev, /)",
                cat<"For interlock's asyncio support: ", Ready,
                    " queue a waiter\nthat completes `future` on `loop` (an AsyncWait).">()>();
}

}  // namespace interlock::py
