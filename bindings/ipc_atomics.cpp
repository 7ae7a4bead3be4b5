// bindings/ipc_atomics.cpp — interlock._interlock.ipc: the buffer atomics
// (public as interlock.ipc; seed 004's model, façade interlock.compat.atomics).
//
// The operations are interlock/buffer_atomic.hpp; this file only adapts
// Python objects: it exports the caller's buffer (or owns 16 bytes inside the
// object), converts ints / byte strings of the object's width, validates
// memory orders, bit indices and read-only-ness, and raises the seed's
// exception types (defined in python/interlock/ipc/_atomics.py and handed to
// _setup() at import).
//
// One C++ struct, Cell, holds every kind; each Python class is a distinct
// empty struct deriving from it (nanobind registers one type per C++ type),
// and the hot methods are fast methods (fast_methods.hpp) on Cell& shared by
// the owned (Atomic*) and view (Atomic*View) classes of a kind.
//
// Threading: width/readonly/signed are fixed at construction. `addr` is the
// only mutable field: a view's release() exchanges it with null (exactly one
// caller then releases the buffer export); every operation loads it once and
// raises ValueError when it is null. Nothing relies on the GIL. Releasing a
// view while another thread is inside an operation on it is the caller's race
// (the seed's contract: the buffer must stay valid until release()); on
// GIL builds it cannot happen, since an operation never releases the GIL.
#include <nanobind/nanobind.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "fast_methods.hpp"
#include "interlock/buffer_atomic.hpp"
#include "module.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
namespace ba = interlock::buffer_atomic;
using namespace nb::literals;

namespace {

// ============================================================ Python-side types

/// Set once by _setup(); strong references kept for the process lifetime.
struct PyTypes {
  PyObject* alignment_error = nullptr;
  PyObject* memory_order_error = nullptr;
  PyObject* unsupported_width = nullptr;
  PyObject* unsupported_op = nullptr;
  PyObject* op_type = nullptr;
  PyObject* memory_order = nullptr;
};
PyTypes g_types;

// The operations (OpType), the kinds of object, which kind supports which
// operation and which orders each takes: the core, buffer_atomic.hpp.
using Op = ba::op;
using Kind = ba::kind;

IL_PY_COLD PyObject* raise_not_setup() {
  PyErr_SetString(PyExc_RuntimeError, "interlock.ipc buffer atomics are not initialised");
  return nullptr;
}

/// exc_type(*args, **kwargs) raised; returns nullptr.
IL_PY_COLD PyObject* raise_call(PyObject* type, PyObject* args, PyObject* kwargs) {
  if (!type) return raise_not_setup();
  PyObject* exc = args ? PyObject_Call(type, args, kwargs) : nullptr;
  Py_XDECREF(args);
  Py_XDECREF(kwargs);
  if (exc) {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
    Py_DECREF(exc);
  }
  return nullptr;
}

IL_PY_COLD PyObject* enum_of(PyObject* type, int v) {
  if (!type) return raise_not_setup();
  return PyObject_CallFunction(type, "i", v);
}

IL_PY_COLD PyObject* raise_unsupported_op(Op op, std::size_t width, bool readonly) {
  PyObject* ot = enum_of(g_types.op_type, static_cast<int>(op));
  if (!ot) return nullptr;
  return raise_call(g_types.unsupported_op, Py_BuildValue("(Nn)", ot, (Py_ssize_t)width),
                    Py_BuildValue("{s:O}", "readonly", readonly ? Py_True : Py_False));
}

IL_PY_COLD PyObject* raise_unsupported_width(std::size_t width, bool readonly) {
  return raise_call(g_types.unsupported_width, Py_BuildValue("(n)", (Py_ssize_t)width),
                    Py_BuildValue("{s:O}", "readonly", readonly ? Py_True : Py_False));
}

IL_PY_COLD PyObject* raise_alignment(std::size_t width, std::uintptr_t address) {
  return raise_call(g_types.alignment_error,
                    Py_BuildValue("(nK)", (Py_ssize_t)width, (unsigned long long)address),
                    Py_BuildValue("{s:O}", "using_recommended", Py_True));
}

IL_PY_COLD PyObject* raise_memory_order(Op op, int order, bool is_fail) {
  PyObject* ot = enum_of(g_types.op_type, static_cast<int>(op));
  if (!ot) return nullptr;
  PyObject* mo = enum_of(g_types.memory_order, order);
  if (!mo) {
    Py_DECREF(ot);
    return nullptr;
  }
  return raise_call(g_types.memory_order_error, Py_BuildValue("(NN)", ot, mo),
                    Py_BuildValue("{s:O}", "is_fail", is_fail ? Py_True : Py_False));
}

IL_PY_COLD PyObject* raise_released() {
  PyErr_SetString(PyExc_ValueError,
                  "this atomic view was released (its context was exited or released)");
  return nullptr;
}

// ============================================================ the cell

struct Cell {
  std::atomic<unsigned char*> addr{nullptr};  // null once a view is released
  std::uint8_t width = 0;
  Kind kind = Kind::any;
  bool readonly = false;
  bool is_signed = false;
  bool has_buffer = false;
  Py_buffer buffer{};
  alignas(16) unsigned char storage[16] = {};

  Cell() = default;
  Cell(const Cell&) = delete;
  Cell& operator=(const Cell&) = delete;
  ~Cell() { release(); }

  /// Drops the buffer export (once); later operations raise ValueError.
  void release() noexcept {
    unsigned char* p = addr.exchange(nullptr, std::memory_order_acq_rel);
    if (p && has_buffer) PyBuffer_Release(&buffer);
  }

