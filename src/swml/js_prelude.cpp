// The JavaScript run once in every expression heap: polyfills, guards, then freezing.
#include "js_prelude.hpp"

namespace swmld::swml::js {

namespace {

// Runs once per heap, before the base global is frozen. Polyfills (our own, ES5) for the
// ES2015+ methods SWML examples use that Duktape 2.7 lacks; then the `Duktape` object goes
// and everything reachable from the global object is frozen, so an expression cannot change
// what a later one sees (`Math.x = 1`, `String.prototype.trim = ...` silently do nothing).
//
// Guards: Array methods implemented natively loop over `length` without the bytecode
// interrupt, and `new Array(1e9)` is a cheap sparse array, so the wrapped methods refuse
// lengths no dense array could have under the memory cap (maxLen = cap / 8). Native
// substring search is O(n*m): searches whose product exceeds 2^28 are refused as well.
constexpr const char* kPrelude = R"JS(
(function (g, maxLen) {
  'use strict';
  function def(o, name, fn) {
    if (!Object.prototype.hasOwnProperty.call(o, name)) {
      Object.defineProperty(o, name, {value: fn, writable: true, configurable: true});
    }
  }
  def(Array.prototype, 'find', function (f, self) {
    for (var i = 0, n = this.length >>> 0; i < n; i++) {
      if (f.call(self, this[i], i, this)) return this[i];
    }
    return undefined;
  });
  def(Array.prototype, 'findIndex', function (f, self) {
    for (var i = 0, n = this.length >>> 0; i < n; i++) {
      if (f.call(self, this[i], i, this)) return i;
    }
    return -1;
  });
  def(Array.prototype, 'includes', function (x, from) {
    var n = this.length >>> 0, i = from | 0;
    if (i < 0) i = Math.max(n + i, 0);
    for (; i < n; i++) {
      var v = this[i];
      if (v === x || (v !== v && x !== x)) return true;
    }
    return false;
  });
  def(Array, 'from', function (src, f, self) {
    var out = [], n, i;
    if (typeof src === 'string') src = src.split('');
    n = src == null ? 0 : src.length >>> 0;
    for (i = 0; i < n; i++) out.push(f ? f.call(self, src[i], i) : src[i]);
    return out;
  });
  def(Array, 'of', function () { return Array.prototype.slice.call(arguments); });
  def(Object, 'values', function (o) {
    return Object.keys(o).map(function (k) { return o[k]; });
  });
  def(Object, 'entries', function (o) {
    return Object.keys(o).map(function (k) { return [k, o[k]]; });
  });
  function pad(s, len, fill, atStart) {
    s = String(s);
    len = len >>> 0;
    fill = fill === undefined ? ' ' : String(fill);
    if (len <= s.length || fill === '') return s;
    var need = len - s.length;
    var p = fill.repeat(Math.ceil(need / fill.length)).slice(0, need);
    return atStart ? p + s : s + p;
  }
  def(String.prototype, 'padStart', function (len, fill) { return pad(this, len, fill, true); });
  def(String.prototype, 'padEnd', function (len, fill) { return pad(this, len, fill, false); });
  def(String.prototype, 'trimStart', function () { return String(this).replace(/^\s+/, ''); });
  def(String.prototype, 'trimEnd', function () { return String(this).replace(/\s+$/, ''); });
  def(String.prototype, 'replaceAll', function (pat, rep) {
    if (!(pat instanceof RegExp)) {
      pat = new RegExp(String(pat).replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&'), 'g');
    }
    return String(this).replace(pat, rep);
  });
  function wrap(o, name, check) {
    var orig = o[name];
    if (typeof orig !== 'function') return;
    Object.defineProperty(o, name, {
      value: function () {
        check(this, arguments, name);
        return orig.apply(this, arguments);
      },
      writable: true, configurable: true
    });
  }
  function tooLong(x) {
    return x !== null && x !== undefined && (typeof x === 'object' || typeof x === 'function') &&
        (x.length >>> 0) > maxLen;
  }
  function arrayCheck(self, args, name) {
    if (self !== null && self !== undefined && (Object(self).length >>> 0) > maxLen) {
      throw new RangeError('array too long for ' + name);
    }
    if (name === 'concat') {
      for (var i = 0; i < args.length; i++) {
        if (tooLong(args[i])) throw new RangeError('array too long for concat');
      }
    }
  }
  ['concat', 'join', 'toString', 'toLocaleString', 'reverse', 'shift', 'unshift', 'slice',
   'splice', 'sort', 'indexOf', 'lastIndexOf', 'every', 'some', 'forEach', 'map', 'filter',
   'reduce', 'reduceRight'].forEach(function (name) { wrap(Array.prototype, name, arrayCheck); });
  function searchCheck(self, args, name) {
    var p = args[0];
    if (self === null || self === undefined || p === null || p === undefined ||
        p instanceof RegExp) {
      return;
    }
    if (String(self).length * String(p).length > 268435456) {
      throw new RangeError('string search too large for ' + name);
    }
  }
  ['indexOf', 'lastIndexOf', 'includes', 'split', 'replace'].forEach(function (name) {
    wrap(String.prototype, name, searchCheck);
  });
  delete g.Duktape;
  var ownProp = Object.prototype.hasOwnProperty;
  function hasOwn(o, k) { return ownProp.call(o, k); }
  var todo = [g];
  while (todo.length) {
    var o = todo.pop();
    if (o === null || o === undefined || (typeof o !== 'object' && typeof o !== 'function') ||
        Object.isFrozen(o)) {
      continue;
    }
    Object.freeze(o);
    // Built-in methods own only `length` and `name`: nothing further to reach from them.
    if (typeof o === 'function' && !hasOwn(o, 'prototype')) continue;
    todo.push(Object.getPrototypeOf(o));
    var keys = Object.getOwnPropertyNames(o);
    if (Object.getOwnPropertySymbols) keys = keys.concat(Object.getOwnPropertySymbols(o));
    for (var i = 0; i < keys.length; i++) {
      var d = Object.getOwnPropertyDescriptor(o, keys[i]);
      if (d) todo.push(d.value, d.get, d.set);
    }
  }
})
)JS";

}  // namespace

const char* prelude_source() { return kPrelude; }

}  // namespace swmld::swml::js
