; cseek chunk query for Elixir.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
; Everything is a call: definitions are calls of `def`, `defmodule` ... `@doc`/`@spec`
; attributes directly above a definition are added by the chunker, and consecutive
; clauses of one function are merged into one chunk.

(call
  target: (identifier) @_kw
  (arguments [(alias) @name (dot) @name])
  (#eq? @_kw "defmodule")) @definition.module

(call
  target: (identifier) @_kw
  (arguments [(alias) @name (dot) @name])
  (#eq? @_kw "defprotocol")) @definition.trait

(call
  target: (identifier) @_kw
  (arguments [(alias) @name (dot) @name])
  (#eq? @_kw "defimpl")) @definition.impl

(call
  target: (identifier) @_kw
  (arguments . [
    (call target: (identifier) @name)
    (identifier) @name
    (binary_operator left: (call target: (identifier) @name))
  ])
  (#any-of? @_kw "def" "defp" "defdelegate" "defguard" "defguardp")) @definition.function

(call
  target: (identifier) @_kw
  (arguments . [
    (call target: (identifier) @name)
    (identifier) @name
    (binary_operator left: (call target: (identifier) @name))
  ])
  (#any-of? @_kw "defmacro" "defmacrop")) @definition.macro
