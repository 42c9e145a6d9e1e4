; cseek chunk query for Elixir.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
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
