// bindings/ipc_atomics.cpp — the buffer atomics of interlock.ipc (façade
// interlock.compat.atomics): docs/design.md "Buffer atomics". The operations
// and rules are interlock/buffer_atomic.hpp's; the seed's exceptions, enums
// and reprs are ipc/_atomics.py's (cold paths). `addr` is a cell's only
// mutable field ("Lifetime"): every operation loads it once.
#include <nanobind/nanobind.h>
#include <structmember.h>  // T_BOOL, T_OBJECT, READONLY (PyMemberDef)

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>

#include "fast_methods.hpp"
#include "interlock/buffer_atomic.hpp"
#include "module.hpp"
#include "raw_type.hpp"

namespace nb = nanobind;
namespace ilpy = interlock::py;
namespace ba = interlock::buffer_atomic;
using namespace nb::literals;
namespace raw = interlock::py::raw;

namespace {

using Op = ba::op;
using Kind = ba::kind;

// ============================================================ Python side (cold)

/// interlock.ipc._atomics.<name>.
nb::object py(const char* name) {
  return nb::module_::import_("interlock.ipc._atomics").attr(name);
}

/// Raises _atomics._error(kind, a, b, flag): the seed's exception for a failed
/// check ("op", "width", "alignment" or "order"); returns nullptr.
IL_PY_COLD PyObject* raise_seed(const char* kind, long long a, unsigned long long b = 0,
                                bool flag = false) {
  try {
    nb::object e = py("_error")(kind, a, b, flag);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(e.ptr())), e.ptr());
  } catch (nb::python_error& e) {
    e.restore();
  }
  return nullptr;
}

constexpr const char* kReleased =
    "this atomic view was released (its context was exited or released)";

// ============================================================ the cell

struct Cell {
  std::atomic<unsigned char*> addr{nullptr};  // null once a view is released
  std::uint8_t width = 0;
  Kind kind = Kind::any;
  bool readonly = false;
  bool is_signed = false;
  Py_buffer buffer{};  // a view's export (buffer.obj null for an owned cell)
  alignas(16) unsigned char storage[16] = {};

  ~Cell() { release(); }

  /// Drops the buffer export (once); later operations raise ValueError.
  void release() noexcept {
    unsigned char* p = addr.exchange(nullptr, std::memory_order_acq_rel);
    if (p && buffer.obj) PyBuffer_Release(&buffer);
  }

  /// Sets the fixed fields, then publishes the address.
  void init(std::size_t w, Kind k, bool ro, bool sign, unsigned char* p) noexcept {
    width = static_cast<std::uint8_t>(w);
    kind = k;
    readonly = ro;
    is_signed = sign;
    addr.store(p, std::memory_order_release);
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

// ============================================================ argument conversion

/// The memory order argument (omitted: SEQ_CST) into *out; false with an
/// error set.
IL_PY_INLINE bool order_arg(ilpy::passed o, ba::order* out) {
  if (!o.given()) {
    *out = ba::order::seq_cst;
    return true;
  }
  if (IL_PY_UNLIKELY(!PyLong_Check(o.obj))) {
    PyErr_Format(PyExc_TypeError, "memory order must be a MemoryOrder, not %s",
                 IL_TP_NAME(o.obj));
    return false;
  }
  const long v = PyLong_AsLong(o.obj);
  if (IL_PY_UNLIKELY(!ba::is_order_value(v))) {
    if (!(v == -1 && PyErr_Occurred()))
      PyErr_Format(PyExc_ValueError, "%ld is not a valid MemoryOrder", v);
    return false;
  }
  *out = static_cast<ba::order>(v);
  return true;
}

IL_PY_COLD bool int_range_error(const Cell& c, const char* what) {
  PyErr_Format(PyExc_OverflowError, "'%s' does not fit in a %s integer of width %d", what,
               c.is_signed ? "signed" : "unsigned", static_cast<int>(c.width));
  return false;
}

/// How integral objects convert values: a Python int (or __index__) as the
/// W-byte bits of a signed / unsigned integer; out of range: OverflowError
/// (as int.to_bytes).
struct IntVal {
  template <std::size_t W>
  static bool in(const Cell& c, PyObject* o, const char* what, ba::bits_t<W>& out) {
    nb::object index;  // o.__index__() when o is not an int
    if (IL_PY_UNLIKELY(!PyLong_Check(o))) {
      index = nb::steal(PyNumber_Index(o));
      if (!index) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "'%s' must be an int, not %s", what, IL_TP_NAME(o));
        return false;
      }
      o = index.ptr();
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
      // 16 bytes (x86-64 only: little-endian) through int.to_bytes.
      static_assert(W == 16 && std::endian::native == std::endian::little);
      try {
        nb::object b = nb::handle(o).attr("to_bytes")(W, "little", "signed"_a = c.is_signed);
        std::memcpy(&out, PyBytes_AS_STRING(b.ptr()), W);
        return true;
      } catch (nb::python_error& e) {
        if (e.matches(PyExc_OverflowError)) return int_range_error(c, what);
        e.restore();
        return false;
      }
    }
  }

