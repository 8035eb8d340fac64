# cython: language_level=3, boundscheck=False, wraparound=False, nonecheck=True
# cython: auto_pickle=False, embedsignature=False
"""Compiled hot path of `polymarket_bot.core.book` (the market-data ingest path).

`book.py` is the source of truth: its pure-Python `_Book` methods and `_PyChangeApplier` are the
reference, and this module only repeats, in C, the common case of the
few calls made per WS frame:

* `BookState`: the book's hot fields as typed C fields (best prices as C integers, the sides as
  dicts keyed by small ints from a table made once), and `apply_level`, `apply_wire_snapshot`,
  `check_wire_top`. `OrderBook` inherits from it when this module is built.
* `ChangeApplier`: a `price_change` message's entry loop and top-of-book checks.

Prices are parsed here only in their plain spellings (`[01]?(.d{0,4})?` with at least one digit,
value <= 1, as the venue sends them); a size is looked at by its first character (1-9: a level to
keep, unvalidated, as in the reference; exactly "0": remove). Anything else (other spellings,
garbage, Decimals, non-str objects, unusual containers) is handed to the reference method, which
decides, validates and raises exactly as in pure Python. Property tests (tests/core/
test_book_kernel.py) run random streams through both and compare.

`API` must match `book._KERNEL_API`, or `book.py` ignores this module (a build of an older source).
"""

from cpython.object cimport PyObject
from cpython.list cimport PyList_GET_ITEM
from cpython.ref cimport Py_INCREF, Py_XDECREF

cdef extern from "Python.h":
    PyObject* PyDict_GetItemWithError(object p, object key) except? NULL
    int PyDict_SetItem(object p, object key, object val) except -1
    int PyDict_DelItem(object p, object key) except -1
    int PyDict_Contains(object p, object key) except -1
    bint PyDict_Next(object p, Py_ssize_t* ppos, PyObject** pkey, PyObject** pvalue)
    Py_ssize_t PyDict_GET_SIZE(object p)
    bint PyUnicode_CheckExact(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index)
    long long PyLong_AsLongLong(object o) except? -1

cdef extern from *:
    """
    #include <structmember.h>
    /* Where a struct type keeps some fields: msgspec structs (and __slots__ classes) store them
       as object pointers at fixed offsets behind member descriptors. Learnt once per type and
       used only for objects of exactly that type, so a read is what getattr() would return. */
    typedef struct { PyObject *tp; Py_ssize_t off[6]; } pm_shape;

    static int pm_learn(pm_shape *shape, PyObject *obj, PyObject *names) {
        PyTypeObject *tp = Py_TYPE(obj);
        Py_ssize_t off[6], i, n = PyTuple_GET_SIZE(names);
        if (n > 6 || tp->tp_getattro != PyObject_GenericGetAttr) return 0;
        for (i = 0; i < n; i++) {
            PyObject *d = _PyType_Lookup(tp, PyTuple_GET_ITEM(names, i));  /* borrowed */
            PyMemberDef *m;
            if (d == NULL || Py_TYPE(d) != &PyMemberDescr_Type) return 0;
            m = ((PyMemberDescrObject *)d)->d_member;
            if (m->type != T_OBJECT_EX) return 0;
            off[i] = m->offset;
        }
        Py_INCREF(tp);
        Py_XDECREF(shape->tp);
        shape->tp = (PyObject *)tp;
        memcpy(shape->off, off, sizeof(off));
        return 1;
    }

    /* A dict sized for n items (no resize while a snapshot side is filled). */
    static PyObject *pm_new_dict(Py_ssize_t n) {
    #if PY_VERSION_HEX < 0x030D0000
        return _PyDict_NewPresized(n);
    #else
        return PyDict_New();
    #endif
    }

    /* The field, borrowed; NULL when obj is not of the learnt type or the field is unset. */
    static inline PyObject *pm_get(pm_shape *shape, PyObject *obj, int i) {
        if ((PyObject *)Py_TYPE(obj) != shape->tp) return NULL;
        return *(PyObject **)((char *)obj + shape->off[i]);
    }
    """
    ctypedef struct pm_shape:
        PyObject* tp
    int pm_learn(pm_shape* shape, PyObject* obj, PyObject* names)
    dict pm_new_dict(Py_ssize_t n)
    PyObject* pm_get(pm_shape* shape, PyObject* obj, int i)