  /// Whether the op is available on this object (kind, read-only).
  bool supports(Op op) const noexcept { return ba::supports(kind, readonly, op); }
};

// Distinct C++ types for distinct Python classes (no members of their own).
struct AnyA : Cell {};
struct BytesA : AnyA {};
struct IntegralA : AnyA {};
struct IntA : IntegralA {};
struct UintA : IntegralA {};
struct AnyV : Cell {};
struct BytesV : AnyV {};
struct IntegralV : AnyV {};
struct IntV : IntegralV {};
struct UintV : IntegralV {};

/// Sets up an owned cell (storage inside the object). False with an error set.
bool init_owned(Cell& c, Py_ssize_t width, Kind kind, bool is_signed) {
  if (width < 0 || !ba::width_supported(static_cast<std::size_t>(width))) {
    raise_unsupported_width(static_cast<std::size_t>(width < 0 ? 0 : width), false);
    return false;
  }
  c.width = static_cast<std::uint8_t>(width);
  c.kind = kind;
  c.is_signed = is_signed;
  c.readonly = false;
  c.addr.store(c.storage, std::memory_order_release);
  return true;
}

// ============================================================ argument conversion

/// The memory order argument (omitted: SEQ_CST). -1 with an error set.
IL_PY_INLINE int order_arg(ilpy::passed o) {
  if (!o.given()) return static_cast<int>(ba::order::seq_cst);
  PyObject* obj = o.obj;
  if (IL_PY_UNLIKELY(!PyLong_Check(obj))) {
    PyErr_Format(PyExc_TypeError, "memory order must be a MemoryOrder, not %s",
                 IL_TP_NAME(obj));
    return -1;
  }
  const long v = PyLong_AsLong(obj);
  if (IL_PY_UNLIKELY(!ba::is_order_value(v))) {
    if (v == -1 && PyErr_Occurred()) return -1;
    PyErr_Format(PyExc_ValueError, "%ld is not a valid MemoryOrder", v);
    return -1;
  }
  return static_cast<int>(v);
}

IL_PY_COLD bool int_range_error(const Cell& c, const char* what) {
  PyErr_Format(PyExc_OverflowError, "'%s' does not fit in a %s integer of width %d", what,
               c.is_signed ? "signed" : "unsigned", static_cast<int>(c.width));
  return false;
}

/// A Python int (or __index__) as the W-byte bits of a signed / unsigned
/// integer; out of range: OverflowError (as int.to_bytes).
template <std::size_t W>
bool int_in(const Cell& c, PyObject* o, const char* what, ba::bits_t<W>& out) {
  nb::object owned;
  if (IL_PY_UNLIKELY(!PyLong_Check(o))) {
    PyObject* idx = PyNumber_Index(o);
    if (!idx) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "'%s' must be an int, not %s", what, IL_TP_NAME(o));
      return false;
    }
    owned = nb::steal(idx);
    o = idx;
  }
  if constexpr (W <= 8) {
    if (c.is_signed) {
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (overflow || !ba::fits_signed(v, W)) return int_range_error(c, what);
      if (v == -1 && PyErr_Occurred()) return false;
      out = static_cast<ba::bits_t<W>>(static_cast<unsigned long long>(v));
    } else {
      const unsigned long long v = PyLong_AsUnsignedLongLong(o);
      if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear();
        return int_range_error(c, what);
      }
      if (!ba::fits_unsigned(v, W)) return int_range_error(c, what);
      out = static_cast<ba::bits_t<W>>(v);
    }
    return true;
  } else {
    // 16 bytes: through int.to_bytes (little-endian, then the native order).
    nb::object b;
    try {
      b = nb::handle(o).attr("to_bytes")(W, "little", "signed"_a = c.is_signed);
    } catch (nb::python_error& e) {
      if (e.matches(PyExc_OverflowError)) return int_range_error(c, what);
      e.restore();
      return false;
    }
    const auto* s = reinterpret_cast<const unsigned char*>(PyBytes_AS_STRING(b.ptr()));
    ba::bits_t<W> v = 0;
    for (std::size_t i = W; i-- > 0;) v = (v << 8) | s[i];
    out = v;
    return true;
  }
}

template <std::size_t W>
PyObject* int_out(const Cell& c, ba::bits_t<W> v) {
  if constexpr (W <= 8) {
    if (c.is_signed) return PyLong_FromLongLong(ba::to_signed<long long>(v));
    return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(v));
  } else {
    unsigned char s[W];
    for (std::size_t i = 0; i < W; ++i) s[i] = static_cast<unsigned char>(v >> (8 * i));
    try {
      nb::bytes b(reinterpret_cast<const char*>(s), W);
      return nb::handle(reinterpret_cast<PyObject*>(&PyLong_Type))
          .attr("from_bytes")(b, "little", "signed"_a = c.is_signed)
          .release()
          .ptr();
    } catch (...) {
      return ilpy::detail::translate_current_exception();
    }
  }
}

/// A buffer of exactly W bytes, as bits in native order.
template <std::size_t W>
bool bytes_in(const Cell&, PyObject* o, const char* what, ba::bits_t<W>& out) {
  if (PyBytes_CheckExact(o)) {
    if (IL_PY_UNLIKELY(PyBytes_GET_SIZE(o) != static_cast<Py_ssize_t>(W))) {
      PyErr_Format(PyExc_ValueError, "'%s' length %zd does not match width %d", what,
                   PyBytes_GET_SIZE(o), static_cast<int>(W));
      return false;
    }
    out = ba::bits_from<W>(PyBytes_AS_STRING(o));
    return true;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) != 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "'%s' must be a bytes-like object of width %d, not %s", what,
                 static_cast<int>(W), IL_TP_NAME(o));
    return false;
  }
  const bool ok = view.len == static_cast<Py_ssize_t>(W);
  if (ok) out = ba::bits_from<W>(view.buf);
  else
    PyErr_Format(PyExc_ValueError, "'%s' length %zd does not match width %d", what, view.len,
                 static_cast<int>(W));
  PyBuffer_Release(&view);
  return ok;
}