  template <std::size_t W>
  static PyObject* out(const Cell& c, ba::bits_t<W> v) {
    if constexpr (W <= 8) {
      if (c.is_signed) return PyLong_FromLongLong(ba::to_signed<long long>(v));
      return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(v));
    } else {
      try {
        return nb::handle(reinterpret_cast<PyObject*>(&PyLong_Type))
            .attr("from_bytes")(nb::bytes(&v, W), "little", "signed"_a = c.is_signed)
            .release()
            .ptr();
      } catch (...) {
        return ilpy::detail::translate_current_exception();
      }
    }
  }
};

/// How byte-string objects convert values: a buffer of exactly W bytes, as
/// bits in native order.
struct BytesVal {
  template <std::size_t W>
  static bool in(const Cell&, PyObject* o, const char* what, ba::bits_t<W>& out) {
    Py_buffer view;  // bytes (the common case) is read in place
    const bool exact = PyBytes_CheckExact(o);
    if (exact) {
      view.buf = PyBytes_AS_STRING(o);
      view.len = PyBytes_GET_SIZE(o);
    } else if (PyObject_GetBuffer(o, &view, PyBUF_C_CONTIGUOUS) != 0) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "'%s' must be a bytes-like object of width %d, not %s",
                   what, static_cast<int>(W), IL_TP_NAME(o));
      return false;
    }
    const bool ok = view.len == static_cast<Py_ssize_t>(W);
    if (ok) out = ba::bits_from<W>(view.buf);
    else
      PyErr_Format(PyExc_ValueError, "'%s' length %zd does not match width %d", what, view.len,
                   static_cast<int>(W));
    if (!exact) PyBuffer_Release(&view);
    return ok;
  }

  template <std::size_t W>
  static PyObject* out(const Cell&, ba::bits_t<W> v) {
    char s[W];
    ba::bits_to<W>(s, v);
    return PyBytes_FromStringAndSize(s, W);
  }
};

// ============================================================ CmpxchgResult

// A plain C-API heap type (not nanobind's: a nanobind instance is entered
// into nanobind's pointer-to-instance map on creation, which cost a cmpxchg
// call on 3.13t a third of its time). Immutable (`expected` is set at creation
// and never null), so, as a tuple, it needs no tp_clear: a cycle through it
// always passes a mutable object the GC clears.
struct ResultObject {
  PyObject_HEAD
  PyObject* expected;
  char success;
  ~ResultObject() { Py_DECREF(expected); }
};

PyTypeObject* g_result_type = nullptr;

/// A new CmpxchgResult (steals `expected`): the cmpxchg methods' result.
PyObject* make_cmpxchg_result(bool ok, PyObject* expected) {
  auto* r = PyObject_GC_New(ResultObject, g_result_type);
  if (!r) return Py_DECREF(expected), nullptr;
  r->expected = expected;
  r->success = ok ? 1 : 0;
  PyObject_GC_Track(r);
  return reinterpret_cast<PyObject*>(r);
}