API = 1

cdef enum:
    SCALE = 10000
    NTOUCH = 8  # books a price_change message touches, kept without a list (2 in practice)

# the cached-best sentinels of book.py (_NO_BID, _NO_ASK, _BID_DIRTY, _ASK_DIRTY)
cdef long long NO_BID = -1
cdef long long NO_ASK = SCALE + 1
cdef long long BID_DIRTY = 1LL << 40
cdef long long ASK_DIRTY = -(1LL << 40)

cdef list _UNITS = list(range(SCALE + 1))  # price units as Python ints, made once

# Set by `bind` (book.py, at import): the reference and the objects the hot path returns.
cdef object _Ref = None
cdef object _price_units = None
cdef object _CROSSED = None
cdef object _MISMATCH = None
cdef object _BUY = None

cdef unsigned long long _generation = 0

# field reads of decoded wire structs (see pm_learn): price_change entries, snapshot levels
cdef pm_shape _ENTRY
cdef tuple _ENTRY_FIELDS = ("asset_id", "price", "size", "side", "best_bid", "best_ask")
cdef enum:
    F_ASSET = 0
    F_PRICE = 1
    F_SIZE = 2
    F_SIDE = 3
    F_BEST_BID = 4
    F_BEST_ASK = 5
cdef pm_shape _LEVEL
cdef tuple _LEVEL_FIELDS = ("price", "size")


cdef inline object _field(pm_shape* shape, object obj, int i, tuple names):
    """getattr(obj, names[i]), read straight from the object when its type was learnt."""
    cdef PyObject* value = pm_get(shape, <PyObject*>obj, i)
    if value is not NULL:
        return <object>value
    return getattr(obj, <str>names[i])


cdef inline void _learn(pm_shape* shape, object obj, tuple names) noexcept:
    cdef object tp = type(obj)
    if <PyObject*>tp != shape.tp:
        pm_learn(shape, <PyObject*>obj, <PyObject*>names)


def learnt_types():
    """The struct types whose fields are read at their offsets (price_change entry, snapshot
    level), None before one was seen: lets a test notice if msgspec's layout stops fitting."""
    return (
        <object>_ENTRY.tp if _ENTRY.tp is not NULL else None,
        <object>_LEVEL.tp if _LEVEL.tp is not NULL else None,
    )


def bind(reference, price_units, crossed, mismatch, buy):
    """Called once by book.py: the pure-Python `_Book` class (the fallback for anything unusual),
    `price_units`, `DesyncReason.CROSSED`, `DesyncReason.TOP_MISMATCH` and `Side.BUY`."""
    global _Ref, _price_units, _CROSSED, _MISMATCH, _BUY
    _Ref, _price_units, _CROSSED, _MISMATCH, _BUY = reference, price_units, crossed, mismatch, buy


cdef inline long long _units(object s) noexcept:
    """Price units of a plain spelling ("0.5", "0.512", ".5", "1", "0", "1.0000"), or -1 for
    anything else (the reference parses it, or rejects it)."""
    cdef Py_ssize_t n, i = 0
    cdef int kind, nfrac
    cdef void* data
    cdef Py_UCS4 c
    cdef long long whole = 0, frac = 0
    cdef bint digits = False
    if not PyUnicode_CheckExact(s):
        return -1
    n = PyUnicode_GET_LENGTH(s)
    if n == 0 or n > 6:
        return -1
    kind = PyUnicode_KIND(s)
    data = PyUnicode_DATA(s)
    c = PyUnicode_READ(kind, data, 0)
    if c == u'0' or c == u'1':
        whole = <int>c - 48
        digits = True
        i = 1
    if i < n:
        if PyUnicode_READ(kind, data, i) != u'.':
            return -1
        i += 1
        nfrac = <int>(n - i)
        if nfrac > 4:
            return -1
        while i < n:
            c = PyUnicode_READ(kind, data, i)
            if c < u'0' or c > u'9':
                return -1
            frac = frac * 10 + (<int>c - 48)
            digits = True
            i += 1
        while nfrac < 4:
            frac *= 10
            nfrac += 1
    if not digits or whole * SCALE + frac > SCALE:
        return -1
    return whole * SCALE + frac