template <std::size_t W>
PyObject* bytes_out(const Cell&, ba::bits_t<W> v) {
  char s[W];
  ba::bits_to<W>(s, v);
  return PyBytes_FromStringAndSize(s, W);
}

/// How a kind converts its values.
struct IntVal {
  template <std::size_t W>
  static bool in(const Cell& c, PyObject* o, const char* what, ba::bits_t<W>& out) {
    return int_in<W>(c, o, what, out);
  }
  template <std::size_t W>
  static PyObject* out(const Cell& c, ba::bits_t<W> v) {
    return int_out<W>(c, v);
  }
};
struct BytesVal {
  template <std::size_t W>
  static bool in(const Cell& c, PyObject* o, const char* what, ba::bits_t<W>& out) {
    return bytes_in<W>(c, o, what, out);
  }
  template <std::size_t W>
  static PyObject* out(const Cell& c, ba::bits_t<W> v) {
    return bytes_out<W>(c, v);
  }
};

// ============================================================ operations

/// The address for `op`, or null with the error set (released view, op not
/// supported on this object).
IL_PY_INLINE unsigned char* target(Cell& c, Op op) {
  unsigned char* p = c.addr.load(std::memory_order_acquire);
  if (IL_PY_UNLIKELY(!p)) {
    raise_released();
    return nullptr;
  }
  if (IL_PY_UNLIKELY(!c.supports(op))) {
    raise_unsupported_op(op, c.width, c.readonly);
    return nullptr;
  }
  return p;
}

/// The bytes `op` works on and its memory order, checked (supported here,
/// a MemoryOrder valid for op); nullptr with an exception set otherwise.
IL_PY_INLINE unsigned char* prepare(Cell& c, Op op, ilpy::passed order, ba::order* out) {
  unsigned char* p = target(c, op);
  if (!p) return nullptr;
  const int o = order_arg(order);
  if (o < 0) return nullptr;
  if (IL_PY_UNLIKELY(!ba::is_valid_order(op, static_cast<ba::order>(o)))) {
    raise_memory_order(op, o, false);
    return nullptr;
  }
  *out = static_cast<ba::order>(o);
  return p;
}

template <class V>
PyObject* op_load(Cell& c, ilpy::passed order) {
  ba::order mo;
  unsigned char* p = prepare(c, Op::load, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    return V::template out<W>(c, ba::ops<ba::bits_t<W>>::load(p, mo));
  });
}

template <class V>
PyObject* op_store(Cell& c, PyObject* desired, ilpy::passed order) {
  ba::order mo;
  unsigned char* p = prepare(c, Op::store, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    ba::bits_t<W> v;
    if (!V::template in<W>(c, desired, "desired", v)) return nullptr;
    ba::ops<ba::bits_t<W>>::store(p, v, mo);
    Py_RETURN_NONE;
  });
}

template <class V>
PyObject* op_exchange(Cell& c, PyObject* desired, ilpy::passed order) {
  ba::order mo;
  unsigned char* p = prepare(c, Op::exchange, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    ba::bits_t<W> v;
    if (!V::template in<W>(c, desired, "desired", v)) return nullptr;
    return V::template out<W>(c, ba::ops<ba::bits_t<W>>::exchange(p, v, mo));
  });
}

PyObject* make_cmpxchg_result(bool ok, PyObject* expected);

template <class V, bool Weak>
PyObject* op_cmpxchg(Cell& c, PyObject* expected, PyObject* desired, ilpy::passed succ,
                     ilpy::passed fail) {
  constexpr Op op = Weak ? Op::cmpxchg_weak : Op::cmpxchg_strong;
  unsigned char* p = target(c, op);
  if (!p) return nullptr;
  const int s = order_arg(succ);
  if (s < 0) return nullptr;
  const int f = order_arg(fail);
  if (f < 0) return nullptr;
  if (!ba::is_valid_fail_order(static_cast<ba::order>(f), static_cast<ba::order>(s)))
    return raise_memory_order(op, f, true);
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    ba::bits_t<W> e, d;
    if (!V::template in<W>(c, expected, "expected", e)) return nullptr;
    if (!V::template in<W>(c, desired, "desired", d)) return nullptr;
    const bool ok = ba::ops<ba::bits_t<W>>::cmpxchg(p, e, d, Weak, static_cast<ba::order>(s),
                                                    static_cast<ba::order>(f));
    // On success the value found is `expected` (as this object's type).
    PyObject* found = V::template out<W>(c, e);
    if (!found) return nullptr;
    return make_cmpxchg_result(ok, found);
  });
}

enum class BitOp { test, set, reset, compl_ };

template <BitOp B>
PyObject* op_bit(Cell& c, PyObject* index, ilpy::passed order) {
  constexpr Op op = B == BitOp::test    ? Op::bit_test
                    : B == BitOp::set   ? Op::bit_test_set
                    : B == BitOp::reset ? Op::bit_test_reset
                                        : Op::bit_test_compl;
  ba::order mo;
  unsigned char* p = prepare(c, op, order, &mo);
  if (!p) return nullptr;
  if (!PyLong_Check(index)) {
    PyErr_Format(PyExc_TypeError, "'index' must be an int, not %s", IL_TP_NAME(index));
    return nullptr;
  }
  int overflow = 0;
  const long long i = PyLong_AsLongLongAndOverflow(index, &overflow);
  if (i == -1 && PyErr_Occurred()) return nullptr;
  if (overflow || i < 0 || i >= static_cast<long long>(c.width) * 8) {
    PyErr_SetString(PyExc_ValueError, "'index' value out of range");
    return nullptr;
  }
  const auto idx = static_cast<unsigned>(i);
  const bool r = ba::with_width(c.width, [&](auto W) -> bool {
    using O = ba::ops<ba::bits_t<W>>;
    if constexpr (B == BitOp::test) return O::bit_test(p, idx, mo);
    else if constexpr (B == BitOp::set) return O::bit_test_set(p, idx, mo);
    else if constexpr (B == BitOp::reset) return O::bit_test_reset(p, idx, mo);
    else return O::bit_test_compl(p, idx, mo);
  });
  return PyBool_FromLong(r);
}