PyObject* result_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"success", "expected", nullptr};
  int ok = 0;
  PyObject* expected = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "pO:CmpxchgResult", const_cast<char**>(names),
                                   &ok, &expected))
    return nullptr;
  auto* r = reinterpret_cast<ResultObject*>(IL_TP_ALLOC(type)(type, 0));
  if (!r) return nullptr;
  r->expected = Py_NewRef(expected);
  r->success = static_cast<char>(ok);
  return reinterpret_cast<PyObject*>(r);
}

int result_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(reinterpret_cast<ResultObject*>(self)->expected);
  return 0;
}

int result_bool(PyObject* self) { return reinterpret_cast<ResultObject*>(self)->success; }

PyObject* result_iter(PyObject* self) {
  auto* r = reinterpret_cast<ResultObject*>(self);
  nb::object t = nb::steal(PyTuple_Pack(2, r->success ? Py_True : Py_False, r->expected));
  return t ? PyObject_GetIter(t.ptr()) : nullptr;
}

PyMemberDef result_members[] = {
    {"success", T_BOOL, offsetof(ResultObject, success), READONLY,
     "Whether the exchange took place."},
    {"expected", T_OBJECT, offsetof(ResultObject, expected), READONLY,
     "The value found (the original value)."},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot result_slots[] = {
    IL_SLOT(Py_tp_new, result_new),
    IL_SLOT(Py_tp_dealloc, raw::dealloc<ResultObject>),
    IL_SLOT(Py_tp_traverse, result_traverse),
    IL_SLOT(Py_tp_iter, result_iter),
    IL_SLOT(Py_nb_bool, result_bool),
    {Py_tp_members, result_members},
    {Py_tp_doc, const_cast<char*>(
                    "CmpxchgResult(success, expected)\n--\n\n"
                    "The result of cmpxchg_weak/cmpxchg_strong: success (whether the\n"
                    "exchange happened) and expected (the value found). True when it\n"
                    "succeeded; unpacks as (success, expected).")},
    {0, nullptr},
};

// ============================================================ operations

/// The bytes `op` works on and its memory order, checked (a live object that
/// supports op, a MemoryOrder valid for op); nullptr with an exception set
/// otherwise.
IL_PY_INLINE unsigned char* prepare(Cell& c, Op op, ilpy::passed order, ba::order* out) {
  unsigned char* p = c.addr.load(std::memory_order_acquire);
  if (IL_PY_UNLIKELY(!p)) {
    PyErr_SetString(PyExc_ValueError, kReleased);
    return nullptr;
  }
  if (IL_PY_UNLIKELY(!c.supports(op))) {
    raise_seed("op", static_cast<int>(op), c.width, c.readonly);
    return nullptr;
  }
  if (!order_arg(order, out)) return nullptr;
  if (IL_PY_UNLIKELY(!ba::is_valid_order(op, *out))) {
    raise_seed("order", static_cast<int>(op), static_cast<int>(*out));
    return nullptr;
  }
  return p;
}

template <class V, bool Weak>
PyObject* op_cmpxchg(Cell& c, PyObject* expected, PyObject* desired, ilpy::passed succ,
                     ilpy::passed fail) {
  constexpr Op op = Weak ? Op::cmpxchg_weak : Op::cmpxchg_strong;
  ba::order s, f;
  unsigned char* p = prepare(c, op, succ, &s);
  if (!p || !order_arg(fail, &f)) return nullptr;
  if (!ba::is_valid_fail_order(f, s)) return raise_seed("order", static_cast<int>(op), static_cast<int>(f), true);
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    ba::bits_t<W> e, d;
    if (!V::template in<W>(c, expected, "expected", e)) return nullptr;
    if (!V::template in<W>(c, desired, "desired", d)) return nullptr;
    const bool ok = ba::ops<ba::bits_t<W>>::cmpxchg(p, e, d, Weak, s, f);
    // On success the value found is `expected` (as this object's type).
    PyObject* found = V::template out<W>(c, e);
    if (!found) return nullptr;
    return make_cmpxchg_result(ok, found);
  });
}