cdef inline long long _price(object s) except -1:
    """Price units of any spelling the reference accepts (InvalidValueError otherwise)."""
    cdef long long units = _units(s)
    if units >= 0:
        return units
    return _price_units(s)


cdef inline int _size_kind(object s) noexcept:
    """1: a size starting with 1-9 (kept, unvalidated); 0: exactly "0"; -1: anything else."""
    cdef Py_UCS4 c
    if not PyUnicode_CheckExact(s) or PyUnicode_GET_LENGTH(s) == 0:
        return -1
    c = PyUnicode_READ(PyUnicode_KIND(s), PyUnicode_DATA(s), 0)
    if u'1' <= c <= u'9':
        return 1
    if c == u'0' and PyUnicode_GET_LENGTH(s) == 1:
        return 0
    return -1


cdef inline bint _truthy(object value) except -1:
    if value is None:
        return False
    if PyUnicode_CheckExact(value):
        return PyUnicode_GET_LENGTH(value) != 0
    return bool(value)


cdef long long _extreme(dict side, bint highest) except? -2:
    """max/min key of a non-empty side."""
    cdef Py_ssize_t pos = 0
    cdef PyObject* key
    cdef PyObject* value
    cdef long long k, best = NO_BID if highest else NO_ASK
    cdef bint first = True
    while PyDict_Next(side, &pos, &key, &value):
        k = PyLong_AsLongLong(<object>key)
        if first or (k > best if highest else k < best):
            best = k
            first = False
    return best


cdef dict _side(object levels, bint bid, long long* best):
    """A snapshot side as {units: size} when every level is plain (else None: the reference
    takes the whole snapshot). Same dict, same order as the reference's comprehension."""
    cdef Py_ssize_t i, n = len(levels)
    cdef dict out = pm_new_dict(n)
    cdef long long units, b = NO_BID if bid else NO_ASK
    cdef object level, price, size
    if n:
        _learn(&_LEVEL, levels[0], _LEVEL_FIELDS)
    for i in range(n):
        level = levels[i]
        try:
            price = _field(&_LEVEL, level, 0, _LEVEL_FIELDS)
            size = _field(&_LEVEL, level, 1, _LEVEL_FIELDS)
        except AttributeError:
            return None
        units = _units(price)
        if units < 0 or _size_kind(size) != 1:
            return None
        PyDict_SetItem(out, <object>PyList_GET_ITEM(_UNITS, units), size)
        if bid:
            if units > b:
                b = units
        elif units < b:
            b = units
    best[0] = b
    return out


