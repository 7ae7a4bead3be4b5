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
// the owned (Atomic*) and view (Atomic*View) classes of a kind. Every method
// is one template instantiated per op (the core's apply<op> / bit<op>) and per
// value kind (IntVal / BytesVal); the tables below only name them.
//
// Threading: width/readonly/signed are fixed at construction. `addr` is the
// only mutable field: a view's release() exchanges it with null (exactly one
// caller then releases the buffer export); every operation loads it once and
// raises ValueError when it is null. Nothing relies on the GIL. Releasing a
// view while another thread is inside an operation on it is the caller's race
// (the seed's contract: the buffer must stay valid until release()); on
// GIL builds it cannot happen, since an operation never releases the GIL.
#include <nanobind/nanobind.h>
#include <structmember.h>  // T_BOOL, T_OBJECT, READONLY (PyMemberDef)

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

/// Raises type(*args, **{kw: flag}) (args: a new tuple, or null with an
/// error set); returns nullptr.
IL_PY_COLD PyObject* raise_call(PyObject* type, PyObject* args, const char* kw, bool flag) {
  if (!type || !args) {
    Py_XDECREF(args);
    return type ? nullptr : raise_not_setup();
  }
  PyObject* kwargs = Py_BuildValue("{s:O}", kw, flag ? Py_True : Py_False);
  PyObject* exc = kwargs ? PyObject_Call(type, args, kwargs) : nullptr;
  Py_DECREF(args);
  Py_XDECREF(kwargs);
  if (exc) PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_XDECREF(exc);
  return nullptr;
}

/// type(v): an OpType / MemoryOrder member (a new reference; null with an error set).
IL_PY_COLD PyObject* enum_of(PyObject* type, int v) {
  if (!type) return raise_not_setup();
  return PyObject_CallFunction(type, "i", v);
}

// Py_BuildValue's "N" steals its object and fails (freeing the others) on null.
IL_PY_COLD PyObject* raise_unsupported_op(Op op, std::size_t width, bool readonly) {
  return raise_call(g_types.unsupported_op,
                    Py_BuildValue("(Nn)", enum_of(g_types.op_type, static_cast<int>(op)),
                                  (Py_ssize_t)width),
                    "readonly", readonly);
}

IL_PY_COLD PyObject* raise_unsupported_width(std::size_t width, bool readonly) {
  return raise_call(g_types.unsupported_width, Py_BuildValue("(n)", (Py_ssize_t)width),
                    "readonly", readonly);
}

IL_PY_COLD PyObject* raise_alignment(std::size_t width, std::uintptr_t address) {
  return raise_call(g_types.alignment_error,
                    Py_BuildValue("(nK)", (Py_ssize_t)width, (unsigned long long)address),
                    "using_recommended", true);
}