/// Bit op O (bit_test, bit_test_set, ...) on bit `index`: its previous state.
template <Op O>
PyObject* op_bit(Cell& c, PyObject* index, ilpy::passed order) {
  ba::order mo;
  unsigned char* p = prepare(c, O, order, &mo);
  if (!p) return nullptr;
  if (!PyLong_Check(index)) {
    PyErr_Format(PyExc_TypeError, "'index' must be an int, not %s", IL_TP_NAME(index));
    return nullptr;
  }
  int overflow = 0;
  const long long i = PyLong_AsLongLongAndOverflow(index, &overflow);
  if (i == -1 && PyErr_Occurred()) return nullptr;
  if (overflow || !ba::is_bit_index(i, c.width)) {
    PyErr_SetString(PyExc_ValueError, "'index' value out of range");
    return nullptr;
  }
  return PyBool_FromLong(ba::with_width(c.width, [&](auto W) {
    return ba::bit<O, ba::bits_t<W>>(p, static_cast<unsigned>(i), mo);
  }));
}

/// Value op O (load, store, exchange, a read-modify-write) with operand
/// `value` (null when O takes none): the value found for load, exchange and
/// the fetch_ ops, else None.
template <class V, Op O>
PyObject* op_value(Cell& c, PyObject* value, ilpy::passed order) {
  ba::order mo;
  unsigned char* p = prepare(c, O, order, &mo);
  if (!p) return nullptr;
  return ba::with_width(c.width, [&](auto W) -> PyObject* {
    using U = ba::bits_t<W>;
    U v{};
    if constexpr (ba::takes_operand(O))
      if (!V::template in<W>(c, value, O <= Op::exchange ? "desired" : "value", v)) return nullptr;
    const U found = ba::apply<O, U>(p, v, mo);
    if constexpr (ba::returns_value(O)) return V::template out<W>(c, found);
    (void)found;
    Py_RETURN_NONE;
  });
}

template <class V, Op O>
PyObject* op_unary(Cell& c, ilpy::passed order) {
  return op_value<V, O>(c, nullptr, order);
}

// ============================================================ properties, repr

unsigned char* live(Cell& c) {
  unsigned char* p = c.addr.load(std::memory_order_acquire);
  if (!p) throw nb::value_error(kReleased);
  return p;
}

nb::object ops_supported(Cell& c) {
  live(c);
  nb::object op_type = py("OpType");
  nb::list out;
  for (int op = static_cast<int>(ba::kFirstOp); op <= static_cast<int>(ba::kLastOp); ++op)
    if (c.supports(static_cast<Op>(op))) out.append(op_type(op));
  return out;
}

PyObject* cell_int(PyObject* self) {
  if (!nb::inst_ready(self)) return ilpy::detail::raise_not_ready(self, "__int__");
  return op_unary<IntVal, Op::load>(*nb::inst_ptr<Cell>(self), {});
}

PyObject* bytes_dunder(Cell& c) { return op_unary<BytesVal, Op::load>(c, {}); }

// ============================================================ method tables

// One entry per method, named in the text signature; IL_RMW2 also declares
// the op's fetch_ twin (same arguments, returns the previous value) and
// IL_BIT2 the atomics package's second name of a bit op.
#define IL_ORDER "order=MemoryOrder.SEQ_CST)"
#define IL_M(F, SIG, DOC) ilpy::method<&F, SIG, DOC>()
#define IL_RMW(V, F, O, NAME, ARG, DOC) IL_M((F<V, O>), NAME "($self, " ARG IL_ORDER, DOC)
#define IL_RMW2(V, F, O, NAME, FNAME, ARG, DOC)           \
  IL_RMW(V, F, Op::O, NAME, ARG, DOC ", atomically."),    \
      IL_RMW(V, F, ba::fetching(Op::O), FNAME, ARG, DOC "; return the previous value.")
#define IL_BIT(O, NAME, DOC) IL_M(op_bit<Op::O>, NAME "($self, index, " IL_ORDER, DOC)
#define IL_BIT2(O, NAME, ALIAS, DOC) \
  IL_BIT(O, NAME, DOC), IL_BIT(O, ALIAS, "The atomics package's name of " NAME ".")