enum class Rmw { or_, xor_, and_, add, sub };

/// A binary read-modify-write; Fetch: return the previous value, else None.
template <class V, Rmw R, bool Fetch>
PyObject* op_rmw(Cell& c, PyObject* value, ilpy::passed order) {
  constexpr Op base = R == Rmw::or_ ? Op::or_ : R == Rmw::xor_ ? Op::xor_
                      : R == Rmw::and_ ? Op::and_ : R == Rmw::add ? Op::add : Op::sub;
  ba::order mo;
  unsigned char* p = prepare(c, Fetch ? ba::fetching(base) : base, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    using U = ba::bits_t<W>;
    using O = ba::ops<U>;
    U v;
    if (!V::template in<W>(c, value, "value", v)) return nullptr;
    U prev;
    if constexpr (R == Rmw::or_) prev = O::fetch_or(p, v, mo);
    else if constexpr (R == Rmw::xor_) prev = O::fetch_xor(p, v, mo);
    else if constexpr (R == Rmw::and_) prev = O::fetch_and(p, v, mo);
    else if constexpr (R == Rmw::add) prev = O::fetch_add(p, v, mo);
    else prev = O::fetch_sub(p, v, mo);
    if constexpr (Fetch) return V::template out<W>(c, prev);
    else {
      (void)prev;
      Py_RETURN_NONE;
    }
  });
}

enum class Unary { not_, inc, dec, neg };

template <class V, Unary U1, bool Fetch>
PyObject* op_unary(Cell& c, ilpy::passed order) {
  constexpr Op base = U1 == Unary::not_ ? Op::not_ : U1 == Unary::inc ? Op::inc
                      : U1 == Unary::dec ? Op::dec : Op::neg;
  ba::order mo;
  unsigned char* p = prepare(c, Fetch ? ba::fetching(base) : base, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    using U = ba::bits_t<W>;
    using O = ba::ops<U>;
    U prev;
    if constexpr (U1 == Unary::not_) prev = O::fetch_not(p, mo);
    else if constexpr (U1 == Unary::inc) prev = O::fetch_add(p, U{1}, mo);
    else if constexpr (U1 == Unary::dec) prev = O::fetch_sub(p, U{1}, mo);
    else prev = O::fetch_neg(p, mo);
    if constexpr (Fetch) return V::template out<W>(c, prev);
    else {
      (void)prev;
      Py_RETURN_NONE;
    }
  });
}

// ============================================================ properties, repr

unsigned char* live(Cell& c) {
  unsigned char* p = c.addr.load(std::memory_order_acquire);
  if (!p) {
    raise_released();
    throw nb::python_error();
  }
  return p;
}

nb::object ops_supported(Cell& c) {
  live(c);
  nb::list out;
  for (int op = static_cast<int>(ba::kFirstOp); op <= static_cast<int>(ba::kLastOp); ++op) {
    if (!c.supports(static_cast<Op>(op))) continue;
    PyObject* e = enum_of(g_types.op_type, op);
    if (!e) throw nb::python_error();
    out.append(nb::steal(e));
  }
  return out;
}

PyObject* cell_repr(PyObject* self) {
  if (!nb::inst_ready(self)) return PyUnicode_FromFormat("<%s (uninitialised)>", ilpy::detail::short_type_name(self));
  Cell& c = *nb::inst_ptr<Cell>(self);
  const char* name = ilpy::detail::short_type_name(self);
  if (!c.addr.load(std::memory_order_acquire)) return PyUnicode_FromFormat("<%s (released)>", name);
  const char* ro = c.readonly ? "True" : "False";
  if (c.kind == Kind::any)
    return PyUnicode_FromFormat("%s(width=%d, readonly=%s)", name, (int)c.width, ro);
  PyObject* v = c.kind == Kind::bytes ? op_load<BytesVal>(c, {}) : op_load<IntVal>(c, {});
  if (!v) return nullptr;
  PyObject* r;
  if (c.kind == Kind::bytes)
    r = PyUnicode_FromFormat("%s(value=%R, width=%d, readonly=%s)", name, v, (int)c.width, ro);
  else
    r = PyUnicode_FromFormat("%s(value=%R, width=%d, readonly=%s, signed=%s)", name, v,
                             (int)c.width, ro, c.is_signed ? "True" : "False");
  Py_DECREF(v);
  return r;
}

PyObject* cell_int(PyObject* self) {
  if (!nb::inst_ready(self)) return ilpy::detail::raise_not_ready(self, "__int__");
  return op_load<IntVal>(*nb::inst_ptr<Cell>(self), {});
}

PyObject* bytes_dunder(Cell& c) { return op_load<BytesVal>(c, {}); }

// ============================================================ CmpxchgResult

// A plain C-API heap type (not nanobind's: a nanobind instance is entered
// into nanobind's pointer-to-instance map on creation, which cost a cmpxchg
// call on 3.13t a third of its time). Immutable: tp_new sets both fields.
struct ResultObject {
  PyObject_HEAD
  PyObject* expected;
  char success;
};

PyTypeObject* g_result_type = nullptr;