cdef class BookState:
    """The hot state of an `OrderBook` and its compiled hot methods (see the module docstring).

    The fields keep book.py's names and meanings; `OrderBook` adds the rest in Python."""

    cdef public dict _bids
    cdef public dict _asks
    cdef public long long _bid_best
    cdef public long long _ask_best
    cdef public bint awaiting_snapshot
    cdef public long long dropped_updates
    cdef public object last_update_ms
    cdef public long long update_count
    # the `ChangeApplier.apply` call that last touched this book, and where that call keeps it
    # (a call made from inside `hold` would only make the outer call check a book twice)
    cdef unsigned long long _mark
    cdef Py_ssize_t _slot

    cdef int _level(self, object side_is_bid, object price, object size, object ts_ms) except -1:
        cdef long long units
        cdef int keep
        cdef object key
        if self.awaiting_snapshot:
            self.dropped_updates += 1
            return 0
        units = _units(price)
        keep = _size_kind(size)
        if units < 0 or keep < 0 or self._bids is None or self._asks is None:
            _Ref.apply_level(self, side_is_bid, price, size, ts_ms)
            return 0
        key = <object>PyList_GET_ITEM(_UNITS, units)
        if side_is_bid:
            if keep:
                PyDict_SetItem(self._bids, key, size)
                if units > self._bid_best:
                    self._bid_best = units
            elif PyDict_Contains(self._bids, key):
                PyDict_DelItem(self._bids, key)
                if units == self._bid_best:
                    self._bid_best = BID_DIRTY
        elif keep:
            PyDict_SetItem(self._asks, key, size)
            if units < self._ask_best:
                self._ask_best = units
        elif PyDict_Contains(self._asks, key):
            PyDict_DelItem(self._asks, key)
            if units == self._ask_best:
                self._ask_best = ASK_DIRTY
        self.last_update_ms = ts_ms
        self.update_count += 1
        return 0

    def apply_level(self, side_is_bid, price, size, ts_ms):
        """Set the level at `price` to the absolute `size` (zero removes it). The hot path."""
        self._level(side_is_bid, price, size, ts_ms)

    def apply_wire_snapshot(self, bids, asks, ts_ms, hash=None, *, tick_size=None):
        """`apply_snapshot` for decoded wire levels (`.price`/`.size` strings)."""
        cdef long long best_bid = NO_BID, best_ask = NO_ASK
        cdef dict new_bids = None, new_asks = None
        if (type(bids) is tuple or type(bids) is list) and (
            type(asks) is tuple or type(asks) is list
        ):
            new_bids = _side(bids, True, &best_bid)
            if new_bids is not None:
                new_asks = _side(asks, False, &best_ask)
        if new_asks is None:
            _Ref.apply_wire_snapshot(self, bids, asks, ts_ms, hash, tick_size=tick_size)
            return
        # what the reference's _install does
        self._bids = new_bids
        self._asks = new_asks
        self._bid_best = best_bid
        self._ask_best = best_ask
        if tick_size is not None:
            setattr(self, "tick_size", tick_size)  # OrderBook's own (Python) fields
        setattr(self, "snapshot_hash", hash)
        self.awaiting_snapshot = False
        self.last_update_ms = ts_ms
        self.update_count += 1

    cdef long long _best_bid(self) except? -2:
        if self._bid_best == BID_DIRTY:
            self._bid_best = _extreme(self._bids, True) if self._bids else NO_BID
        return self._bid_best

    cdef long long _best_ask(self) except? -2:
        if self._ask_best == ASK_DIRTY:
            self._ask_best = _extreme(self._asks, False) if self._asks else NO_ASK
        return self._ask_best

    cdef bint _crossed(self) except -1:
        cdef long long bid = self._best_bid(), ask = self._best_ask()
        return bid != NO_BID and ask != NO_ASK and bid >= ask

    cdef object _top(self, object best_bid, object best_ask):
        cdef bint has_bid = _truthy(best_bid)
        cdef long long theirs, mine
        if has_bid:
            theirs = _price(best_bid)
            mine = self._best_bid()
            if mine != theirs and (mine != NO_BID or theirs != 0):
                return _CROSSED if self._crossed() else _MISMATCH
        if _truthy(best_ask):
            theirs = _price(best_ask)
            mine = self._best_ask()
            if mine != theirs and (mine != NO_ASK or (theirs != 0 and theirs != SCALE)):
                return _CROSSED if self._crossed() else _MISMATCH
        elif not has_bid and self._crossed():
            return _CROSSED
        return None

    def check_wire_top(self, best_bid, best_ask):
        """After a `price_change` message: is our top of book the one the venue sent with it?"""
        return self._top(best_bid, best_ask)