#define IL_CMPXCHG(V, WEAK, NAME, SUCC, FAIL, DOC)                                      \
  IL_M((op_cmpxchg<V, WEAK>),                                                           \
       NAME "($self, expected, desired, " SUCC "=MemoryOrder.SEQ_CST, " FAIL "=MemoryOrder.SEQ_CST)", \
       "If the value is expected, replace it by desired" DOC)

#define IL_COMMON_METHODS(V, SUCC, FAIL)                                                        \
  IL_RMW(V, op_unary, Op::load, "load", "", "Atomically read the value."),                     \
      IL_RMW(V, op_value, Op::store, "store", "desired, ", "Atomically write desired."),       \
      IL_RMW(V, op_value, Op::exchange, "exchange", "desired, ",                               \
             "Atomically write desired; return the previous value."),                          \
      IL_CMPXCHG(V, true, "cmpxchg_weak", SUCC, FAIL,                                          \
                 " (may fail spuriously);\nreturn CmpxchgResult(success, value found)."),      \
      IL_CMPXCHG(V, false, "cmpxchg_strong", SUCC, FAIL,                                       \
                 "; return\nCmpxchgResult(success, value found)."),                            \
      IL_BIT(bit_test, "bit_test", "Return bit index (0 = least significant) of the value."), \
      IL_BIT2(bit_test_compl, "bit_compl", "bit_test_compl", "Flip bit index; return its previous state."), \
      IL_BIT2(bit_test_set, "bit_set", "bit_test_set", "Set bit index; return its previous state."),      \
      IL_BIT2(bit_test_reset, "bit_reset", "bit_test_reset", "Clear bit index; return its previous state."), \
      IL_RMW2(V, op_value, or_, "bin_or", "bin_fetch_or", "value, ", "value |= operand"),        \
      IL_RMW2(V, op_value, xor_, "bin_xor", "bin_fetch_xor", "value, ", "value ^= operand"),     \
      IL_RMW2(V, op_value, and_, "bin_and", "bin_fetch_and", "value, ", "value &= operand"),     \
      IL_RMW2(V, op_unary, not_, "bin_not", "bin_fetch_not", "", "Invert every bit")

PyMethodDef bytes_methods[] = {
    IL_COMMON_METHODS(BytesVal, "succ", "fail"),
    IL_M(bytes_dunder, "__bytes__($self, /)", "The value (load())."),
    ilpy::methods_end,
};

PyMethodDef int_methods[] = {
    IL_COMMON_METHODS(IntVal, "success", "failure"),
    IL_RMW2(IntVal, op_value, add, "add", "fetch_add", "value, ", "Add value (wrapping around)"),
    IL_RMW2(IntVal, op_value, sub, "sub", "fetch_sub", "value, ", "Subtract value (wrapping around)"),
    IL_RMW2(IntVal, op_unary, inc, "inc", "fetch_inc", "", "Add one (wrapping around)"),
    IL_RMW2(IntVal, op_unary, dec, "dec", "fetch_dec", "", "Subtract one (wrapping around)"),
    IL_RMW2(IntVal, op_unary, neg, "neg", "fetch_neg", "", "Negate (wrapping around)"),
    ilpy::methods_end,
};

PyType_Slot no_slots[] = {{0, nullptr}};
PyType_Slot bytes_slots[] = {{Py_tp_methods, bytes_methods}, {0, nullptr}};
PyType_Slot int_slots[] = {
    {Py_tp_methods, int_methods},
    {Py_nb_int, reinterpret_cast<void*>(&cell_int)},
    {0, nullptr},
};

// ============================================================ construction

/// Exports `obj` writable if it can be, else read-only (returned).
/// TypeError / BufferError if it exports no contiguous buffer.
bool export_any(PyObject* obj, Py_buffer* view) {
  if (PyObject_GetBuffer(obj, view, PyBUF_ANY_CONTIGUOUS | PyBUF_WRITABLE) == 0) return false;
  PyErr_Clear();
  if (PyObject_GetBuffer(obj, view, PyBUF_ANY_CONTIGUOUS) != 0) throw nb::python_error();
  return true;
}