/// A new CmpxchgResult (steals `expected`).
PyObject* make_cmpxchg_result(bool ok, PyObject* expected) {
  auto* r = PyObject_GC_New(ResultObject, g_result_type);
  if (!r) {
    Py_DECREF(expected);
    return nullptr;
  }
  r->expected = expected;
  r->success = ok ? 1 : 0;
  PyObject_GC_Track(r);
  return reinterpret_cast<PyObject*>(r);
}

PyObject* result_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"success", "expected", nullptr};
  int success = 0;
  PyObject* expected = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "pO:CmpxchgResult",
                                   const_cast<char**>(names), &success, &expected))
    return nullptr;
  auto* r = reinterpret_cast<ResultObject*>(IL_TP_ALLOC(type)(type, 0));
  if (!r) return nullptr;
  r->expected = Py_NewRef(expected);
  r->success = static_cast<char>(success);
  return reinterpret_cast<PyObject*>(r);
}

int result_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(reinterpret_cast<ResultObject*>(self)->expected);
  return 0;
}

int result_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<ResultObject*>(self)->expected);
  return 0;
}

void result_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_TRASHCAN_BEGIN(self, result_dealloc)
  result_clear(self);
  IL_TP_FREE(type)(self);
  Py_DECREF(type);
  Py_TRASHCAN_END
}

int result_bool(PyObject* self) { return reinterpret_cast<ResultObject*>(self)->success; }

PyObject* result_iter(PyObject* self) {
  auto* r = reinterpret_cast<ResultObject*>(self);
  PyObject* t = PyTuple_Pack(2, r->success ? Py_True : Py_False,
                             r->expected ? r->expected : Py_None);
  if (!t) return nullptr;
  PyObject* it = PyObject_GetIter(t);
  Py_DECREF(t);
  return it;
}

PyObject* result_repr(PyObject* self) {
  auto* r = reinterpret_cast<ResultObject*>(self);
  return PyUnicode_FromFormat("%s(success=%s, expected=%R)", ilpy::detail::short_type_name(self),
                              r->success ? "True" : "False", r->expected ? r->expected : Py_None);
}

PyObject* result_success(PyObject* self, void*) {
  return PyBool_FromLong(reinterpret_cast<ResultObject*>(self)->success);
}
PyObject* result_expected(PyObject* self, void*) {
  PyObject* e = reinterpret_cast<ResultObject*>(self)->expected;
  return Py_NewRef(e ? e : Py_None);
}