IL_PY_COLD PyObject* raise_memory_order(Op op, int order, bool is_fail) {
  return raise_call(g_types.memory_order_error,
                    Py_BuildValue("(NN)", enum_of(g_types.op_type, static_cast<int>(op)),
                                  enum_of(g_types.memory_order, order)),
                    "is_fail", is_fail);
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
  static PyObject* out(const Cell& c, ba::bits_t<W> v) {
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
};

/// How byte-string objects convert values: a buffer of exactly W bytes, as
/// bits in native order.
struct BytesVal {
  template <std::size_t W>
  static bool in(const Cell&, PyObject* o, const char* what, ba::bits_t<W>& out) {
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
      PyErr_Format(PyExc_TypeError, "'%s' must be a bytes-like object of width %d, not %s",
                   what, static_cast<int>(W), IL_TP_NAME(o));
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
  static PyObject* out(const Cell&, ba::bits_t<W> v) {
    char s[W];
    ba::bits_to<W>(s, v);
    return PyBytes_FromStringAndSize(s, W);
  }
};

// ============================================================ operations

/// The bytes `op` works on and its memory order, checked (a live object that
/// supports op, a MemoryOrder valid for op); nullptr with an exception set
/// otherwise.
IL_PY_INLINE unsigned char* prepare(Cell& c, Op op, ilpy::passed order, ba::order* out) {
  unsigned char* p = c.addr.load(std::memory_order_acquire);
  if (IL_PY_UNLIKELY(!p)) {
    raise_released();
    return nullptr;
  }
  if (IL_PY_UNLIKELY(!c.supports(op))) {
    raise_unsupported_op(op, c.width, c.readonly);
    return nullptr;
  }
  if (!order_arg(order, out)) return nullptr;
  if (IL_PY_UNLIKELY(!ba::is_valid_order(op, *out))) {
    raise_memory_order(op, static_cast<int>(*out), false);
    return nullptr;
  }
  return p;
}

PyObject* make_cmpxchg_result(bool ok, PyObject* expected);

template <class V, bool Weak>
PyObject* op_cmpxchg(Cell& c, PyObject* expected, PyObject* desired, ilpy::passed succ,
                     ilpy::passed fail) {
  constexpr Op op = Weak ? Op::cmpxchg_weak : Op::cmpxchg_strong;
  ba::order s, f;
  unsigned char* p = prepare(c, op, succ, &s);
  if (!p || !order_arg(fail, &f)) return nullptr;
  if (!ba::is_valid_fail_order(f, s)) return raise_memory_order(op, static_cast<int>(f), true);
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
  PyObject* v = c.kind == Kind::bytes ? op_unary<BytesVal, Op::load>(c, {}) : op_unary<IntVal, Op::load>(c, {});
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
  return op_unary<IntVal, Op::load>(*nb::inst_ptr<Cell>(self), {});
}

PyObject* bytes_dunder(Cell& c) { return op_unary<BytesVal, Op::load>(c, {}); }

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

PyMemberDef result_members[] = {
    {"success", T_BOOL, offsetof(ResultObject, success), READONLY,
     "Whether the exchange took place."},
    {"expected", T_OBJECT, offsetof(ResultObject, expected), READONLY,
     "The value found (the original value)."},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot result_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(&result_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(&result_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(&result_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(&result_clear)},
    {Py_tp_repr, reinterpret_cast<void*>(&result_repr)},
    {Py_tp_iter, reinterpret_cast<void*>(&result_iter)},
    {Py_nb_bool, reinterpret_cast<void*>(&result_bool)},
    {Py_tp_members, result_members},
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

/// Exports `obj` writable if it can be, else read-only (returned).
/// TypeError / BufferError if it exports no contiguous buffer.
bool export_any(PyObject* obj, Py_buffer* view) {
  if (PyObject_GetBuffer(obj, view, PyBUF_ANY_CONTIGUOUS | PyBUF_WRITABLE) == 0) return false;
  PyErr_Clear();
  if (PyObject_GetBuffer(obj, view, PyBUF_ANY_CONTIGUOUS) != 0) throw nb::python_error();
  return true;
}

/// An owned cell (storage inside the object, initially zero).
template <class T>
void owned_init(T* self, Py_ssize_t width, Kind kind, bool is_signed) {
  if (width < 0 || !ba::width_supported(static_cast<std::size_t>(width))) {
    raise_unsupported_width(static_cast<std::size_t>(width < 0 ? 0 : width), false);
    throw nb::python_error();
  }
  new (self) T();
  self->init(static_cast<std::size_t>(width), kind, false, is_signed, self->storage);
}

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
  const bool readonly = export_any(buffer, &view);
  const auto width = static_cast<std::size_t>(view.len);
  if (!(readonly ? ba::width_supported_readonly(width) : ba::width_supported(width))) {
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
  c->buffer = view;
  c->has_buffer = true;
  c->init(width, kind, readonly, is_signed, static_cast<unsigned char*>(view.buf));
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
  const bool readonly = export_any(obj.ptr(), &view);
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

PyType_Slot no_slots[] = {{0, nullptr}};

/// A class of kind K: owned ones (HasInit) get __init__(*, width) (Sign 0 /
/// 1) or __init__(*, width, is_signed) (Sign -1); the roots of a family
/// (Props) get the properties.
template <class T, class Base, Kind K, int Sign, bool HasInit, bool Props>
nb::handle def_class(nb::module_& m, const char* name, PyType_Slot* slots, const char* doc) {
  auto cls = [&] {
    if constexpr (std::is_void_v<Base>) return nb::class_<T>(m, name, nb::type_slots(slots), doc);
    else return nb::class_<T, Base>(m, name, nb::type_slots(slots), doc);
  }();
  if constexpr (HasInit && Sign < 0)
    cls.def("__init__", [](T* self, Py_ssize_t width, bool is_signed) {
      owned_init(self, width, K, is_signed);
    }, nb::kw_only(), "width"_a, "is_signed"_a);
  else if constexpr (HasInit)
    cls.def("__init__", [](T* self, Py_ssize_t width) { owned_init(self, width, K, Sign > 0); },
            nb::kw_only(), "width"_a);
  if constexpr (Props) {
    cls.def_prop_ro("width", [](T& c) { live(c); return static_cast<int>(c.width); },
                    "Width in bytes of the object.");
    cls.def_prop_ro("readonly", [](T& c) { live(c); return c.readonly; },
                    "Whether only loads are allowed (a read-only buffer).");
    cls.def_prop_ro("ops_supported", [](T& c) { return ops_supported(c); },
                    "The sorted list of OpType values this object supports.");
    if constexpr (K == Kind::integral)
      cls.def_prop_ro("signed", [](T& c) { live(c); return c.is_signed; },
                      "Whether values (and arithmetic) are signed.");
  }
  return cls;
}

}  // namespace

namespace interlock::py {

void init_ipc_atomics(nb::module_& m) {
  nb::handle classes[] = {
      // ---- owned
      def_class<AnyA, void, Kind::any, 0, true, true>(
          m, "Atomic", any_slots,
          "Atomic(*, width)\n\nAn atomic object of width bytes with its own storage (ANY: "
          "properties only, no operations)."),
      def_class<BytesA, AnyA, Kind::bytes, 0, true, false>(
          m, "AtomicBytes", bytes_slots,
          "AtomicBytes(*, width)\n\nAtomic byte string of width bytes with its own storage, "
          "initially zero."),
      def_class<IntegralA, AnyA, Kind::integral, -1, true, true>(
          m, "AtomicIntegral", int_slots,
          "AtomicIntegral(*, width, is_signed)\n\nAtomic integer of width bytes with its own "
          "storage, initially zero; arithmetic wraps around."),
      def_class<IntA, IntegralA, Kind::integral, 1, true, false>(
          m, "AtomicInt", no_slots,
          "AtomicInt(*, width)\n\nSigned atomic integer of width bytes with its own storage."),
      def_class<UintA, IntegralA, Kind::integral, 0, true, false>(
          m, "AtomicUint", no_slots,
          "AtomicUint(*, width)\n\nUnsigned atomic integer of width bytes with its own storage."),
      // ---- views (made by new_view(): no constructor)
      g_view_types[0] = def_class<AnyV, void, Kind::any, 0, false, true>(
          m, "AtomicView", any_slots,
          "An atomic view of a buffer (ANY: properties only). Obtained from "
          "AtomicViewContext.__enter__()."),
      g_view_types[1] = def_class<BytesV, AnyV, Kind::bytes, 0, false, false>(
          m, "AtomicBytesView", bytes_slots, "An atomic byte-string view of a buffer."),
      g_view_types[2] = def_class<IntegralV, AnyV, Kind::integral, 0, false, true>(
          m, "AtomicIntegralView", int_slots, "An atomic integer view of a buffer."),
      g_view_types[3] = def_class<IntV, IntegralV, Kind::integral, 0, false, false>(
          m, "AtomicIntView", no_slots, "A signed atomic integer view of a buffer."),
      g_view_types[4] = def_class<UintV, IntegralV, Kind::integral, 0, false, false>(
          m, "AtomicUintView", no_slots, "An unsigned atomic integer view of a buffer."),
  };
  for (nb::handle cls : classes) set_module(cls, "interlock.ipc");

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