/// Whether an object of `width` bytes at p (read-only or not) may be made;
/// else raises the seed's UnsupportedWidthException / AlignmentError.
bool can_make(std::size_t width, bool readonly, const void* p) {
  if (!(readonly ? ba::width_supported_readonly(width) : ba::width_supported(width)))
    return raise_seed("width", static_cast<long long>(width), 0, readonly);
  if (!ba::is_aligned(p, width))
    return raise_seed("alignment", static_cast<long long>(width),
                      reinterpret_cast<std::uintptr_t>(p), true);
  return true;
}

/// An owned cell (storage inside the object, initially zero).
template <class T, Kind K, int Sign>
void owned_init(T* self, Py_ssize_t width, bool is_signed) {
  if (!can_make(static_cast<std::size_t>(width < 0 ? 0 : width), false, self->storage))
    throw nb::python_error();
  new (self) T();
  self->init(static_cast<std::size_t>(width), K, false, Sign < 0 ? is_signed : Sign > 0,
             self->storage);
}

/// A view of `buffer` (class T): exports it (writable if it can be, else
/// read-only), checks width and alignment. Raises TypeError / BufferError,
/// UnsupportedWidthException, AlignmentError.
template <class T, Kind K, int Sign>
nb::object make_view(nb::handle buffer, bool is_signed) {
  if (!PyObject_CheckBuffer(buffer.ptr())) {
    PyErr_Format(PyExc_TypeError, "'buffer' must support the buffer protocol, not %s",
                 IL_TP_NAME(buffer.ptr()));
    throw nb::python_error();
  }
  nb::object obj = nb::inst_alloc(nb::type<T>());
  T* c = new (nb::inst_ptr<T>(obj)) T();
  nb::inst_mark_ready(obj);  // an error below drops obj (~T: no export to release)
  const bool readonly = export_any(buffer.ptr(), &c->buffer);
  const auto width = static_cast<std::size_t>(c->buffer.len);
  if (!can_make(width, readonly, c->buffer.buf)) {
    PyBuffer_Release(&c->buffer);
    throw nb::python_error();
  }
  c->init(width, K, readonly, Sign < 0 ? is_signed : Sign > 0,
          static_cast<unsigned char*>(c->buffer.buf));
  return obj;
}

nb::tuple buffer_info(nb::handle obj) {
  Py_buffer view;
  const bool readonly = export_any(obj.ptr(), &view);
  nb::tuple t = nb::make_tuple(reinterpret_cast<std::uintptr_t>(view.buf),
                               static_cast<Py_ssize_t>(view.len), readonly);
  PyBuffer_Release(&view);
  return t;
}

/// The core's tables for _atomics.py: the OpType names (from 1), the valid
/// (op, order) and (fail, succ) pairs, the supported widths.
nb::tuple tables() {
  nb::list names, orders, fail_orders, widths;
  for (int op = static_cast<int>(ba::kFirstOp); op <= static_cast<int>(ba::kLastOp); ++op) {
    names.append(ba::op_name(static_cast<Op>(op)));
    for (ba::order o : ba::kOrders)
      if (ba::is_valid_order(static_cast<Op>(op), o)) orders.append(nb::make_tuple(op, int(o)));
  }
  for (ba::order f : ba::kOrders)
    for (ba::order o : ba::kOrders)
      if (ba::is_valid_fail_order(f, o)) fail_orders.append(nb::make_tuple(int(f), int(o)));
  for (std::size_t w = 1; w <= 16; w *= 2)
    if (ba::width_supported(w)) widths.append(w);
  return nb::make_tuple(nb::tuple(names), orders, fail_orders, nb::tuple(widths));
}