PyGetSetDef result_getset[] = {
    {"success", &result_success, nullptr, "Whether the exchange took place.", nullptr},
    {"expected", &result_expected, nullptr, "The value found (the original value).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot result_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(&result_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(&result_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(&result_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(&result_clear)},
    {Py_tp_repr, reinterpret_cast<void*>(&result_repr)},
    {Py_tp_iter, reinterpret_cast<void*>(&result_iter)},
    {Py_nb_bool, reinterpret_cast<void*>(&result_bool)},
    {Py_tp_getset, result_getset},
    {Py_tp_doc, const_cast<char*>(
                    "CmpxchgResult(success, expected)\n--\n\n"
                    "The result of cmpxchg_weak/cmpxchg_strong: success (whether the\n"
                    "exchange happened) and expected (the value found). True when it\n"
                    "succeeded; unpacks as (success, expected).")},
    {0, nullptr},
};

PyType_Spec result_spec = {
    "interlock.ipc.CmpxchgResult", sizeof(ResultObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE, result_slots,
};

// ============================================================ method tables

#define IL_COMMON_METHODS(V, SUCC, FAIL)                                                          \
  ilpy::method<&op_load<V>, "load($self, order=MemoryOrder.SEQ_CST)",                             \
               "Atomically read the value.">(),                                                  \
      ilpy::method<&op_store<V>, "store($self, desired, order=MemoryOrder.SEQ_CST)",              \
                   "Atomically write desired.">(),                                               \
      ilpy::method<&op_exchange<V>, "exchange($self, desired, order=MemoryOrder.SEQ_CST)",        \
                   "Atomically write desired; return the previous value.">(),                    \
      ilpy::method<&op_cmpxchg<V, true>,                                                         \
                   "cmpxchg_weak($self, expected, desired, " SUCC "=MemoryOrder.SEQ_CST, " FAIL   \
                   "=MemoryOrder.SEQ_CST)",                                                      \
                   "If the value is expected, replace it by desired (may fail spuriously);\n"    \
                   "return CmpxchgResult(success, value found).">(),                             \
      ilpy::method<&op_cmpxchg<V, false>,                                                        \
                   "cmpxchg_strong($self, expected, desired, " SUCC "=MemoryOrder.SEQ_CST, " FAIL \
                   "=MemoryOrder.SEQ_CST)",                                                      \
                   "If the value is expected, replace it by desired; return\n"                   \
                   "CmpxchgResult(success, value found).">(),                                    \
      ilpy::method<&op_bit<BitOp::test>, "bit_test($self, index, order=MemoryOrder.SEQ_CST)",     \
                   "Return bit index (0 = least significant) of the value.">(),                  \
      ilpy::method<&op_bit<BitOp::compl_>, "bit_compl($self, index, order=MemoryOrder.SEQ_CST)",  \
                   "Flip bit index; return its previous state.">(),                              \
      ilpy::method<&op_bit<BitOp::set>, "bit_set($self, index, order=MemoryOrder.SEQ_CST)",       \
                   "Set bit index; return its previous state.">(),                               \
      ilpy::method<&op_bit<BitOp::reset>, "bit_reset($self, index, order=MemoryOrder.SEQ_CST)",   \
                   "Clear bit index; return its previous state.">(),                             \
      ilpy::method<&op_bit<BitOp::compl_>,                                                       \
                   "bit_test_compl($self, index, order=MemoryOrder.SEQ_CST)",                    \
                   "The atomics package's name of bit_compl.">(),                                \
      ilpy::method<&op_bit<BitOp::set>, "bit_test_set($self, index, order=MemoryOrder.SEQ_CST)",  \
                   "The atomics package's name of bit_set.">(),                                  \
      ilpy::method<&op_bit<BitOp::reset>,                                                        \
                   "bit_test_reset($self, index, order=MemoryOrder.SEQ_CST)",                    \
                   "The atomics package's name of bit_reset.">(),                                \
      ilpy::method<&op_rmw<V, Rmw::or_, false>, "bin_or($self, value, order=MemoryOrder.SEQ_CST)", \
                   "value |= operand, atomically.">(),                                           \
      ilpy::method<&op_rmw<V, Rmw::xor_, false>,                                                 \
                   "bin_xor($self, value, order=MemoryOrder.SEQ_CST)",                           \
                   "value ^= operand, atomically.">(),                                           \
      ilpy::method<&op_rmw<V, Rmw::and_, false>,                                                 \
                   "bin_and($self, value, order=MemoryOrder.SEQ_CST)",                           \
                   "value &= operand, atomically.">(),                                           \
      ilpy::method<&op_unary<V, Unary::not_, false>, "bin_not($self, order=MemoryOrder.SEQ_CST)", \
                   "Invert every bit, atomically.">(),                                           \
      ilpy::method<&op_rmw<V, Rmw::or_, true>,                                                   \
                   "bin_fetch_or($self, value, order=MemoryOrder.SEQ_CST)",                      \
                   "value |= operand; return the previous value.">(),                            \
      ilpy::method<&op_rmw<V, Rmw::xor_, true>,                                                  \
                   "bin_fetch_xor($self, value, order=MemoryOrder.SEQ_CST)",                     \
                   "value ^= operand; return the previous value.">(),                            \
      ilpy::method<&op_rmw<V, Rmw::and_, true>,                                                  \
                   "bin_fetch_and($self, value, order=MemoryOrder.SEQ_CST)",                     \
                   "value &= operand; return the previous value.">(),                            \
      ilpy::method<&op_unary<V, Unary::not_, true>,                                              \
                   "bin_fetch_not($self, order=MemoryOrder.SEQ_CST)",                            \
                   "Invert every bit; return the previous value.">()

PyMethodDef bytes_methods[] = {
    IL_COMMON_METHODS(BytesVal, "succ", "fail"),
    ilpy::method<&bytes_dunder, "__bytes__($self, /)", "The value (load()).">(),
    ilpy::methods_end,
};

PyMethodDef int_methods[] = {
    IL_COMMON_METHODS(IntVal, "success", "failure"),
    ilpy::method<&op_rmw<IntVal, Rmw::add, false>, "add($self, value, order=MemoryOrder.SEQ_CST)",
                 "Add value (wrapping around), atomically.">(),
    ilpy::method<&op_rmw<IntVal, Rmw::sub, false>, "sub($self, value, order=MemoryOrder.SEQ_CST)",
                 "Subtract value (wrapping around), atomically.">(),
    ilpy::method<&op_unary<IntVal, Unary::inc, false>, "inc($self, order=MemoryOrder.SEQ_CST)",
                 "Add one (wrapping around), atomically.">(),
    ilpy::method<&op_unary<IntVal, Unary::dec, false>, "dec($self, order=MemoryOrder.SEQ_CST)",
                 "Subtract one (wrapping around), atomically.">(),
    ilpy::method<&op_unary<IntVal, Unary::neg, false>, "neg($self, order=MemoryOrder.SEQ_CST)",
                 "Negate (wrapping around), atomically.">(),
    ilpy::method<&op_rmw<IntVal, Rmw::add, true>,
                 "fetch_add($self, value, order=MemoryOrder.SEQ_CST)",
                 "Add value; return the previous value.">(),
    ilpy::method<&op_rmw<IntVal, Rmw::sub, true>,
                 "fetch_sub($self, value, order=MemoryOrder.SEQ_CST)",
                 "Subtract value; return the previous value.">(),
    ilpy::method<&op_unary<IntVal, Unary::inc, true>,
                 "fetch_inc($self, order=MemoryOrder.SEQ_CST)",
                 "Add one; return the previous value.">(),
    ilpy::method<&op_unary<IntVal, Unary::dec, true>,
                 "fetch_dec($self, order=MemoryOrder.SEQ_CST)",
                 "Subtract one; return the previous value.">(),
    ilpy::method<&op_unary<IntVal, Unary::neg, true>,
                 "fetch_neg($self, order=MemoryOrder.SEQ_CST)",
                 "Negate; return the previous value.">(),
    ilpy::methods_end,
};

PyType_Slot any_slots[] = {
    {Py_tp_repr, reinterpret_cast<void*>(&cell_repr)},
    {0, nullptr},
};
PyType_Slot bytes_slots[] = {
    {Py_tp_methods, bytes_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&cell_repr)},
    {0, nullptr},
};
PyType_Slot int_slots[] = {
    {Py_tp_methods, int_methods},
    {Py_tp_repr, reinterpret_cast<void*>(&cell_repr)},
    {Py_nb_int, reinterpret_cast<void*>(&cell_int)},
    {0, nullptr},
};

// ============================================================ construction

/// A view of `buffer`: exports it (writable if it can be, else read-only),
/// checks width and alignment. Raises TypeError / BufferError,
/// UnsupportedWidthException, AlignmentError.
template <class T>
nb::object make_view(nb::handle cls, PyObject* buffer, Kind kind, bool is_signed) {
  if (!PyObject_CheckBuffer(buffer)) {
    PyErr_Format(PyExc_TypeError,
                 "'buffer' must support the buffer protocol, not %s", IL_TP_NAME(buffer));
    throw nb::python_error();
  }
  Py_buffer view;
  bool readonly = false;
  if (PyObject_GetBuffer(buffer, &view, PyBUF_ANY_CONTIGUOUS | PyBUF_WRITABLE) != 0) {
    PyErr_Clear();
    if (PyObject_GetBuffer(buffer, &view, PyBUF_ANY_CONTIGUOUS) != 0) throw nb::python_error();
    readonly = true;
  }
  const auto width = static_cast<std::size_t>(view.len);
  const bool width_ok =
      readonly ? ba::width_supported_readonly(width) : ba::width_supported(width);
  if (!width_ok) {
    PyBuffer_Release(&view);
    raise_unsupported_width(width, readonly);
    throw nb::python_error();
  }
  if (!ba::is_aligned(view.buf, width)) {
    const auto address = reinterpret_cast<std::uintptr_t>(view.buf);
    PyBuffer_Release(&view);
    raise_alignment(width, address);
    throw nb::python_error();
  }
  nb::object obj;
  try {
    obj = nb::inst_alloc(cls);
  } catch (...) {
    PyBuffer_Release(&view);
    throw;
  }
  T* c = new (nb::inst_ptr<T>(obj)) T();
  c->width = static_cast<std::uint8_t>(width);
  c->kind = kind;
  c->readonly = readonly;
  c->is_signed = is_signed;
  c->buffer = view;
  c->has_buffer = true;
  c->addr.store(static_cast<unsigned char*>(view.buf), std::memory_order_release);
  nb::inst_mark_ready(obj);
  return obj;
}

nb::handle g_view_types[5];  // AtomicView, AtomicBytesView, AtomicIntegralView, AtomicIntView, AtomicUintView

nb::object new_view(int which, nb::handle buffer, bool is_signed) {
  switch (which) {
    case 0: return make_view<AnyV>(g_view_types[0], buffer.ptr(), Kind::any, false);
    case 1: return make_view<BytesV>(g_view_types[1], buffer.ptr(), Kind::bytes, false);
    case 2: return make_view<IntegralV>(g_view_types[2], buffer.ptr(), Kind::integral, is_signed);
    case 3: return make_view<IntV>(g_view_types[3], buffer.ptr(), Kind::integral, true);
    case 4: return make_view<UintV>(g_view_types[4], buffer.ptr(), Kind::integral, false);
    default: throw nb::value_error("unknown atomic view kind");
  }
}

nb::tuple buffer_info(nb::handle obj) {
  Py_buffer view;
  bool readonly = false;
  if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_ANY_CONTIGUOUS | PyBUF_WRITABLE) != 0) {
    PyErr_Clear();
    if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_ANY_CONTIGUOUS) != 0) throw nb::python_error();
    readonly = true;
  }
  nb::tuple t = nb::make_tuple(reinterpret_cast<std::uintptr_t>(view.buf),
                               static_cast<Py_ssize_t>(view.len), readonly);
  PyBuffer_Release(&view);
  return t;
}