cdef object _int(object text):
    """int(text), without the call for plain ASCII digits (a millisecond timestamp)."""
    cdef Py_ssize_t i, n
    cdef int kind
    cdef void* data
    cdef Py_UCS4 c
    cdef long long value = 0
    if PyUnicode_CheckExact(text):
        n = PyUnicode_GET_LENGTH(text)
        if 0 < n <= 18:
            kind = PyUnicode_KIND(text)
            data = PyUnicode_DATA(text)
            for i in range(n):
                c = PyUnicode_READ(kind, data, i)
                if c < u'0' or c > u'9':
                    return int(text)
                value = value * 10 + (<int>c - 48)
            return value
    return int(text)


cdef class ChangeApplier:
    """`book._PyChangeApplier` (the reference, documented there), in C."""

    cdef dict _books
    cdef dict _held
    cdef object _hold
    cdef object _on_desync
    cdef object _kind
    cdef public object on_update
    cdef public long long deltas

    def __init__(self, dict books not None, dict held not None, hold, on_desync, kind):
        self._books = books
        self._held = held
        self._hold = hold
        self._on_desync = on_desync
        self._kind = kind
        self.on_update = None
        self.deltas = 0

    def apply(self, changes, timestamp, dict synced not None, session):
        global _generation
        cdef unsigned long long mark
        cdef PyObject* found
        cdef BookState book
        # the touched books in first-touch order (strong references), with the last entry
        # applied to each (borrowed: `entries` holds them); past NTOUCH books, in `more`
        cdef PyObject* touched[NTOUCH]
        cdef PyObject* last[NTOUCH]
        cdef list more = None  # book, entry, book, entry, ...
        cdef Py_ssize_t i, n = 0
        cdef object change, aid, value, ts, reason, on_update
        cdef tuple entries = changes if type(changes) is tuple else tuple(changes)
        ts = _int(timestamp)
        _generation += 1
        mark = _generation
        if entries:
            _learn(&_ENTRY, entries[0], _ENTRY_FIELDS)
        try:
            for change in entries:
                aid = _field(&_ENTRY, change, F_ASSET, _ENTRY_FIELDS)
                found = PyDict_GetItemWithError(synced, aid)
                if found is NULL:
                    continue
                value = <object>found
                if value is not session and value != session:
                    continue
                found = PyDict_GetItemWithError(self._books, aid)
                if found is NULL:
                    continue
                book = <BookState?><object>found
                if (
                    PyDict_GET_SIZE(self._held)
                    and aid in self._held
                    and self._hold(aid, ts, change)
                ):
                    continue
                book._level(
                    _field(&_ENTRY, change, F_SIDE, _ENTRY_FIELDS) is _BUY,
                    _field(&_ENTRY, change, F_PRICE, _ENTRY_FIELDS),
                    _field(&_ENTRY, change, F_SIZE, _ENTRY_FIELDS),
                    ts,
                )
                if book._mark == mark:
                    i = book._slot
                    if i < NTOUCH:
                        last[i] = <PyObject*>change
                    else:
                        more[2 * (i - NTOUCH) + 1] = change
                    continue
                book._mark = mark
                book._slot = n
                if n < NTOUCH:
                    Py_INCREF(book)
                    touched[n] = <PyObject*>book
                    last[n] = <PyObject*>change
                else:
                    if more is None:
                        more = []
                    more.append(book)
                    more.append(change)
                n += 1
            if n == 0:
                return
            self.deltas += len(entries)
            on_update = self.on_update
            for i in range(n):
                if i < NTOUCH:
                    book = <BookState>touched[i]
                    change = <object>last[i]
                else:
                    book = <BookState>more[2 * (i - NTOUCH)]
                    change = more[2 * (i - NTOUCH) + 1]
                reason = book._top(
                    _field(&_ENTRY, change, F_BEST_BID, _ENTRY_FIELDS),
                    _field(&_ENTRY, change, F_BEST_ASK, _ENTRY_FIELDS),
                )
                if reason is not None:
                    self._on_desync(_field(&_ENTRY, change, F_ASSET, _ENTRY_FIELDS), reason)
                elif on_update is not None:
                    on_update(_field(&_ENTRY, change, F_ASSET, _ENTRY_FIELDS), self._kind)
        finally:
            for i in range(n if n < NTOUCH else NTOUCH):
                Py_XDECREF(touched[i])