/// Python class T (under Base) of kind K. Owned classes get __init__(*,
/// width), plus is_signed if Sign < 0 (else signed iff Sign > 0: views take
/// it the same way); the roots get the properties, the integral ones signed.
template <class T, class Base, Kind K, int Sign = 0>
void def_class(nb::module_& m, const char* name, PyType_Slot* slots) {
  auto cls = [&] {
    if constexpr (std::is_void_v<Base>) return nb::class_<T>(m, name, nb::type_slots(slots));
    else return nb::class_<T, Base>(m, name, nb::type_slots(slots));
  }();
  if constexpr (std::is_base_of_v<AnyA, T> && Sign < 0)
    cls.def("__init__", &owned_init<T, K, Sign>, nb::kw_only(), "width"_a, "is_signed"_a);
  else if constexpr (std::is_base_of_v<AnyA, T>)
    cls.def("__init__", [](T* self, Py_ssize_t width) { owned_init<T, K, Sign>(self, width, false); },
            nb::kw_only(), "width"_a);
  if constexpr (std::is_void_v<Base>) {
    cls.def("__repr__", [](nb::handle self) {
      return nb::str(py("_repr")(self, nb::inst_ready(self)));
    });
    cls.def_prop_ro("width", [](T& c) { live(c); return static_cast<int>(c.width); },
                    "Width in bytes of the object.");
    cls.def_prop_ro("readonly", [](T& c) { live(c); return c.readonly; },
                    "Whether only loads are allowed (a read-only buffer).");
    cls.def_prop_ro("ops_supported", [](T& c) { return ops_supported(c); },
                    "The sorted list of OpType values this object supports.");
  }
  if constexpr (std::is_same_v<T, AnyV>)
    cls.def("_release", [](T& c) { c.release(); }, "Release the buffer export (idempotent).");
  if constexpr (K == Kind::integral && Sign < 0)
    cls.def_prop_ro("signed", [](T& c) { live(c); return c.is_signed; },
                    "Whether values (and arithmetic) are signed.");
  ilpy::set_module(cls, "interlock.ipc");  // last: methods keep the extension's module
}

}  // namespace

namespace interlock::py {

void init_ipc_atomics(nb::module_& m) {
  // The class documentation: ipc/_atomics.py. Views are made by _new_view().
  def_class<AnyA, void, Kind::any>(m, "Atomic", no_slots);
  def_class<BytesA, AnyA, Kind::bytes>(m, "AtomicBytes", bytes_slots);
  def_class<IntegralA, AnyA, Kind::integral, -1>(m, "AtomicIntegral", int_slots);
  def_class<IntA, IntegralA, Kind::integral, 1>(m, "AtomicInt", no_slots);
  def_class<UintA, IntegralA, Kind::integral>(m, "AtomicUint", no_slots);
  def_class<AnyV, void, Kind::any>(m, "AtomicView", no_slots);
  def_class<BytesV, AnyV, Kind::bytes>(m, "AtomicBytesView", bytes_slots);
  def_class<IntegralV, AnyV, Kind::integral, -1>(m, "AtomicIntegralView", int_slots);
  def_class<IntV, IntegralV, Kind::integral, 1>(m, "AtomicIntView", no_slots);
  def_class<UintV, IntegralV, Kind::integral>(m, "AtomicUintView", no_slots);

  g_result_type = raw::add_type<ResultObject>(m, "interlock.ipc.CmpxchgResult", result_slots,
                                              Py_TPFLAGS_BASETYPE);

  m.def("_new_view", [](int which, nb::handle buffer, bool is_signed) {
    using Make = nb::object (*)(nb::handle, bool);
    static constexpr Make make[] = {
        make_view<AnyV, Kind::any, 0>, make_view<BytesV, Kind::bytes, 0>,
        make_view<IntegralV, Kind::integral, -1>, make_view<IntV, Kind::integral, 1>,
        make_view<UintV, Kind::integral, 0>};
    if (which < 0 || which > 4) throw nb::value_error("unknown atomic view kind");
    return make[which](buffer, is_signed);
  }, "which"_a, "buffer"_a, "is_signed"_a = false,
        "An atomic view of buffer (0 ANY, 1 BYTES, 2 INTEGRAL, 3 INT, 4 UINT).");
  m.def("_buffer_info", &buffer_info, "obj"_a, "(address, nbytes, readonly) of a buffer.");
  m.def("_tables", &tables, "The core's tables (OpType names, valid orders, widths).");
}

}  // namespace interlock::py