void setup(nb::handle alignment_error, nb::handle memory_order_error,
           nb::handle unsupported_width, nb::handle unsupported_op, nb::handle op_type,
           nb::handle memory_order) {
  PyObject** slots[] = {&g_types.alignment_error, &g_types.memory_order_error,
                        &g_types.unsupported_width, &g_types.unsupported_op,
                        &g_types.op_type, &g_types.memory_order};
  nb::handle values[] = {alignment_error, memory_order_error, unsupported_width,
                         unsupported_op, op_type, memory_order};
  for (std::size_t i = 0; i < 6; ++i) {
    PyObject* old = *slots[i];
    *slots[i] = Py_NewRef(values[i].ptr());  // kept for the process lifetime
    Py_XDECREF(old);
  }
}

template <class C>
void add_props(C& cls, bool integral) {
  using T = typename C::Type;
  cls.def_prop_ro("width", [](T& c) { live(c); return static_cast<int>(c.width); },
                  "Width in bytes of the object.");
  cls.def_prop_ro("readonly", [](T& c) { live(c); return c.readonly; },
                  "Whether only loads are allowed (a read-only buffer).");
  cls.def_prop_ro("ops_supported", [](T& c) { return ops_supported(c); },
                  "The sorted list of OpType values this object supports.");
  if (integral)
    cls.def_prop_ro("signed", [](T& c) { live(c); return c.is_signed; },
                    "Whether values (and arithmetic) are signed.");
}

}  // namespace

namespace interlock::py {

void init_ipc_atomics(nb::module_& m) {
  constexpr const char* kModule = "interlock.ipc";

  // ---- owned
  auto any_a = nb::class_<AnyA>(m, "Atomic", nb::type_slots(any_slots),
                                "Atomic(*, width)\n\nAn atomic object of width bytes with its own "
                                "storage (ANY: properties only, no operations).");
  any_a.def("__init__", [](AnyA* self, Py_ssize_t width) {
    new (self) AnyA();
    if (!init_owned(*self, width, Kind::any, false)) throw nb::python_error();
  }, nb::kw_only(), "width"_a);
  add_props(any_a, false);

  auto bytes_a = nb::class_<BytesA, AnyA>(m, "AtomicBytes", nb::type_slots(bytes_slots),
                                          "AtomicBytes(*, width)\n\nAtomic byte string of width "
                                          "bytes with its own storage, initially zero.");
  bytes_a.def("__init__", [](BytesA* self, Py_ssize_t width) {
    new (self) BytesA();
    if (!init_owned(*self, width, Kind::bytes, false)) throw nb::python_error();
  }, nb::kw_only(), "width"_a);

  auto integral_a = nb::class_<IntegralA, AnyA>(
      m, "AtomicIntegral", nb::type_slots(int_slots),
      "AtomicIntegral(*, width, is_signed)\n\nAtomic integer of width bytes with its own "
      "storage, initially zero; arithmetic wraps around.");
  integral_a.def("__init__", [](IntegralA* self, Py_ssize_t width, bool is_signed) {
    new (self) IntegralA();
    if (!init_owned(*self, width, Kind::integral, is_signed)) throw nb::python_error();
  }, nb::kw_only(), "width"_a, "is_signed"_a);
  add_props(integral_a, true);

  auto int_a = nb::class_<IntA, IntegralA>(m, "AtomicInt",
                                           "AtomicInt(*, width)\n\nSigned atomic integer of "
                                           "width bytes with its own storage.");
  int_a.def("__init__", [](IntA* self, Py_ssize_t width) {
    new (self) IntA();
    if (!init_owned(*self, width, Kind::integral, true)) throw nb::python_error();
  }, nb::kw_only(), "width"_a);
  auto uint_a = nb::class_<UintA, IntegralA>(m, "AtomicUint",
                                             "AtomicUint(*, width)\n\nUnsigned atomic integer of "
                                             "width bytes with its own storage.");
  uint_a.def("__init__", [](UintA* self, Py_ssize_t width) {
    new (self) UintA();
    if (!init_owned(*self, width, Kind::integral, false)) throw nb::python_error();
  }, nb::kw_only(), "width"_a);

  // ---- views (made by new_view(): no constructor)
  auto any_v = nb::class_<AnyV>(m, "AtomicView", nb::type_slots(any_slots),
                                "An atomic view of a buffer (ANY: properties only). Obtained "
                                "from AtomicViewContext.__enter__().");
  add_props(any_v, false);
  auto bytes_v = nb::class_<BytesV, AnyV>(m, "AtomicBytesView", nb::type_slots(bytes_slots),
                                          "An atomic byte-string view of a buffer.");
  auto integral_v = nb::class_<IntegralV, AnyV>(m, "AtomicIntegralView", nb::type_slots(int_slots),
                                                "An atomic integer view of a buffer.");
  add_props(integral_v, true);
  auto int_v = nb::class_<IntV, IntegralV>(m, "AtomicIntView",
                                           "A signed atomic integer view of a buffer.");
  auto uint_v = nb::class_<UintV, IntegralV>(m, "AtomicUintView",
                                             "An unsigned atomic integer view of a buffer.");
  g_view_types[0] = any_v;
  g_view_types[1] = bytes_v;
  g_view_types[2] = integral_v;
  g_view_types[3] = int_v;
  g_view_types[4] = uint_v;

  for (nb::handle cls : {nb::handle(any_a), nb::handle(bytes_a), nb::handle(integral_a),
                         nb::handle(int_a), nb::handle(uint_a), nb::handle(any_v),
                         nb::handle(bytes_v), nb::handle(integral_v), nb::handle(int_v),
                         nb::handle(uint_v)})
    set_module(cls, kModule);

  PyObject* res = PyType_FromSpec(&result_spec);
  if (!res) throw nb::python_error();
  g_result_type = reinterpret_cast<PyTypeObject*>(res);  // the module keeps it alive
  m.attr("CmpxchgResult") = nb::steal(res);

  m.def("_new_view", &new_view, "which"_a, "buffer"_a, "is_signed"_a = false,
        "An atomic view of buffer (0 ANY, 1 BYTES, 2 INTEGRAL, 3 INT, 4 UINT).");
  m.def("_release_view", [](nb::handle v) {
    if (!nb::inst_ready(v) || !nb::isinstance<AnyV>(v))
      throw nb::type_error("_release_view() takes an atomic view");
    nb::inst_ptr<AnyV>(v)->release();
  }, "view"_a, "Release a view's buffer export (idempotent).");
  m.def("_buffer_info", &buffer_info, "obj"_a, "(address, nbytes, readonly) of a buffer.");
  m.def("_setup", &setup, "Hand the Python-side exception and enum types to the extension.");
  m.def("_op_names", [] {
    nb::list out;
    for (int op = static_cast<int>(ba::kFirstOp); op <= static_cast<int>(ba::kLastOp); ++op)
      out.append(ba::op_name(static_cast<Op>(op)));
    return nb::tuple(out);
  }, "The OpType member names, in value order from 1 (the core's op enum).");
  m.def("_order_valid", [](int op, int order) {
    if (op < static_cast<int>(ba::kFirstOp) || op > static_cast<int>(ba::kLastOp) ||
        !ba::is_order_value(order))
      throw nb::value_error("not an OpType / MemoryOrder value");
    return ba::is_valid_order(static_cast<Op>(op), static_cast<ba::order>(order));
  }, "op"_a, "order"_a, "Whether order may be given to op (the core's rule).");
  m.def("_fail_order_valid", [](int fail, int succ) {
    if (!ba::is_order_value(fail) || !ba::is_order_value(succ))
      throw nb::value_error("not a MemoryOrder value");
    return ba::is_valid_fail_order(static_cast<ba::order>(fail), static_cast<ba::order>(succ));
  }, "fail"_a, "succ"_a, "Whether fail may be a cmpxchg's failure order after succ.");
  m.def("supported_widths", [] {
    nb::list out;
    for (int w : {1, 2, 4, 8, 16})
      if (ba::width_supported(static_cast<std::size_t>(w))) out.append(w);
    return nb::tuple(out);
  }, "The widths (bytes) of the lock-free buffer atomics on this CPU: 1, 2, 4, 8,\n"
     "and 16 where the CPU has cmpxchg16b (16-byte objects need writable memory).");
}

}  // namespace interlock::py
